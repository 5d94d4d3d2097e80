from __future__ import annotations

import os

import pytest
from flask.testing import FlaskClient

from tests.webui.conftest import PASSWORD, csrf_token, sign_up


def test_signup_logs_in_and_asks_for_a_plan(client: FlaskClient) -> None:
    sign_up(client)
    page = client.get("/plan")
    assert page.status_code == 200
    assert "What are you studying for?" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("password", "short", "Use at least 10 characters."),
        ("confirm", "something-else-entirely", "The passwords differ."),
        ("email", "not-an-email", "Enter an email address like name@example.com."),
        ("display_name", "", "Enter your name."),
        ("timezone", "Mars/Olympus", "Not a valid choice"),
    ],
)
def test_bad_signup_input_returns_the_form_with_a_message(
    client: FlaskClient, field: str, value: str, message: str
) -> None:
    data = {
        "csrf_token": csrf_token(client, "/signup"),
        "display_name": "Sam",
        "email": "sam@example.com",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "timezone": "UTC",
    }
    data[field] = value
    response = client.post("/signup", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert "Please fix the following" in page


def test_a_taken_email_is_a_message_not_a_crash(client: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    sign_up(client)
    other = app.test_client()
    data = {
        "csrf_token": csrf_token(other, "/signup"),
        "display_name": "Sam again",
        "email": "SAM@example.com",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "timezone": "UTC",
    }
    response = other.post("/signup", data=data)
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)


def test_login_logout_and_safe_redirects(client: FlaskClient) -> None:
    sign_up(client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/plan")})
    assert client.get("/progress").status_code == 302
    token = csrf_token(client, "/login")
    wrong = client.post(
        "/login",
        data={"csrf_token": token, "email": "sam@example.com", "password": "nope-nope-nope"},
    )
    assert wrong.status_code == 400
    assert "do not match an account" in wrong.get_data(as_text=True)
    evil = client.post(
        "/login?next=https://evil.example.com/",
        data={"csrf_token": token, "email": "sam@example.com", "password": PASSWORD},
    )
    assert evil.status_code == 302 and evil.headers["Location"] == "/plan"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/plan")})
    good = client.post(
        "/login?next=/progress",
        data={
            "csrf_token": csrf_token(client, "/login"),
            "email": "sam@example.com",
            "password": PASSWORD,
        },
    )
    assert good.headers["Location"] == "/progress"


def test_logout_needs_a_post_with_csrf(client: FlaskClient) -> None:
    sign_up(client)
    assert client.get("/logout").status_code == 405
    refused = client.post("/logout")
    assert refused.status_code == 400
    assert "expired or was sent from elsewhere" in refused.get_data(as_text=True)
    assert client.get("/plan").status_code == 200  # still logged in


def test_password_change(client: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    sign_up(client)
    token = csrf_token(client, "/account/password")
    wrong = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current": "wrong-password",
            "password": "brand-new-secret",
            "confirm": "brand-new-secret",
        },
    )
    assert wrong.status_code == 400 and "not your current password" in wrong.get_data(as_text=True)
    done = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "password": "brand-new-secret",
            "confirm": "brand-new-secret",
        },
    )
    assert done.status_code == 302
    fresh = app.test_client()
    response = fresh.post(
        "/login",
        data={
            "csrf_token": csrf_token(fresh),
            "email": "sam@example.com",
            "password": "brand-new-secret",
        },
    )
    assert response.status_code == 302


def test_login_attempts_are_rate_limited(client: FlaskClient) -> None:
    token = csrf_token(client)
    statuses = [
        client.post(
            "/login",
            data={"csrf_token": token, "email": "x@example.com", "password": "guess-guess-guess"},
        ).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [400] * 10
    assert statuses[10] == 429
    assert "Too many attempts" in client.post("/login", data={"csrf_token": token}).get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "path", ["/study", "/progress", "/plan", "/placement", "/study/summary", "/account/password"]
)
def test_pages_need_a_login(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_rate_limits_can_live_in_redis(database_url: str, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Several app servers share log-in counters through Redis (PITSTOP_RATELIMIT_STORAGE)."""
    import socket

    import redis

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        if os.environ.get("PITSTOP_REQUIRE_REDIS"):
            raise
        pytest.skip("no Redis on 127.0.0.1:6379")
    from webui import create_app

    monkeypatch.setenv("PITSTOP_INSTANCE_DIR", str(tmp_path))
    # Flask-Limiter keeps the first key prefix it sees for the life of the process, so every
    # run of this test uses the same one and starts by clearing its counters.
    prefix = "pitstop-test-ratelimit"
    connection = redis.Redis(host="127.0.0.1", port=6379)
    stale = list(connection.scan_iter(f"*{prefix}*"))
    if stale:
        connection.delete(*stale)
    monkeypatch.setenv("PITSTOP_RATELIMIT_STORAGE", "redis://127.0.0.1:6379/0")
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "RATELIMIT_KEY_PREFIX": prefix,
        "LOGIN_RATE_LIMIT": "3 per minute",
    }
    first, second = create_app(config), create_app(config)  # two app servers
    statuses = []
    for app in (first, second, first, second):
        client = app.test_client()
        statuses.append(
            client.post(
                "/login",
                data={
                    "csrf_token": csrf_token(client),
                    "email": "x@example.com",
                    "password": "wrong-wrong-wrong",
                },
            ).status_code
        )
    assert statuses == [400, 400, 400, 429]
    keys = list(connection.scan_iter(f"*{prefix}*"))
    assert keys, "the counters are in Redis"
    connection.delete(*keys)
    for app in (first, second):
        app.extensions["pitstop"].engine.dispose()
