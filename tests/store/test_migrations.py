from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

import engine.store.models  # noqa: F401
from engine.store.db import connect
from engine.store.migrate import current_revision, head_revision, upgrade


def test_migrations_reach_head_and_match_the_models(db_engine: Engine) -> None:
    assert current_revision(db_engine) == head_revision()
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == [], (
        "models changed without a migration: run alembic revision --autogenerate"
    )


def test_upgrade_is_idempotent(db_engine: Engine) -> None:
    upgrade(db_engine)
    upgrade(db_engine)
    assert current_revision(db_engine) == head_revision()


def test_a_fresh_sqlite_file_gets_every_table_and_its_pragmas(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'sub' / 'fresh.db'}")
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {
        "user_account",
        "item",
        "card_state",
        "review",
        "attempt",
        "goal",
        "learner_parameters",
    } <= tables
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    engine.dispose()
