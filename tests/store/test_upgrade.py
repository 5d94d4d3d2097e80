"""A database made by the previous schema revision upgrades with everything intact."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import Engine, text

from engine.scheduling import DEFAULT_PARAMETERS, StabilityCalibration
from engine.service import StudyService
from engine.service.base import curve_columns
from engine.store.db import connect
from engine.store.migrate import alembic_config, current_revision, head_revision, upgrade
from engine.store.models import LearnerParameters
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
        curves = (
            connection.execute(text("SELECT * FROM learner_parameters WHERE user_id = 1"))
            .one()
            ._mapping
        )
        first_flags = connection.execute(text("SELECT first_attempt FROM review")).scalars().all()
    # The old row's calibration is an old format, read as a fresh start: its curves are a
    # fresh learner's, filled in by the migration.
    expected = curve_columns(None)
    assert len(expected) == 10  # four groups' scale and decay, easy and hard item scales
    assert {name: curves[name] for name in expected} == expected
    assert expected["decay_settled"] != expected["decay_failed_once"]
    assert set(first_flags) == {False}
    engine.dispose()


def _empty(engine: Engine) -> None:
    """Drop every table: the test database is at head and these tests start from older
    revisions."""
    with engine.begin() as connection:
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


def test_the_previous_revision_upgrades_on_each_database(database_url: str) -> None:
    """The same rows, written at revision 0002 on a fresh database, survive the upgrade."""
    engine = connect(database_url)
    _empty(engine)
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


def _observed(miss_every: int) -> StabilityCalibration:
    """A calibration with evidence in every memory group: 29 reviews, one in ``miss_every``
    missed."""
    calibration = StabilityCalibration()
    for day in range(1, 30):
        calibration = calibration.observe(
            elapsed_days=day / 3,
            stability=2.0,
            guess_rate=0.25,
            correct=day % miss_every != 0,
            group=day % 4,
        )
    return calibration


def test_revision_0004_fills_in_each_learners_curves_and_downgrades(database_url: str) -> None:
    """Rows written before the curve columns get the curves the engine computes from their
    calibration and fitted parameters; downgrading keeps the settled curve."""
    engine = connect(database_url)
    _empty(engine)
    upgrade(engine, "0003")
    calibration = _observed(miss_every=4)
    fitted = list(DEFAULT_PARAMETERS)
    fitted[20] = 0.3
    with engine.begin() as connection:
        populate(connection)
        connection.execute(
            text("UPDATE learner_parameters SET calibration = :c, parameters = :p"),
            {"c": json.dumps(calibration.to_json()), "p": json.dumps(fitted)},
        )
    upgrade(engine)
    row = LearnerParameters(user_id=1, parameters=fitted, calibration=calibration.to_json())
    expected = curve_columns(row)
    assert expected != curve_columns(None)
    with engine.connect() as connection:
        stored = (
            connection.execute(text("SELECT * FROM learner_parameters WHERE user_id = 1"))
            .one()
            ._mapping
        )
    assert {name: stored[name] for name in expected} == pytest.approx(expected, rel=1e-12)
    config = alembic_config(engine)
    command.downgrade(config, "0003")
    with engine.connect() as connection:
        settled = connection.execute(
            text("SELECT stability_scale, decay FROM learner_parameters WHERE user_id = 1")
        ).one()
    assert tuple(settled) == pytest.approx(
        (expected["scale_settled"], expected["decay_settled"]), rel=1e-12
    )
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_revision_0005_recomputes_stale_curves(database_url: str) -> None:
    """Curves stored under the previous prior are recomputed from each row's calibration."""
    engine = connect(database_url)
    _empty(engine)
    upgrade(engine, "0004")
    calibration = _observed(miss_every=3)
    with engine.begin() as connection:
        populate(connection)
        connection.execute(
            text(
                "UPDATE learner_parameters SET calibration = :c, scale_failed_once = 0.3,"
                " decay_failed_once = 0.4"
            ),
            {"c": json.dumps(calibration.to_json())},
        )
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM learner_parameters WHERE user_id = 1")).one()
    stored = LearnerParameters(
        user_id=1, parameters=row._mapping["parameters"], calibration=calibration.to_json()
    )
    expected = curve_columns(stored)
    assert {name: row._mapping[name] for name in expected} == pytest.approx(expected, rel=1e-12)
    engine.dispose()


def test_revision_0006_fills_in_item_scales(database_url: str) -> None:
    """The item-scale columns are filled in from each row's calibration: the prior's for
    calibrations stored before the slope existed, the fitted factors for one with evidence."""
    engine = connect(database_url)
    _empty(engine)
    upgrade(engine, "0005")
    old = _observed(miss_every=3).to_json()
    old.pop("difficulty_slope")
    fitted = StabilityCalibration()
    for day in range(1, 30):
        for difficulty in (1, 3):
            fitted = fitted.observe(
                elapsed_days=2.0,
                stability=2.0,
                guess_rate=0.0,
                correct=difficulty == 1 or day % 3 == 0,
                difficulty=difficulty,
                curve=(1.0, 0.2),
            )

    def stored_scales() -> tuple[float, float]:
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT item_scale_easy, item_scale_hard FROM learner_parameters")
            ).one()
        return float(row[0]), float(row[1])

    with engine.begin() as connection:
        populate(connection)
        connection.execute(
            text("UPDATE learner_parameters SET calibration = :c"), {"c": json.dumps(old)}
        )
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    prior_easy, _, prior_hard = StabilityCalibration().item_scales()
    assert stored_scales() == pytest.approx((prior_easy, prior_hard), rel=1e-12)
    command.downgrade(alembic_config(engine), "0005")
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE learner_parameters SET calibration = :c"),
            {"c": json.dumps(fitted.to_json())},
        )
    upgrade(engine)
    easy, _, hard = fitted.item_scales()
    assert easy > 1.5 and hard < 1 / 1.5
    assert stored_scales() == pytest.approx((easy, hard), rel=1e-4)  # JSON keeps 4 decimals
    engine.dispose()
