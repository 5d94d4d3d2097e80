from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from engine.blueprint import Blueprint
from engine.catalog import CardTable
from engine.forecast import forecast
from engine.mastery import Beliefs
from engine.scheduling import Rating
from tests.engine.helpers import study, synthetic_catalog

NOW = datetime(2026, 5, 4, 18, tzinfo=UTC)


def test_studying_beats_stopping_and_stopping_decays(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint, tests=("A6",), per_area=8)
    cards = CardTable(len(catalog))
    for index in range(0, len(catalog), 3):
        study(
            cards,
            index,
            [
                (NOW - timedelta(days=2), Rating.Good),
                (NOW - timedelta(days=2, minutes=-10), Rating.Good),
            ],
        )
    exam = {"A6": NOW + timedelta(days=14)}
    points = forecast(
        catalog,
        cards,
        Beliefs(),
        exam,
        now=NOW,
        items_per_day=15,
        rng=np.random.default_rng(0),
        days=14,
    )
    assert [point.day for point in points] == list(range(15))
    assert points[0].with_study == points[0].if_stopped
    assert points[-1].with_study["A6"] > points[0].with_study["A6"] + 0.05
    assert points[-1].if_stopped["A6"] < points[0].if_stopped["A6"]
    assert cards.seen.sum() == len(range(0, len(catalog), 3)), (
        "the learner's own cards are untouched"
    )


def test_no_pace_means_no_study(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint, tests=("A8",))
    cards = CardTable(len(catalog))
    points = forecast(
        catalog,
        cards,
        Beliefs(),
        {"A8": None},
        now=NOW,
        items_per_day=0,
        rng=np.random.default_rng(0),
        days=5,
    )
    assert all(point.with_study == point.if_stopped for point in points)
    with pytest.raises(ValueError):
        forecast(
            catalog,
            cards,
            Beliefs(),
            {"A8": None},
            now=NOW,
            items_per_day=-1,
            rng=np.random.default_rng(0),
            days=5,
        )
