"""Password hashing (werkzeug's scrypt)."""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

__all__ = ["MIN_PASSWORD_LENGTH", "check_password", "hash_password"]

MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    """Hash a password with scrypt.

    Raises:
        ValueError: if the password is shorter than ``MIN_PASSWORD_LENGTH``.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return generate_password_hash(password, method="scrypt")


def check_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)
