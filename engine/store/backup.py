"""Backups of the whole database, and restores from them.

SQLite: the online backup API copies a consistent snapshot while the app keeps serving
(readers and writers are not stopped); the copy is checked with ``PRAGMA integrity_check``.
PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --single-transaction`` (the
PostgreSQL client tools must be installed); for large schools a server-side setup (WAL
archiving, point-in-time recovery) is better, see the README.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url

__all__ = ["BackupError", "backup", "restore"]


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why."""


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _libpq_url(engine: Engine) -> str:
    """The database URL as the PostgreSQL command-line tools read it."""
    url = make_url(engine.url.render_as_string(hide_password=False)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _run(tool: str, *arguments: str) -> None:
    """Run a PostgreSQL client tool; its error output becomes the BackupError's message."""
    found = shutil.which(tool)
    if found is None:
        raise BackupError(f"{tool} is not installed (Debian: apt-get install postgresql-client)")
    completed = subprocess.run([found, *arguments], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise BackupError(f"{tool} failed: {completed.stderr.strip()}")


def backup(engine: Engine, target: Path) -> int:
    """Write a backup of the database to ``target``; returns its size in bytes.

    Raises:
        BackupError: the target exists, a tool is missing, or the copy fails its check.
    """
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(_sqlite_path(engine))
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
            result = copy.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            copy.close()
            source.close()
        if result != "ok":
            target.unlink()
            raise BackupError(f"the backup failed its integrity check: {result}")
    elif engine.dialect.name == "postgresql":
        try:
            _run(
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--file",
                str(target),
                _libpq_url(engine),
            )
        except BackupError:
            target.unlink(missing_ok=True)
            raise
    else:
        raise BackupError(f"backups of {engine.dialect.name} databases are not supported")
    return target.stat().st_size


def restore(engine: Engine, source: Path) -> None:
    """Replace the database's contents with a backup made by :func:`backup`.

    Stop the app servers first: a restore replaces every table.

    Raises:
        BackupError: the file is missing, not a Pitstop backup, or the restore fails.
    """
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    if engine.dialect.name == "sqlite":
        try:
            backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            check = backup_db.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {
                row[0]
                for row in backup_db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{source} is not an SQLite database: {error}") from None
        if check != "ok" or "alembic_version" not in tables or "review" not in tables:
            backup_db.close()
            raise BackupError(f"{source} is not a Pitstop backup (or it is damaged)")
        engine.dispose()
        live = sqlite3.connect(_sqlite_path(engine))
        try:
            backup_db.backup(live)
        finally:
            live.close()
            backup_db.close()
    elif engine.dialect.name == "postgresql":
        _run(
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            _libpq_url(engine),
            str(source),
        )
        engine.dispose()
    else:
        raise BackupError(f"restores into {engine.dialect.name} databases are not supported")
    if "alembic_version" not in inspect(engine).get_table_names():
        raise BackupError("the restored database has no schema version")
