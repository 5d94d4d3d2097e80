"""A database made by the previous schema revision upgrades with everything intact."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine, text

from engine.service import StudyService
from engine.store.db import connect
from engine.store.migrate import current_revision, head_revision, upgrade
from tests.conftest import CONTENT_ROOT, FIXTURE_BANK
from tests.fixtures.make_upgrade_fixture import TARGET as OLD_DATABASE
from tests.fixtures.make_upgrade_fixture import populate
from webui.cli import cli


def _check_intact(engine: Engine) -> None:
    with engine.connect() as connection:
        emails = (
            connection.execute(text("SELECT email FROM user_account ORDER BY id")).scalars().all()
        )
        tokens = (
            connection.execute(text("SELECT attempt_token FROM review ORDER BY id")).scalars().all()
        )
        card = connection.execute(
            text("SELECT stability, reps, version FROM card_state WHERE user_id = 1")
        ).one()
        goal = connection.execute(text("SELECT exam_date FROM goal WHERE user_id = 1")).scalar()
        prior = connection.execute(text("SELECT attempts, known FROM area_prior")).one()
    assert emails == ["old.student@example.com", "old.teacher@example.com"]
    assert tokens == ["old-token-1", "old-token-2", "old-token-3"]
    assert tuple(card) == (9.5, 3, 3)
    assert str(goal) == "2026-06-01"
    assert tuple(prior) == (2.0, 1.0)
    study = StudyService(engine)
    card_state = study.card_state(1, "A6-B-F01")
    assert card_state is not None and card_state.last_review == datetime(
        2026, 1, 10, 10, tzinfo=UTC
    )
    assert study.user(1).daily_goal_minutes == 25


def test_pitstop_init_upgrades_the_committed_old_database(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    shutil.copy(OLD_DATABASE, database)
    content = tmp_path / "content"
    shutil.copytree(CONTENT_ROOT / "blueprints", content / "blueprints")
    shutil.copytree(FIXTURE_BANK, content / "ase")
    engine = connect(f"sqlite:///{database}")
    assert current_revision(engine) == "0002"
    env = {
        "PITSTOP_DATABASE_URL": f"sqlite:///{database}",
        "PITSTOP_CONTENT_DIR": str(content),
        "PITSTOP_INSTANCE_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(cli, ["init"], env=env)
    assert result.exit_code == 0, result.output
    assert current_revision(engine) == head_revision()
    _check_intact(engine)
    with engine.connect() as connection:
        defaults = connection.execute(
            text("SELECT stability_scale, decay FROM learner_parameters WHERE user_id = 1")
        ).one()
        first_flags = connection.execute(text("SELECT first_attempt FROM review")).scalars().all()
    assert tuple(defaults) == (1.0, 0.1542)
    assert set(first_flags) == {False}
    engine.dispose()


def test_the_previous_revision_upgrades_on_each_database(database_url: str) -> None:
    """The same rows, written at revision 0002 on a fresh database, survive the upgrade."""
    engine = connect(database_url)
    with engine.begin() as connection:  # the fixture database is at head: start again from empty
        tables = (
            connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type='table'"
                if engine.dialect.name == "sqlite"
                else "SELECT tablename FROM pg_tables WHERE schemaname='public'"
            )
            .scalars()
            .all()
        )
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for table in tables:
            connection.exec_driver_sql(
                f'DROP TABLE IF EXISTS "{table}" CASCADE'
                if engine.dialect.name != "sqlite"
                else f'DROP TABLE IF EXISTS "{table}"'
            )
    upgrade(engine, "0002")
    with engine.begin() as connection:
        populate(connection)
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT setval('user_account_id_seq', 2)")
            connection.exec_driver_sql("SELECT setval('review_id_seq', 3)")
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    _check_intact(engine)
    engine.dispose()
