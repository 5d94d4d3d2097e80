from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from engine.content import Problem, bank_stats, check_path, format_stats, key_is_strictly_longest
from tests.conftest import CONTENT_ROOT, FIXTURE_BANK

GOOD_ITEM = """\
  - id: A6-B-001
    kind: mcq
    format: direct
    scenario: true
    difficulty: 2
    stem: A 2018 sedan cranks slowly. Which test comes first?
    choices: [Battery state of charge, Starter current draw, Cable voltage drop, Starter bench test]
    answer: A
    explanation: A starter cannot be judged on a discharged battery.
    rationales:
      B: Meaningless until the battery is known good.
      C: Also needs a good battery first.
      D: Removal before testing in the car wastes time.
"""


def _bank(tmp_path: Path, body: str, *, header: str = "test: A6\narea: A6.B\nitems:\n") -> Path:
    folder = tmp_path / "bank"
    folder.mkdir(exist_ok=True)
    (folder / "b.yaml").write_text(header + textwrap.dedent(body) if body else header)
    return folder


def _problems(folder: Path) -> list[Problem]:
    return list(check_path(folder, CONTENT_ROOT).problems)


def test_the_fixture_bank_is_valid() -> None:
    bank = check_path(FIXTURE_BANK, CONTENT_ROOT)
    assert bank.ok, [str(p) for p in bank.problems]
    assert len(bank.items) == 40


