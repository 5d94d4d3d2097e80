"""Shared fixtures.

Storage and service tests take the ``database_url`` fixture, which runs them on SQLite and,
when a server is reachable, on PostgreSQL too: ``PITSTOP_TEST_POSTGRES_URL`` if set, else a
server on 127.0.0.1:5432 (trust auth). CI (``.ci/run``) always sets the variable, so there a
missing server fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from engine.config import PROJECT_ROOT
from engine.content import Bank, check_path, read_blueprint
from engine.service import StudyService
from engine.store.db import connect, normalise_url
from engine.store.migrate import upgrade

CONTENT_ROOT = PROJECT_ROOT / "content"
FIXTURE_BANK = Path(__file__).parent / "fixtures" / "bank"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _postgres_admin_url() -> str | None:
    configured = os.environ.get("PITSTOP_TEST_POSTGRES_URL")
    if configured:
        return configured
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return "postgresql://postgres@127.0.0.1:5432/postgres"
    except OSError:
        return None


POSTGRES_ADMIN_URL = _postgres_admin_url()
DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_ADMIN_URL else [])


@pytest.fixture(scope="session")
def blueprint():  # type: ignore[no-untyped-def]
    found, problems = read_blueprint(CONTENT_ROOT / "blueprints")
    assert not problems
    return found


@pytest.fixture(scope="session")
def fixture_bank() -> Bank:
    bank = check_path(FIXTURE_BANK, CONTENT_ROOT)
    assert bank.ok, bank.problems
    return bank


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = connect(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    assert POSTGRES_ADMIN_URL is not None
    admin = create_engine(normalise_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"pitstop_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = connect(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": name},
        )
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(params=DATABASES)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """An empty, migrated database: SQLite, then PostgreSQL when available."""
    if request.param == "sqlite":
        path = tmp_path / "pitstop.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    engine = connect(url)
    with engine.begin() as connection:
        tables = connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{table}"' for table in tables)
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = connect(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def study(db_engine: Engine, fixture_bank: Bank) -> StudyService:
    """A service over a database holding the fixture bank."""
    service = StudyService(db_engine)
    service.load_content(fixture_bank, now=NOW)
    return service
