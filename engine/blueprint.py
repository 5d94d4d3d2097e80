"""ASE test specifications as values: tests, content areas and scored-question counts.

The data lives in ``content/blueprints/*.yaml``; :mod:`engine.content` reads it and calls
:func:`test_from_mapping`. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["AreaSpec", "Blueprint", "TestSpec", "test_from_mapping"]

TEST_CODE = re.compile(r"^[A-Z][0-9]{1,2}$")
AREA_CODE = re.compile(r"^([A-Z][0-9]{1,2})\.([A-Z])$")


@dataclass(frozen=True)
class AreaSpec:
    """One content area of a test, e.g. ``A6.B`` Battery and Starting Systems, 9 questions."""

    code: str
    name: str
    scored_questions: int

    @property
    def test_code(self) -> str:
        return self.code.split(".")[0]

    @property
    def letter(self) -> str:
        return self.code.split(".")[1]


@dataclass(frozen=True)
class TestSpec:
    """One ASE test: its scored questions spread over content areas."""

    code: str
    name: str
    scored_questions: int
    areas: tuple[AreaSpec, ...]
    time_minutes: int | None = None
    edition: str = ""
    source: str = ""

    __test__ = False  # not a pytest test class, despite the name

    def area(self, code: str) -> AreaSpec:
        for area in self.areas:
            if area.code == code:
                return area
        raise KeyError(code)

    def share(self, area_code: str) -> float:
        """The area's share of the test's scored questions."""
        return self.area(area_code).scored_questions / self.scored_questions


class Blueprint(Mapping[str, TestSpec]):
    """The tests Pitstop knows, by code, in a stable order."""

    def __init__(self, tests: Iterable[TestSpec]) -> None:
        self._tests = {test.code: test for test in tests}

    def __getitem__(self, code: str) -> TestSpec:
        return self._tests[code]

    def __iter__(self) -> Any:
        return iter(self._tests)

    def __len__(self) -> int:
        return len(self._tests)

    def areas(self) -> dict[str, AreaSpec]:
        return {area.code: area for test in self._tests.values() for area in test.areas}


def test_from_mapping(data: Mapping[str, Any]) -> TestSpec:
    """Build a :class:`TestSpec` from blueprint data, checking that it adds up.

    Raises:
        ValueError: naming the field that is missing or inconsistent.
    """
    for key in ("code", "name", "scored_questions", "areas"):
        if key not in data:
            raise ValueError(f"blueprint is missing '{key}'")
    code = str(data["code"])
    if not TEST_CODE.match(code):
        raise ValueError(f"code: '{code}' is not a test code like A6")
    areas = []
    for index, raw in enumerate(data["areas"]):
        area_code = str(raw.get("code", ""))
        match = AREA_CODE.match(area_code)
        if not match or match.group(1) != code:
            raise ValueError(f"areas[{index}].code: '{area_code}' is not an area of {code}")
        count = raw.get("scored_questions")
        if not isinstance(count, int) or count <= 0:
            raise ValueError(f"areas[{index}].scored_questions: expected a positive integer")
        areas.append(AreaSpec(area_code, str(raw.get("name", "")), count))
    scored = data["scored_questions"]
    if not isinstance(scored, int) or scored != sum(area.scored_questions for area in areas):
        raise ValueError(
            f"scored_questions: {scored} is not the sum of the areas' counts "
            f"({sum(area.scored_questions for area in areas)})"
        )
    if len({area.code for area in areas}) != len(areas):
        raise ValueError("areas: duplicate area code")
    minutes = data.get("time_minutes")
    return TestSpec(
        code=code,
        name=str(data["name"]),
        scored_questions=scored,
        areas=tuple(areas),
        time_minutes=int(minutes) if minutes is not None else None,
        edition=str(data.get("edition", "")),
        source=str(data.get("source", "")).strip(),
    )
