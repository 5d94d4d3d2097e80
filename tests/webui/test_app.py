from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

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
