"""The `pitstop` command, run in-process with click's runner against temporary databases."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import CONTENT_ROOT, FIXTURE_BANK
from webui.cli import cli


@pytest.fixture
def content_root(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT_ROOT / "blueprints", root / "blueprints")
    shutil.copytree(FIXTURE_BANK, root / "ase")
    return root


@pytest.fixture
def env(tmp_path: Path, content_root: Path, database_url: str) -> dict[str, str]:
    return {
        "PITSTOP_CONTENT_DIR": str(content_root),
        "PITSTOP_INSTANCE_DIR": str(tmp_path / "instance"),
        "PITSTOP_DATABASE_URL": database_url,
    }


def _run(env: dict[str, str], *arguments: str) -> Result:
    return CliRunner().invoke(cli, list(arguments), env=env, catch_exceptions=False)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["serve"],
        ["content"],
        ["content", "check"],
        ["content", "stats"],
        ["content", "load"],
        ["user"],
        ["user", "create"],
        ["demo"],
        ["optimize"],
        ["backup"],
        ["restore"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage: " in result.output


def test_content_check_passes_a_good_bank_and_lists_every_problem(
    env: dict[str, str], content_root: Path
) -> None:
    good = _run(env, "content", "check")
    assert good.exit_code == 0, good.output
    assert "40 valid items, 0 problem(s)" in good.output
    broken = content_root / "ase" / "a6" / "b-fixture.yaml"
    broken.write_text(
        broken.read_text()
        .replace("answer: A", "answer: Q", 1)
        .replace("difficulty: 2", "difficulty: 9", 1)
    )
    bad = _run(env, "content", "check")
    assert bad.exit_code == 1
    lines = [line for line in bad.output.splitlines() if "b-fixture.yaml" in line]
    assert len(lines) == 2
    assert any(": answer: must be one of A, B, C, D" in line for line in lines)
    assert any(": difficulty: must be 1, 2 or 3" in line for line in lines)
    as_json = json.loads(_run(env, "content", "check", "--json").output)
    assert {problem["field"] for problem in as_json} == {"answer", "difficulty"}
    assert all(problem["line"] and problem["item_id"].startswith("A6-B-") for problem in as_json)


def test_content_check_never_touches_the_database(tmp_path: Path, content_root: Path) -> None:
    env = {
        "PITSTOP_CONTENT_DIR": str(content_root),
        "PITSTOP_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}",
    }
    assert _run(env, "content", "check").exit_code == 0
    assert not (tmp_path / "never.db").exists()


def test_content_stats(env: dict[str, str]) -> None:
    stats = json.loads(_run(env, "content", "stats", "--json").output)
    assert stats["items"] == 40 and {test["code"] for test in stats["tests"]} == {"A6", "A8"}
    text = _run(env, "content", "stats").output
    assert "A8.E" in text and "Computerized Engine Controls" in text


def test_init_is_repeatable_and_a_bad_bank_loads_nothing(
    env: dict[str, str], content_root: Path
) -> None:
    first = _run(env, "init")
    assert first.exit_code == 0, first.output
    assert (
        "content loaded: 40 added, 0 updated, 40 unchanged".replace("40 unchanged", "0 unchanged")
        in first.output
    )
    again = _run(env, "init")
    assert "content loaded: 0 added, 0 updated, 40 unchanged, 0 retired" in again.output
    broken = content_root / "ase" / "a8" / "c-fixture.yaml"
    broken.write_text(broken.read_text().replace("kind: mcq", "kind: essay", 1))
    failed = _run(env, "content", "load")
    assert failed.exit_code == 1
    assert "nothing was loaded" in failed.output
    assert "kind: must be 'mcq' or 'flashcard'" in failed.output


def test_user_create_and_demo(env: dict[str, str]) -> None:
    assert _run(env, "init").exit_code == 0
    created = _run(
        env,
        "user",
        "create",
        "--email",
        "Pat@Example.com",
        "--name",
        "Pat",
        "--role",
        "instructor",
        "--password",
        "correct-horse-battery",
    )
    assert created.exit_code == 0 and "created instructor pat@example.com" in created.output
    duplicate = _run(
        env,
        "user",
        "create",
        "--email",
        "pat@example.com",
        "--name",
        "Pat",
        "--password",
        "correct-horse-battery",
    )
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    short = _run(
        env, "user", "create", "--email", "lee@example.com", "--name", "Lee", "--password", "short"
    )
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    demo = _run(env, "demo")
    assert demo.exit_code == 0
    assert "student@pitstop.local" in demo.output and "instructor@pitstop.local" in demo.output
    assert "password: " in demo.output
    assert _run(env, "demo").output == demo.output  # second run reuses the accounts


def test_demo_refuses_in_production(env: dict[str, str]) -> None:
    result = _run({**env, "PITSTOP_ENV": "production"}, "demo")
    assert result.exit_code == 1 and "refusing" in result.output


def test_optimize_reports_each_learner(env: dict[str, str]) -> None:
    assert _run(env, "init").exit_code == 0
    assert _run(env, "demo").exit_code == 0
    result = _run(env, "optimize", "--user", "student@pitstop.local")
    assert result.exit_code == 0, result.output
    assert "student@pitstop.local: 0 reviews (0 long-term), kept current" in result.output
    assert result.output.strip().endswith("1 learners, 0 fitted, 0 adopted")
    missing = _run(env, "optimize", "--user", "nobody@example.com")
    assert missing.exit_code == 1 and "error:" in missing.output
