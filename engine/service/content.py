"""Loading question banks into the database."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from engine.content import Bank
from engine.errors import ContentError
from engine.service.base import (
    CONTENT_REVISION,
    ServiceBase,
)
from engine.store.db import transaction
from engine.store.models import (
    Area,
    Deck,
    Item,
    Setting,
    Test,
)


@dataclass(frozen=True)
class LoadReport:
    added: int
    updated: int
    unchanged: int
    retired: int
    revision: str


class ContentUseCases(ServiceBase):
    def load_content(self, bank: Bank, *, now: datetime) -> LoadReport:
        """Load a validated bank: all or nothing.

        Items are matched by id: changed ones (by content hash) are updated, new ones added,
        bank items no longer present are retired. Reviews and card states are never touched.

        Raises:
            ContentError: if the bank has problems (nothing is loaded).
        """
        if bank.problems:
            raise ContentError(list(bank.problems))
        with transaction(self.engine, write=True) as session:
            for position, test in enumerate(bank.blueprint.values()):
                session.merge(
                    Test(
                        code=test.code,
                        name=test.name,
                        scored_questions=test.scored_questions,
                        time_minutes=test.time_minutes,
                        edition=test.edition,
                        source=test.source,
                        position=position,
                    )
                )
                for area_position, area in enumerate(test.areas):
                    session.merge(
                        Area(
                            code=area.code,
                            test_code=test.code,
                            name=area.name,
                            scored_questions=area.scored_questions,
                            position=area_position,
                        )
                    )
            session.flush()
            existing = {
                row.id: row
                for row in session.scalars(select(Item).where(col(Item.origin) == "bank"))
            }
            added = updated = unchanged = 0
            for bank_item in bank.items:
                digest = bank_item.content_hash
                row = existing.pop(bank_item.id, None)
                if row is not None and row.content_hash == digest and not row.retired:
                    unchanged += 1
                    continue
                if row is None:
                    row = Item(
                        id=bank_item.id,
                        test_code=bank_item.test_code,
                        area_code=bank_item.area_code,
                        kind=bank_item.kind.value,
                        body={},
                        content_hash="",
                        updated_at=now,
                    )
                    added += 1
                else:
                    updated += 1
                row.test_code = bank_item.test_code
                row.area_code = bank_item.area_code
                row.kind = bank_item.kind.value
                row.format = bank_item.format
                row.scenario = bank_item.scenario
                row.difficulty = bank_item.difficulty
                row.body = dict(bank_item.body)
                row.content_hash = digest
                row.retired = False
                row.source = bank_item.source[:300]
                row.updated_at = now
                session.add(row)
            retired = 0
            for row in existing.values():
                if not row.retired:
                    row.retired = True
                    row.updated_at = now
                    session.add(row)
                    retired += 1
            revision = _revision(session, bank)
            session.merge(Setting(key=CONTENT_REVISION, value=revision))
            self._ensure_builtin_decks(session, bank, now)
        return LoadReport(added, updated, unchanged, retired, revision)

    def _ensure_builtin_decks(self, session: Session, bank: Bank, now: datetime) -> None:
        """One deck per test and one per content area, kept in step with the blueprint."""
        existing = {
            deck.key: deck
            for deck in session.scalars(select(Deck).where(col(Deck.key).is_not(None)))
        }
        for test in bank.blueprint.values():
            wanted = [
                (
                    f"test:{test.code}",
                    f"{test.code} {test.name} (whole test)",
                    {"tests": [test.code]},
                )
            ]
            wanted += [
                (f"area:{area.code}", f"{area.code} {area.name}", {"areas": [area.code]})
                for area in test.areas
            ]
            for key, name, selection in wanted:
                deck = existing.get(key) or Deck(
                    key=key, selection=selection, name=name, created_at=now
                )
                deck.name = name[:200]
                deck.selection = selection
                session.add(deck)


def _revision(session: Session, bank: Bank) -> str:
    """The content revision after loading ``bank``: unchanged when the bank (blueprint and
    items) is what the current revision was made from, otherwise new and never used before.

    Every process caches the catalog and item bodies under the revision it last read, so a
    revision must never come back: "load bank, add a deck (a new revision), reload the same
    bank" would otherwise return to the first revision, and a process that missed the deck's
    would keep a catalog without it. The blueprint counts too (an area renamed)."""
    items = sorted(f"{item.id}:{item.content_hash}" for item in bank.items)
    blueprint = repr(tuple(bank.blueprint.values()))
    digest = hashlib.sha256("\n".join([blueprint, *items]).encode()).hexdigest()[:16]
    current = session.get(Setting, CONTENT_REVISION)
    if current is not None and current.value.startswith(digest + "-"):
        return current.value
    return f"{digest}-{secrets.token_hex(4)}"