def test_a_good_item_passes(tmp_path: Path) -> None:
    assert _problems(_bank(tmp_path, GOOD_ITEM)) == []


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            ", Starter bench test]",
            "]",
            "choices",
            "expected exactly 4 choices, got 3",
        ),
        ("answer: A", "answer: E", "answer", "must be one of A, B, C, D, got 'E'"),
        ("answer: A", "answer: 2", "answer", "must be one of A, B, C, D, got 2"),
        (
            "    explanation: A starter cannot be judged on a discharged battery.\n",
            "",
            "explanation",
            "is missing",
        ),
        ("difficulty: 2", "difficulty: 5", "difficulty", "must be 1, 2 or 3, got 5"),
        ("format: direct", "format: truefalse", "format", "must be one of direct"),
        (
            "      D: Removal before testing in the car wastes time.\n",
            "",
            "rationales",
            "missing: D",
        ),
        ("id: A6-B-001", "id: A6-C-001", "id", "does not belong to area A6.B"),
        ("id: A6-B-001", "id: A6-B-1", "id", "must look like A6-B-012"),
        ("scenario: true", "scenario: maybe", "scenario", "must be true or false"),
        ("Starter bench test]", "Starter current draw]", "choices", "must all be different"),
        ("Starter bench test]", "All of the above]", "choices", "uses 'All of the above'"),
        ("Starter bench test]", "Yes]", "choices", "quote values like Yes"),
        ("kind: mcq", "kind: essay", "kind", "must be 'mcq' or 'flashcard'"),
        ("scenario: true", "scenario: true\n    colour: red", "colour", "unknown field"),
    ],
)
def test_each_item_problem_has_its_own_message(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    assert old in GOOD_ITEM
    problems = _problems(_bank(tmp_path, GOOD_ITEM.replace(old, new)))
    assert len(problems) == 1, [str(p) for p in problems]
    problem = problems[0]
    assert problem.field == field
    assert message in problem.message
    assert problem.path.endswith("bank/b.yaml")
    assert problem.item_id in {"A6-B-001", "A6-C-001", "A6-B-1"}
    assert problem.line is not None and problem.line >= 4
    assert str(problem).startswith(f"{problem.path}:{problem.line}: ")


def test_line_numbers_point_at_the_field(tmp_path: Path) -> None:
    problems = _problems(_bank(tmp_path, GOOD_ITEM.replace("answer: A", "answer: E")))
    assert (
        problems[0].line == 3 + GOOD_ITEM.splitlines().index("    answer: E".replace("E", "A")) + 1
    )


def test_malformed_yaml_reports_the_line(tmp_path: Path) -> None:
    folder = _bank(tmp_path, GOOD_ITEM + "  - id: [unclosed\n")
    problems = _problems(folder)
    assert len(problems) == 1
    assert "malformed YAML" in problems[0].message
    assert problems[0].line is not None and problems[0].line > 10


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    folder = _bank(tmp_path, GOOD_ITEM)
    (folder / "c.yaml").write_text("test: A6\narea: A6.B\nitems:\n" + GOOD_ITEM)
    problems = _problems(folder)
    assert len(problems) == 1
    assert problems[0].field == "id"
    assert "duplicate id (first defined at" in problems[0].message


def test_duplicate_keys_are_not_silently_overwritten(tmp_path: Path) -> None:
    problems = _problems(
        _bank(tmp_path, GOOD_ITEM.replace("answer: A", "answer: A\n    answer: B"))
    )
    assert any(p.field == "answer" and p.message == "duplicate key" for p in problems)


@pytest.mark.parametrize(
    ("header", "field", "message"),
    [
        ("test: A6\narea: A6.Z\nitems:\n", "area", "unknown area 'A6.Z' for A6"),
        ("test: Q7\narea: Q7.A\nitems:\n", "test", "unknown test 'Q7'"),
        ("test: A6\narea: A6.B\nstuff: 1\nitems:\n", "stuff", "unknown field"),
    ],
)
def test_file_header_problems(tmp_path: Path, header: str, field: str, message: str) -> None:
    problems = _problems(_bank(tmp_path, GOOD_ITEM, header=header))
    assert any(p.field == field and message in p.message for p in problems), [
        str(p) for p in problems
    ]


def test_tech_ab_needs_the_standard_choices_and_both_technicians(tmp_path: Path) -> None:
    item = GOOD_ITEM.replace("format: direct", "format: tech_ab").replace(
        "stem: A 2018 sedan cranks slowly. Which test comes first?",
        "stem: Technician A says the battery comes first. Technician B says the cable does."
        " Who is correct?",
    )
    problems = _problems(_bank(tmp_path, item))
    assert [p.field for p in problems] == ["choices"]
    assert "tech_ab choices must be exactly" in problems[0].message
    fixed = item.replace(
        "[Battery state of charge, Starter current draw, Cable voltage drop, Starter bench test]",
        "[A only, B only, Both A and B, Neither A nor B]",
    )
    assert _problems(_bank(tmp_path, fixed)) == []
    no_b = fixed.replace("Technician B says", "Another tech says")
    assert [p.field for p in _problems(_bank(tmp_path, no_b))] == ["stem"]


@pytest.mark.parametrize(("fmt", "word"), [("except", "EXCEPT"), ("least", "LEAST")])
def test_except_and_least_need_the_capitalised_word(tmp_path: Path, fmt: str, word: str) -> None:
    item = GOOD_ITEM.replace("format: direct", f"format: {fmt}")
    problems = _problems(_bank(tmp_path, item))
    assert [(p.field, word in p.message) for p in problems] == [("stem", True)]
    fixed = item.replace("Which test comes first?", f"All of these could come first {word} the")
    assert _problems(_bank(tmp_path, fixed)) == []


def test_flashcard_rules(tmp_path: Path) -> None:
    card = """\
  - id: A6-B-F01
    kind: flashcard
    difficulty: 1
    front: What does a cable voltage-drop test show?
    back: Resistance in the cable under load.
"""
    assert _problems(_bank(tmp_path, card)) == []
    long_back = card.replace("Resistance in the cable under load.", " ".join(["word"] * 46))
    problems = _problems(_bank(tmp_path, long_back))
    assert [p.field for p in problems] == ["back"]
    assert "46 words" in problems[0].message
    stray = card.replace("difficulty: 1", "difficulty: 1\n    answer: A")
    assert [p.field for p in _problems(_bank(tmp_path, stray))] == ["answer"]


def test_figures_must_exist_and_be_accessible_svg(tmp_path: Path) -> None:
    folder = _bank(tmp_path, GOOD_ITEM + "    figure: figures/A6-B-001.svg\n")
    assert "file not found" in _problems(folder)[0].message
    (folder / "figures").mkdir()
    figure = folder / "figures" / "A6-B-001.svg"
    figure.write_text('<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>')
    messages = [p.message for p in _problems(folder)]
    assert any("viewBox" in m for m in messages)
    assert any("<title> then <desc>" in m for m in messages)
    figure.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><title>t</title><desc>d</desc>'
        '<script>alert(1)</script><a href="https://example.com"><text>x</text></a></svg>'
    )
    messages = [p.message for p in _problems(folder)]
    assert any("<script> is not allowed" in m for m in messages)
    assert any("external reference" in m for m in messages)
    shutil.copy(FIXTURE_BANK / "a6" / "figures" / "A6-A-001.svg", figure)
    assert _problems(folder) == []
    bank = check_path(folder, CONTENT_ROOT)
    assert "<title>Fixture circuit</title>" in bank.items[0].body["figure"]["svg"]


