"""Database engines and transactions.

SQLite runs in WAL mode with foreign keys on, a busy timeout, and ``synchronous=NORMAL``: in
WAL mode a committed transaction survives the application being killed (it is in the OS's
hands once the commit returns); only a power cut can lose the last transactions. Set
``PITSTOP_SQLITE_SYNCHRONOUS=FULL`` to fsync every commit. Write transactions start with
``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of deadlocking on a lock
upgrade. PostgreSQL (``postgresql://…``) goes through psycopg 3.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

__all__ = [
    "WriteInReadTransactionError",
    "autocommit",
    "autocommit_connection",
    "connect",
    "is_sqlite",
    "normalise_url",
    "transaction",
    "unhurried_insert",
]

SQLITE_BUSY_TIMEOUT_MS = 10_000
_WRITE = "pitstop_write"
_SINGLE = "pitstop_single_statement"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs (SQLAlchemy's default driver is psycopg2)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def connect(url: str, *, pool_size: int = 5) -> Engine:
    """An engine for ``url`` with Pitstop's connection settings.

    For a file SQLite URL the parent folder is created.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            poolclass=NullPool if database in ("", ":memory:") else None,
        )
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, pool_size=pool_size, max_overflow=10)
        _ping_when_idle(engine)
    _guard_reads(engine)
    return engine


# A pooled PostgreSQL connection unused for this long is pinged before it is handed out.
IDLE_PING_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection with a ping only when it has sat unused for
    :data:`IDLE_PING_SECONDS` (a server restart, a proxy's idle timeout): SQLAlchemy's
    ``pool_pre_ping`` pings on every checkout, five round trips per answer under load. A dead
    connection is replaced (the pool retries on DisconnectionError); one that dies while in
    busy use fails its request with a 503, and the pool drops every connection it held."""

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError(f"idle connection failed its ping: {error}") from error


_CHECKED_IN = "pitstop_checked_in"


def _configure_sqlite(engine: Engine) -> None:
    synchronous = os.environ.get("PITSTOP_SQLITE_SYNCHRONOUS", "NORMAL").upper()
    if synchronous not in ("NORMAL", "FULL", "EXTRA"):
        raise ValueError(
            f"PITSTOP_SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA, got {synchronous}"
        )

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event below issue BEGIN itself (pysqlite's own handling
        # delays BEGIN and cannot start an IMMEDIATE transaction).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get(_SINGLE):
            return  # one statement, its own transaction (see autocommit)
        # Straight to the driver: BEGIN is no statement to log, guard or count, and the full
        # execution path cost more than the BEGIN itself, twice per answer.
        connection.connection.dbapi_connection.execute(
            "BEGIN IMMEDIATE" if options.get(_WRITE) else "BEGIN"
        )


_READ_ONLY = "pitstop_read_only"
_READ_STATEMENTS = ("SELECT", "WITH", "BEGIN")


class WriteInReadTransactionError(RuntimeError):
    """A statement that writes was sent inside ``transaction(engine)`` without ``write=True``."""


def _guard_reads(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def refuse_writes(
        connection: Any, _cursor: Any, statement: str, _parameters: Any, context: Any, *_: Any
    ) -> None:
        verb = statement.lstrip()[:6].upper()
        # The connection's options with the call's over them (see unhurried_insert).
        options = (
            connection.get_execution_options() if context is None else context.execution_options
        )
        if options.get(_READ_ONLY) and not verb.startswith(_READ_STATEMENTS):
            raise WriteInReadTransactionError(
                f"a read transaction may not write; use transaction(engine, write=True): "
                f"{statement[:60]}"
            )


def _options(engine: Engine, write: bool) -> dict[str, Any]:
    options: dict[str, Any] = {_WRITE: write, _READ_ONLY: not write}
    if not write and engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return options


@contextmanager
def autocommit(engine: Engine, *, write: bool = False) -> Iterator[Connection]:
    """A bare connection on which each statement is its own transaction, for single
    statements on hot paths (the signed-in user's lookup on most pages): no ORM
    session, no BEGIN and COMMIT around the statement. Without ``write`` a statement that
    writes raises :class:`WriteInReadTransactionError`, as in :func:`transaction`. Several
    statements that must agree belong in a transaction."""
    options = {**_options(engine, write), _SINGLE: True, "isolation_level": "AUTOCOMMIT"}
    if is_sqlite(engine):
        # The driver is in its autocommit mode already (on_connect); switching SQLAlchemy's
        # isolation level would reset it when the connection goes back to the pool.
        del options["isolation_level"]
    with engine.connect() as connection:
        connection.execution_options(**options)
        yield connection


def unhurried_insert(bind: Engine | Connection, table: Table, row: Mapping[str, Any]) -> None:
    """Insert ``row`` into ``table`` as a write whose loss in a crash of the *database server*
    costs nothing (recording a served item: its learner would be asked to load the question
    again), committed without waiting for the disk.

    On PostgreSQL, one statement in autocommit whose transaction has ``synchronous_commit``
    off: the INSERT selects its values from ``set_config('synchronous_commit', 'off', true)``,
    a setting local to that statement's own transaction. Its commit returns before the WAL is
    flushed (0.1 ms instead of a 3.5 ms fdatasync on this machine's disk) in one round trip,
    where BEGIN, SET LOCAL, INSERT and COMMIT took four; every other commit, answers included,
    still waits for the disk. On SQLite, a plain INSERT in autocommit (WAL commits with
    ``synchronous=NORMAL`` do not wait for the disk anyway).

    ``bind``: an engine, or a read transaction's connection that runs in autocommit (see
    :func:`autocommit_connection`), which saves a checkout from the pool.
    """
    statement = _unhurried_insert_statement(table, tuple(row), bind.dialect.name)
    if isinstance(bind, Engine):
        with autocommit(bind, write=True) as connection:
            connection.execute(statement, dict(row))
        return
    options = bind.get_execution_options()
    if options.get("isolation_level") != "AUTOCOMMIT" and not options.get(_SINGLE):
        raise ValueError("unhurried_insert needs a connection in autocommit")
    # On a read transaction's connection this one write is allowed: it commits on its own.
    bind.execute(statement, dict(row), execution_options={_READ_ONLY: False})


@functools.cache
def _unhurried_insert_statement(table: Table, columns: tuple[str, ...], dialect: str) -> Insert:
    if dialect != "postgresql":
        return insert(table)
    no_wait = select(func.set_config("synchronous_commit", "off", True)).subquery("no_wait")
    values = select(*(bindparam(name, type_=table.c[name].type) for name in columns))
    return insert(table).from_select(list(columns), values.select_from(no_wait))


def autocommit_connection(session: Session) -> Connection | None:
    """The connection of a read :func:`transaction` when it runs in autocommit (PostgreSQL),
    on which a statement that writes commits on its own at once; None on SQLite, where the
    read is one transaction (and a write in it would take the write lock)."""
    connection = session.connection()
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return connection
    return None


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """One unit of work: a session whose transaction commits on success and rolls back on
    any exception. ``write=True`` takes SQLite's write lock up front.

    Without ``write`` the transaction only reads (a statement that writes raises
    :class:`WriteInReadTransactionError`). On PostgreSQL it then runs in autocommit: at READ
    COMMITTED every statement takes its own snapshot either way, and BEGIN and COMMIT would be
    two round trips of nothing. On SQLite it stays one transaction, one snapshot."""
    with Session(engine, expire_on_commit=False) as session:
        session.connection(execution_options=_options(engine, write))
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
