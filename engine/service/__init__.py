"""Use cases: each public method is one unit of work in one transaction.

The service loads plain data from the store, calls the pure engine, and writes the result.
Views call exactly one of these per request. Errors are :mod:`engine.errors` exceptions.
"""

from __future__ import annotations

from engine.service.accounts import AccountUseCases
from engine.service.base import ROLES, UserInfo
from engine.service.classes import AssignmentInfo, ClassInfo, DeckInfo, RosterResult
from engine.service.content import ContentUseCases, LoadReport
from engine.service.optimize import FitReport, OptimizeUseCases
from engine.service.reports import ReportUseCases
from engine.service.study import AnswerResult, ServedItem, StudyUseCases

__all__ = [
    "ROLES",
    "AnswerResult",
    "AssignmentInfo",
    "ClassInfo",
    "DeckInfo",
    "FitReport",
    "LoadReport",
    "RosterResult",
    "ServedItem",
    "StudyService",
    "UserInfo",
]


class StudyService(
    ContentUseCases, AccountUseCases, StudyUseCases, ReportUseCases, OptimizeUseCases
):
    """Pitstop's use cases over one database."""
