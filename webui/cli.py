"""The ``pitstop`` command: set up, load content, manage users, serve.

Every command reads its settings from ``PITSTOP_*`` environment variables (see README).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from engine import content as bank_content
from engine.config import Settings
from engine.errors import PitstopError
from engine.service import ROLES, StudyService
from engine.store.backup import BackupError, backup, restore
from engine.store.db import connect
from engine.store.migrate import upgrade
from webui.security import hash_password

DEMO_ACCOUNTS = (
    # (email, display name, role, password): local demo only; `pitstop demo` refuses in production.
    ("student@pitstop.local", "Demo Student", "student", "study-hard-2026"),
    ("instructor@pitstop.local", "Demo Instructor", "instructor", "teach-well-2026"),
)


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _service(settings: Settings) -> Iterator[StudyService]:
    """The service over the configured database; its connections close on exit."""
    engine = connect(settings.database_url)
    try:
        yield StudyService(engine, cut_score=settings.cut_score)
    finally:
        engine.dispose()


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Pitstop: adaptive study for ASE certification tests."""


@cli.command()
def init() -> None:
    """Migrate the database to the newest schema and load the content bank.

    Safe to run again: migrations already applied are skipped, unchanged items are left
    alone, and no review or card state is ever deleted.
    """
    settings = Settings.from_env()
    engine = connect(settings.database_url)
    try:
        upgrade(engine)
        click.echo(f"database ready: {engine.url.render_as_string(hide_password=True)}")
    finally:
        engine.dispose()
    _load(settings, settings.content_dir / "ase")


@cli.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="Address to listen on.")
@click.option("--workers", default=3, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker. 1 (sync workers, behind a buffering proxy) served the most "
    "answers per second in bench/http_load.py.",
)
@click.option(
    "--access-log/--no-access-log",
    default=False,
    envvar="PITSTOP_ACCESS_LOG",
    show_default=True,
    help="Log every request on stdout. Off by default: the reverse proxy in front logs "
    "requests, and gunicorn's log line cost about 4% of an answer's CPU.",
)
def serve(bind: str, workers: int, threads: int, access_log: bool) -> None:
    """Serve the app with gunicorn (the production server)."""
    Settings.from_env()  # fail early on bad settings
    arguments = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind", bind,
        "--workers", str(workers),
        "--threads", str(threads),
        *(["--access-logfile", "-"] if access_log else []),
        "webui.wsgi:app",
    ]  # fmt: skip
    click.echo(f"serving on http://{bind}")
    os.execvp(arguments[0], arguments)


@cli.group()
def content() -> None:
    """Check, summarise and load question banks."""


@content.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print problems as JSON.")
def content_check(path: Path | None, as_json: bool) -> None:
    """Validate a bank folder or file (default: the whole bank).

    Prints every problem with file, line, item id and field, and exits 1 if there are any.
    Never touches the database.
    """
    settings = Settings.from_env()
    bank = bank_content.check_path(path or settings.content_dir / "ase", settings.content_dir)
    if as_json:
        click.echo(json.dumps([problem.to_dict() for problem in bank.problems], indent=2))
    else:
        for problem in bank.problems:
            click.echo(str(problem))
        click.echo(f"{len(bank.items)} valid items, {len(bank.problems)} problem(s)")
    sys.exit(1 if bank.problems else 0)


@content.command("stats")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def content_stats(path: Path | None, as_json: bool) -> None:
    """Items per test, area, kind and format against the blueprint, key balance and the
    share of items whose key is the longest choice."""
    settings = Settings.from_env()
    bank = bank_content.check_path(path or settings.content_dir / "ase", settings.content_dir)
    stats = bank_content.bank_stats(bank)
    click.echo(json.dumps(stats, indent=2) if as_json else bank_content.format_stats(stats))


@content.command("load")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
def content_load(path: Path | None) -> None:
    """Load the bank into the database in one transaction: all or nothing."""
    settings = Settings.from_env()
    _load(settings, path or settings.content_dir / "ase")


def _load(settings: Settings, path: Path) -> None:
    bank = bank_content.check_path(path, settings.content_dir)
    if bank.problems:
        for problem in bank.problems:
            click.echo(str(problem), err=True)
        _fail(f"{len(bank.problems)} content problem(s); nothing was loaded")
    with _service(settings) as study:
        report = study.load_content(bank, now=_now())
    click.echo(
        f"content loaded: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.retired} retired (revision {report.revision})"
    )


