from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webui.conftest import sign_up
from webui import create_app


def test_health_reports_the_database_and_items(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "items": 40}


def test_home_lists_the_loaded_tests(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Electrical/Electronic Systems" in page and "Engine Performance" in page
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/pitstop.js" defer>']
    assert " style=" not in page


def test_every_response_carries_security_headers(client: FlaskClient) -> None:
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_unknown_pages_are_404(client: FlaskClient) -> None:
    assert client.get("/no-such-page").status_code == 404


def test_production_refuses_to_start_without_a_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PITSTOP_ENV", "production")
    monkeypatch.delenv("PITSTOP_SECRET_KEY", raising=False)
    monkeypatch.setenv("PITSTOP_INSTANCE_DIR", str(tmp_path))
    with pytest.raises(RuntimeError, match="PITSTOP_SECRET_KEY"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    monkeypatch.setenv("PITSTOP_SECRET_KEY", "a-real-secret")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert app.config["SECRET_KEY"] == "a-real-secret"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_development_keeps_a_generated_secret_across_restarts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PITSTOP_SECRET_KEY", raising=False)
    monkeypatch.delenv("PITSTOP_ENV", raising=False)
    monkeypatch.setenv("PITSTOP_INSTANCE_DIR", str(tmp_path))
    first = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}).config["SECRET_KEY"]
    second = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_connections_the_database_server_dropped_are_replaced(
    app: Flask, client: FlaskClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PostgreSQL server that drops its connections (a restart): a connection in busy use
    fails one request with a 503 and the pool starts afresh; one that sat idle is pinged
    before use and replaced, so the request never sees it."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no server to lose")
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from engine.store import db

    sign_up(client)
    assert client.get("/plan").status_code == 200  # the pool now holds a live connection
    admin = create_engine(db.normalise_url(database_url), poolclass=NullPool)

    def drop_connections() -> None:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )

    drop_connections()  # the pooled connection was used a moment ago: no ping
    lost = client.get("/plan")
    assert lost.status_code == 503 and lost.headers["Retry-After"] == "1"
    assert "connection was reset" in lost.get_data(as_text=True)
    assert client.get("/plan").status_code == 200  # the pool was refilled

    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # every connection counts as idle
    drop_connections()
    assert client.get("/plan").status_code == 200
    admin.dispose()
