"""Flask extensions, created once and bound to the app in the factory."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, request, url_for
from flask_login import LoginManager
from flask_wtf import CSRFProtect

__all__ = ["csrf", "login_manager"]

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
login_manager.login_message_category = "info"


@login_manager.unauthorized_handler
def unauthorized() -> Any:
    """JSON 401 for the API; a redirect to the log-in page (with ``next``) for pages."""
    if request.path.startswith("/api/"):
        return jsonify(error="log in first", status=401), 401
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
