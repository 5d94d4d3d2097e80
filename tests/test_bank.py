"""The shipped question bank passes its own validator and policy."""

from __future__ import annotations

import re

import pytest

from engine.content import Bank, bank_stats, check_path
from tests.conftest import CONTENT_ROOT


@pytest.fixture(scope="module")
def bank() -> Bank:
    return check_path(CONTENT_ROOT / "ase", CONTENT_ROOT)


def test_the_bank_passes_content_check(bank: Bank) -> None:
    assert [str(problem) for problem in bank.problems] == []
    assert bank.policy is not None, "content/ase/policy.yaml must govern the bank"


def test_every_test_and_area_is_covered(bank: Bank) -> None:
    stats = bank_stats(bank)
    assert {test["code"] for test in stats["tests"]} == set(bank.blueprint)
    for test in stats["tests"]:
        assert test["mcq"] >= 60 and test["flashcards"] >= 30, test["code"]
        for area in test["areas"]:
            assert area["mcq"] >= max(4, round(60 * area["share"])), area["code"]
            assert area["flashcards"] >= 2, area["code"]


def test_figures_are_where_the_policy_wants_them(bank: Bank) -> None:
    figures = {code: 0 for code in bank.blueprint}
    for item in bank.items:
        if "figure" in item.body:
            figures[item.test_code] += 1
            svg = item.body["figure"]["svg"]
            assert re.search(r"<title[ >]", svg) and re.search(r"<desc[ >]", svg)
    assert figures["A6"] >= 6 and figures["A7"] >= 3 and figures["A8"] >= 3
    assert sum(figures.values()) >= 12


@pytest.mark.parametrize(
    ("test_code", "pattern"),
    [
        ("A6", r"high[- ]voltage"),
        ("A5", r"regenerat"),
        ("A4", r"ADAS|radar|camera"),
        ("A7", r"R-1234yf"),
        ("A7", r"electric(ally driven)? (A/C )?compressor"),
    ],
)
def test_hybrid_ev_and_adas_content_is_present(bank: Bank, test_code: str, pattern: str) -> None:
    texts = [str(item.body) for item in bank.items if item.test_code == test_code]
    assert sum(bool(re.search(pattern, text, re.IGNORECASE)) for text in texts) >= 2
