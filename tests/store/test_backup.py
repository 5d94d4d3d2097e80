"""Backup and restore round trips, on SQLite and PostgreSQL, through the CLI."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlmodel import Session

from engine.answering import Answer
from engine.scheduling import ItemKind, Rating
from engine.service import StudyService
from engine.store.models import CardState, Review, User
from tests.conftest import NOW
from webui.cli import cli


def _fingerprint(study: StudyService) -> str:
    """A hash of every review and card state: equal fingerprints, equal learning data."""
    with Session(study.engine) as session:
        reviews = [
            (r.user_id, r.item_id, r.answered_at.isoformat(), r.rating, r.attempt_token)
            for r in session.scalars(select(Review).order_by(Review.attempt_token))
        ]
        cards = [
            (c.user_id, c.item_id, c.state, c.stability, c.due.isoformat(), c.version)
            for c in session.scalars(
                select(CardState).order_by(CardState.user_id, CardState.item_id)
            )
        ]
        users = [u.email for u in session.scalars(select(User).order_by(User.email))]
    return hashlib.sha256(repr((reviews, cards, users)).encode()).hexdigest()


def _answer_some(study: StudyService, user: int, count: int, start=NOW) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(count)
    moment = start
    for _ in range(count):
        served = study.next_item(user, now=moment, rng=rng)
        assert served is not None
        answer = (
            Answer(choice="B") if served.kind is ItemKind.MCQ else Answer(self_rating=Rating.Good)
        )
        study.answer(user, served.token, answer, now=moment)
        moment += timedelta(seconds=30)


def test_backup_and_restore_round_trip(
    study: StudyService, database_url: str, tmp_path: Path
) -> None:
    user = study.create_user(
        email="kim@example.com", display_name="Kim", password_hash="x", now=NOW
    )
    study.set_goals(user.id, {"A6": None}, now=NOW)
    _answer_some(study, user.id, 12)
    saved = _fingerprint(study)
    env = {"PITSTOP_DATABASE_URL": database_url, "PITSTOP_INSTANCE_DIR": str(tmp_path)}
    runner = CliRunner()
    target = tmp_path / "backups" / "pitstop.backup"
    made = runner.invoke(cli, ["backup", str(target)], env=env)
    assert made.exit_code == 0, made.output
    assert "backup written" in made.output and target.stat().st_size > 0
    again = runner.invoke(cli, ["backup", str(target)], env=env)
    assert again.exit_code == 1 and "already exists" in again.output

    # Life goes on after the backup: more answers, another learner.
    _answer_some(study, user.id, 5, start=NOW + timedelta(days=1))
    study.create_user(email="late@example.com", display_name="Late", password_hash="x", now=NOW)
    assert _fingerprint(study) != saved
    study.engine.dispose()

    refused = runner.invoke(cli, ["restore", str(target)], env=env, input="n\n")
    assert refused.exit_code == 1
    restored = runner.invoke(cli, ["restore", "--yes", str(target)], env=env)
    assert restored.exit_code == 0, restored.output
    assert _fingerprint(study) == saved
    # The restored database is fully usable.
    _answer_some(study, user.id, 2, start=NOW + timedelta(days=2))


def test_restore_refuses_files_that_are_not_backups(
    study: StudyService, database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("pg_restore reports its own error for a bad archive; checked below")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    env = {"PITSTOP_DATABASE_URL": database_url, "PITSTOP_INSTANCE_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["restore", "--yes", str(junk)], env=env)
    assert result.exit_code == 1 and "not an SQLite database" in result.output


def test_pg_restore_of_a_bad_archive_fails_cleanly(
    study: StudyService, database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"PGDMP garbage")
    before = _fingerprint(study)
    env = {"PITSTOP_DATABASE_URL": database_url, "PITSTOP_INSTANCE_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["restore", "--yes", str(junk)], env=env)
    assert result.exit_code == 1 and "pg_restore failed" in result.output
    assert _fingerprint(study) == before
