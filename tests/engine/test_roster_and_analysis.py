from __future__ import annotations

import numpy as np
import pytest

from engine.analysis import ItemFlag, item_analysis
from engine.roster import parse_roster

HEADER = "sourcedId,givenName,familyName,email,role\n"


def test_a_good_roster_parses() -> None:
    data = (
        HEADER + "s1,Ana,Diaz,ana@school.edu,student\nt1,Tom,Reyes,TOM@school.edu,teacher\n"
    ).encode()
    rows, problems = parse_roster(data)
    assert problems == []
    assert [(row.line, row.email, row.role, row.display_name) for row in rows] == [
        (2, "ana@school.edu", "student", "Ana Diaz"),
        (3, "tom@school.edu", "instructor", "Tom Reyes"),
    ]


def test_columns_in_any_order_with_a_bom_and_extra_columns() -> None:
    data = "\ufeffEmail,Role,GivenName,FamilyName,SourcedId,grade\n"
    data += "ana@school.edu,student,Ana,Diaz,s1,11\n"
    rows, problems = parse_roster(data.encode("utf-8"))
    assert problems == [] and rows[0].sourced_id == "s1"


def test_every_bad_row_is_listed_and_nothing_is_returned() -> None:
    data = (
        HEADER
        + "s1,Ana,Diaz,ana@school.edu,student\n"
        + "s2,Ben,Ng,,student\n"  # missing email
        + "s3,Cy,Oh,ana@school.edu,student\n"  # duplicate email
        + "s4,Di,Po,di@school.edu,principal\n"  # unknown role
        + "s1,Ed,Qu,ed@school.edu,student\n"  # duplicate sourcedId
        + ",Fi,Ru,fi@school.edu,student\n"  # missing sourcedId
        + "s7,Gu,Sa,not-an-email,student\n"
    ).encode()
    rows, problems = parse_roster(data)
    assert rows == []
    assert [(p.line, p.field) for p in problems] == [
        (3, "email"),
        (4, "email"),
        (5, "role"),
        (6, "sourcedId"),
        (7, "sourcedId"),
        (8, "email"),
    ]
    assert "first on line 2" in problems[1].message
    assert str(problems[2]) == "line 5, role: unknown role 'principal' (use student or teacher)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (HEADER.encode(), "header but no rows"),
        (
            b"name,mail\nAna,ana@school.edu\n",
            "missing: sourcedId, givenName, familyName, email, role",
        ),
        ((HEADER + "s1,Jos\xe9,Diaz,j@school.edu,student\n").encode("latin-1"), "not UTF-8"),
    ],
)
def test_whole_file_problems(data: bytes, message: str) -> None:
    rows, problems = parse_roster(data)
    assert rows == [] and len(problems) == 1 and message in problems[0].message


def test_wrong_encoding_points_at_the_line() -> None:
    data = (
        HEADER + "s1,Ana,Diaz,a@school.edu,student\ns2,Jos\xe9,Diaz,j@school.edu,student\n"
    ).encode("latin-1")
    _, problems = parse_roster(data)
    assert problems[0].line == 3


def _simulate(keys: list[str | None], miskey: int | None = None, seed: int = 1):  # type: ignore[no-untyped-def]
    """Learners of spread-out ability answer items; item ``miskey`` has its key wrong."""
    rng = np.random.default_rng(seed)
    learners, items, correct, choices = [], [], [], []
    for learner in range(200):
        ability = rng.uniform(0.2, 1.0)
        for index, key in enumerate(keys):
            true_key = key if index != miskey else "B"
            knows = rng.random() < ability
            if key is None:
                picked = -1
                right = knows
            else:
                picked = "ABCD".index(true_key) if knows else int(rng.integers(0, 4))  # type: ignore[arg-type]
                right = picked == "ABCD".index(key)
            learners.append(learner)
            items.append(index)
            correct.append(right)
            choices.append(picked)
    return np.array(learners), np.array(items), np.array(correct), np.array(choices)


def test_item_analysis_statistics_and_flags() -> None:
    keys: list[str | None] = ["A", "C", "A", "D", None, *(["B", "C", "D", "A"] * 3)]
    learner, item, correct, choice = _simulate(keys, miskey=2)
    # Item 3 is made trivially easy: everyone gets it right.
    easy = item == 3
    correct[easy] = True
    choice[easy] = 3
    names = ["i0", "i1", "i2", "i3", "f4", *(f"x{n}" for n in range(12))]
    stats = {
        s.item_id: s
        for s in item_analysis(
            item_ids=names,
            keys=keys,
            learner=learner,
            item=item,
            correct=correct,
            choice=choice,
        )
    }
    good = stats["i0"]
    assert good.learners == 200
    assert good.p_value == pytest.approx(float(correct[item == 0].mean()))
    assert good.point_biserial is not None and good.point_biserial > 0.2
    assert good.flags == ()
    assert sum(good.choice_rates.values()) == pytest.approx(1.0)
    assert ItemFlag.LIKELY_MISKEYED in stats["i2"].flags
    assert stats["i2"].choice_rates["B"] > stats["i2"].choice_rates["A"]
    assert ItemFlag.TOO_EASY in stats["i3"].flags
    assert stats["i3"].point_biserial is None  # no variance: no correlation
    assert stats["f4"].choice_rates["none"] == 1.0 and stats["f4"].key is None


def test_point_biserial_matches_a_direct_computation() -> None:
    keys: list[str | None] = ["A", "B", "C"]
    learner, item, correct, choice = _simulate(keys, seed=4)
    stats = item_analysis(
        item_ids=["a", "b", "c"],
        keys=keys,
        learner=learner,
        item=item,
        correct=correct,
        choice=choice,
    )
    for index, found in enumerate(stats):
        rows = item == index
        rest = []
        for who in learner[rows]:
            mine = (learner == who) & (item != index)
            rest.append(correct[mine].mean())
        expected = np.corrcoef(correct[rows].astype(float), np.array(rest))[0, 1]
        assert found.point_biserial == pytest.approx(expected, abs=1e-9)


def test_flags_wait_for_enough_learners() -> None:
    stats = item_analysis(
        item_ids=["x"],
        keys=["A"],
        learner=np.array([1, 2]),
        item=np.array([0, 0]),
        correct=np.array([True, True]),
        choice=np.array([0, 0]),
    )
    assert stats[0].flags == ()
    with pytest.raises(ValueError):
        item_analysis(
            item_ids=["x"],
            keys=["A"],
            learner=np.array([1]),
            item=np.array([3]),
            correct=np.array([True]),
            choice=np.array([0]),
        )
