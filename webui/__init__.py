"""Pitstop's web interface: a thin Flask layer over :mod:`engine.service`."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from engine.config import Settings
from engine.service import StudyService
from engine.store.db import connect

__all__ = ["create_app", "service"]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """The app factory: defaults, then ``PITSTOP_*`` settings, then ``test_config``.

    Raises:
        RuntimeError: in production (``PITSTOP_ENV=production``) without ``PITSTOP_SECRET_KEY``.
    """
    settings = Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_dir.resolve()))
    app.config.update(
        PITSTOP_SETTINGS=settings,
        DATABASE_URL=settings.database_url,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_DURATION=timedelta(days=30),
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        RATELIMIT_STORAGE_URI=os.environ.get("PITSTOP_RATELIMIT_STORAGE", "memory://"),
        RATELIMIT_HEADERS_ENABLED=True,
        LOGIN_RATE_LIMIT=os.environ.get("PITSTOP_LOGIN_RATE_LIMIT", "10 per minute; 50 per hour"),
        MAX_CONTENT_LENGTH=1 * 1024 * 1024,
    )
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(settings)

    study = StudyService(
        connect(app.config["DATABASE_URL"]),
        cut_score=settings.cut_score,
    )
    app.extensions["pitstop"] = study

    from webui import errors, filters
    from webui.extensions import csrf, login_manager
    from webui.views import (
        admin,
        api,
        auth,
        classes,
        decks,
        health,
        home,
        plan,
        progress,
        study_views,
    )

    csrf.init_app(app)
    login_manager.init_app(app)
    for blueprint in (
        health.blueprint,
        home.blueprint,
        auth.blueprint,
        plan.blueprint,
        study_views.blueprint,
        progress.blueprint,
        classes.blueprint,
        decks.blueprint,
        admin.blueprint,
        api.blueprint,
    ):
        app.register_blueprint(blueprint)
    errors.register(app)
    filters.register(app)
    _limit_logins(app)

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        if settings.production:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    return app


RATE_LIMITED_ENDPOINTS = ("auth.login", "auth.signup", "auth.invite")


def _limit_logins(app: Flask) -> None:
    """Rate-limit posts to the log-in, sign-up and invite forms, per client address.

    Each app gets its own limiter (counters in memory, or in Redis when
    ``PITSTOP_RATELIMIT_STORAGE`` is set so several app servers share them).
    """
    limiter = Limiter(key_func=get_remote_address, app=app)
    app.extensions["pitstop_limiter"] = limiter
    rule = limiter.limit(lambda: str(app.config["LOGIN_RATE_LIMIT"]), methods=["POST"])
    for endpoint in RATE_LIMITED_ENDPOINTS:
        app.view_functions[endpoint] = rule(app.view_functions[endpoint])
    # The decorated views check their limit themselves when called. The limiter's app-wide
    # before-request hook would only look up, on every other request (two per answer), that
    # no limit applies: about 2% of an answer's CPU. There are no app-wide limits to check.
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:  # not there when RATELIMIT_ENABLED is off
        hooks.remove(limiter._check_request_limit)


def service(app: Flask) -> StudyService:
    study: StudyService = app.extensions["pitstop"]
    return study


def _secret_key(settings: Settings) -> str:
    """The configured key; in development a random key kept in ``instance/secret_key``."""
    if settings.secret_key:
        return settings.secret_key
    if settings.production:
        raise RuntimeError("PITSTOP_SECRET_KEY must be set when PITSTOP_ENV=production")
    path = Path(settings.instance_dir) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
