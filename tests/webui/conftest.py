"""Web fixtures: the real app over a real database (SQLite, and PostgreSQL when available),
CSRF protection on, and a clock the tests can move."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.content import Bank
from tests.conftest import NOW
from webui import create_app, service

PASSWORD = "correct-horse-battery"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def app(
    database_url: str,
    fixture_bank: Bank,
    tmp_path: Path,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Flask]:
    monkeypatch.setenv("PITSTOP_INSTANCE_DIR", str(tmp_path / "instance"))
    application = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "PITSTOP_CLOCK": clock}
    )
    service(application).load_content(fixture_bank, now=NOW)
    yield application
    service(application).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(client: FlaskClient, page: str = "/login") -> str:
    match = CSRF.search(client.get(page).get_data(as_text=True))
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def sign_up(client: FlaskClient, email: str = "sam@example.com", name: str = "Sam") -> None:
    response = client.post(
        "/signup",
        data={
            "csrf_token": csrf_token(client, "/signup"),
            "display_name": name,
            "email": email,
            "password": PASSWORD,
            "confirm": PASSWORD,
            "timezone": "America/Chicago",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def save_plan(client: FlaskClient, **goals: str) -> None:
    data = {"csrf_token": csrf_token(client, "/plan"), "daily_goal_minutes": "20"}
    for code, exam in goals.items():
        data[f"goal_{code}"] = "y"
        data[f"exam_{code}"] = exam
    response = client.post("/plan", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def student(client: FlaskClient) -> FlaskClient:
    """A signed-up student studying A6 with an exam on 2026-03-20 (NOW is 2026-03-02)."""
    sign_up(client)
    save_plan(client, A6="2026-03-20")
    return client
