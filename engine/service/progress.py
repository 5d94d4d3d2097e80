"""Mastery, readiness and progress."""

from __future__ import annotations

from datetime import datetime

from engine.mastery import AreaMastery, area_mastery
from engine.readiness import Readiness, readiness
from engine.service.base import (
    ServiceBase,
)
from engine.store.db import transaction


class ProgressUseCases(ServiceBase):
    def area_mastery(self, user_id: int, *, now: datetime) -> list[AreaMastery]:
        """Mastery of every area of the learner's goal tests, now and at each exam."""
        with transaction(self.engine) as session:
            state = self._load_learner(session, user_id, now)
            catalog = self.catalog(session)
            return [
                area
                for area in area_mastery(
                    catalog, state.cards, state.beliefs, now=now, exam_at=state.goals
                )
                if area.test_code in state.goals
            ]

    def readiness(self, user_id: int, *, now: datetime) -> list[Readiness]:
        """Predicted score and pass probability for each goal test (an estimate)."""
        mastery = self.area_mastery(user_id, now=now)
        catalog = self.catalog()
        codes = sorted({area.test_code for area in mastery})
        return [readiness(catalog.blueprint[code], mastery, self.cut_score) for code in codes]