@cli.group()
def user() -> None:
    """Manage accounts."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", type=click.Choice(ROLES), default="student", show_default=True)
@click.option("--timezone", default="UTC", show_default=True)
@click.password_option(help="Prompted for when not given.")
def user_create(email: str, display_name: str, role: str, timezone: str, password: str) -> None:
    """Create an account."""
    settings = Settings.from_env()
    try:
        with _service(settings) as study:
            created = study.create_user(
                email=email,
                display_name=display_name,
                password_hash=hash_password(password),
                role=role,
                timezone=timezone,
                now=_now(),
            )
    except (PitstopError, ValueError) as error:
        _fail(str(error))
        return
    click.echo(f"created {created.role} {created.email} (id {created.id})")


@cli.command()
def demo() -> None:
    """Create the demo accounts (a student and an instructor) and print their credentials.

    Existing demo accounts are kept as they are. Refused in production.
    """
    settings = Settings.from_env()
    if settings.production:
        _fail("demo accounts are for local use; refusing with PITSTOP_ENV=production")
    with _service(settings) as study:
        goals = {code: None for code in ("A6", "A8") if code in study.catalog().blueprint}
        click.echo("demo accounts (local use only):")
        for email, name, role, password in DEMO_ACCOUNTS:
            if study.find_user(email) is None:
                created = study.create_user(
                    email=email,
                    display_name=name,
                    password_hash=hash_password(password),
                    role=role,
                    now=_now(),
                )
                if role == "student" and goals:
                    study.set_goals(created.id, goals, now=_now())
            click.echo(f"  {role:<10} {email:<26} password: {password}")


@cli.command()
@click.option("--user", "email", help="Fit only this learner (by email).")
def optimize(email: str | None) -> None:
    """Fit FSRS parameters for each learner with enough long-term reviews (400 or more).

    A fit is adopted only if, trained on the earlier three quarters of the learner's reviews,
    it predicts the latest quarter with lower log loss than the current parameters.
    """
    settings = Settings.from_env()
    with _service(settings) as study:
        try:
            reports = study.optimize_learners(user_email=email, now=_now())
        except PitstopError as error:
            _fail(str(error))
            return
    for report in reports:
        verdict = "adopted" if report.accepted else "kept current"
        line = (
            f"{report.email}: {report.reviews} reviews "
            f"({report.long_term_reviews} long-term), {verdict}"
        )
        current, fitted_metrics = report.current, report.fitted
        if current is not None and fitted_metrics is not None:
            line += (
                f"; hold-out log loss {current.log_loss:.4f} -> {fitted_metrics.log_loss:.4f}, "
                f"RMSE(bins) {current.rmse_bins:.4f} -> {fitted_metrics.rmse_bins:.4f}, "
                f"AUC {current.auc:.3f} -> {fitted_metrics.auc:.3f}"
            )
        click.echo(f"{line} ({report.reason})")
    fitted = sum(report.fitted is not None for report in reports)
    adopted = sum(report.accepted for report in reports)
    click.echo(f"{len(reports)} learners, {fitted} fitted, {adopted} adopted")


@cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Back up the whole database to PATH (a new file).

    SQLite: an online, consistent copy (the app may keep running). PostgreSQL: pg_dump's
    custom format (needs the PostgreSQL client tools).
    """
    settings = Settings.from_env()
    engine = connect(settings.database_url)
    try:
        size = backup(engine, path)
    except BackupError as error:
        _fail(str(error))
    finally:
        engine.dispose()
    click.echo(f"backup written: {path} ({size:,} bytes)")


@cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(path: Path, yes: bool) -> None:
    """Replace the database with the backup in PATH, then migrate it to the newest schema.

    Stop the app servers first: every table is replaced.
    """
    settings = Settings.from_env()
    engine = connect(settings.database_url)
    shown = engine.url.render_as_string(hide_password=True)
    if not yes:
        click.confirm(f"Replace everything in {shown} with {path}?", abort=True)
    try:
        restore(engine, path)
        upgrade(engine)
    except BackupError as error:
        _fail(str(error))
    finally:
        engine.dispose()
    click.echo(f"restored {shown} from {path}")


def main() -> None:
    cli(prog_name="pitstop")
