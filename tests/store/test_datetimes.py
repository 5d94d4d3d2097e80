from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import StatementError
from sqlmodel import Session

from engine.store.models import User


def test_datetimes_leave_storage_utc_aware(db_engine: Engine) -> None:
    eastern = timezone(timedelta(hours=-5))
    moment = datetime(2026, 7, 4, 9, 30, 15, 123456, tzinfo=eastern)
    with Session(db_engine) as session:
        session.add(
            User(email="tz@example.com", display_name="Tz", password_hash="x", created_at=moment)
        )
        session.commit()
    with Session(db_engine) as session:
        stored = session.get(User, 1)
        assert stored is not None
        assert stored.created_at.tzinfo == UTC
        assert stored.created_at == moment  # same instant, microseconds kept
        assert stored.created_at.hour == 14


def test_naive_datetimes_are_refused(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        session.add(
            User(
                email="n@example.com",
                display_name="N",
                password_hash="x",
                created_at=datetime(2026, 1, 1),
            )
        )
        with pytest.raises(StatementError, match="naive datetime"):
            session.commit()