def test_not_utf8_is_reported(tmp_path: Path) -> None:
    folder = _bank(tmp_path, GOOD_ITEM)
    (folder / "b.yaml").write_bytes(
        "test: A6\narea: A6.B\nitems:\n  - stem: caf\xe9\n".encode("latin-1")
    )
    problems = _problems(folder)
    assert len(problems) == 1 and "not UTF-8" in problems[0].message


def test_content_hash_changes_with_the_text(tmp_path: Path) -> None:
    first = check_path(_bank(tmp_path, GOOD_ITEM), CONTENT_ROOT).items[0]
    second = check_path(
        _bank(tmp_path, GOOD_ITEM.replace("slowly", "very slowly")), CONTENT_ROOT
    ).items[0]
    assert first.content_hash != second.content_hash
    assert (
        first.content_hash
        == check_path(_bank(tmp_path, GOOD_ITEM), CONTENT_ROOT).items[0].content_hash
    )


def _policy_bank(tmp_path: Path, policy: str) -> Path:
    folder = tmp_path / "policed"
    shutil.copytree(FIXTURE_BANK, folder)
    (folder / "policy.yaml").write_text(textwrap.dedent(policy))
    return folder


def test_policy_rules_apply_to_the_bank(tmp_path: Path) -> None:
    folder = _policy_bank(
        tmp_path,
        """\
        tests: [A6, A8, A1]
        min_mcq_per_test: 16
        min_flashcards_per_test: 5
        area_mcq_base: 20
        area_mcq_floor: 3
        min_flashcards_per_area: 1
        min_tech_ab_share: 0.2
        min_except_least_share: 0.0
        min_scenario_share: 0.3
        key_share_range: [0.15, 0.35]
        max_key_longest_share: 0.35
        min_figures: {A6: 1, A8: 1}
        min_figures_total: 3
        """,
    )
    messages = [f"{p.field}: {p.message}" for p in _problems(folder)]
    assert "A1: the policy lists this test but the bank has no items for it" in messages
    # A6.E has 17/50 of A6: round(20 × 0.34) = 7 needed, 3 present.
    assert any(
        m.startswith("A6: A6.E: 3 multiple-choice items; needs at least 7") for m in messages
    )
    assert any(m.startswith("A6: tech_ab is 0% of multiple choice") for m in messages)
    assert "A8: 0 items with figures; needs at least 1" in messages
    assert "figures: 1 items with figures in the bank; needs at least 3" in messages
    assert not any("scenario" in m for m in messages)  # a third of the fixture items are scenarios


def test_policy_is_not_applied_to_a_lone_deck_file(tmp_path: Path) -> None:
    assert _problems(_bank(tmp_path, GOOD_ITEM)) == []  # no policy.yaml above it


def test_stats_report_blueprint_coverage_and_balance() -> None:
    bank = check_path(FIXTURE_BANK, CONTENT_ROOT)
    stats = bank_stats(bank)
    assert stats["items"] == 40 and stats["mcq"] == 30 and stats["flashcards"] == 10
    a6 = next(test for test in stats["tests"] if test["code"] == "A6")
    assert a6["mcq"] == 15 and a6["figures"] == 1
    assert sum(a6["key_shares"].values()) == pytest.approx(1.0)
    assert [area["code"] for area in a6["areas"]] == ["A6.A", "A6.B", "A6.C", "A6.D", "A6.E"]
    assert a6["areas"][4]["scored_questions"] == 17
    text = format_stats(stats)
    assert "A6.E" in text and "Body Electrical Systems" in text
    longest = [item for item in bank.items if item.body.get("choices")]
    assert not any(
        key_is_strictly_longest(item) for item in longest
    )  # fixture choices are equal length
