"""Settings from ``PITSTOP_*`` environment variables, with safe defaults for local use."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InvalidInputError

__all__ = ["PROJECT_ROOT", "Settings"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    """Where Pitstop keeps its data and how it behaves.

    ``PITSTOP_DATABASE_URL``   SQLAlchemy URL; default SQLite at ``instance/pitstop.db``.
    ``PITSTOP_CONTENT_DIR``    content root (``blueprints/`` and the bank); default ``content/``.
    ``PITSTOP_INSTANCE_DIR``   SQLite file and generated secret key; default ``instance/``.
    ``PITSTOP_SECRET_KEY``     session signing key; required when ``PITSTOP_ENV=production``.
    ``PITSTOP_ENV``            ``development`` (default) or ``production``.
    ``PITSTOP_CUT_SCORE``      assumed pass mark for readiness estimates; default 0.70.
    ``PITSTOP_NEW_PER_DAY``    daily cap on new items per learner; default 80 (the planner's).
    """

    database_url: str
    content_dir: Path
    instance_dir: Path
    secret_key: str | None
    environment: str
    cut_score: float
    new_per_day: int

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``).

        Raises:
            InvalidInputError: for a malformed value, naming the variable.
        """
        env = os.environ if environ is None else environ
        instance_dir = Path(env.get("PITSTOP_INSTANCE_DIR", PROJECT_ROOT / "instance"))
        environment = env.get("PITSTOP_ENV", "development")
        if environment not in ("development", "production"):
            raise InvalidInputError(
                f"PITSTOP_ENV must be 'development' or 'production', got {environment!r}"
            )
        return cls(
            database_url=env.get("PITSTOP_DATABASE_URL")
            or f"sqlite:///{instance_dir / 'pitstop.db'}",
            content_dir=Path(env.get("PITSTOP_CONTENT_DIR", PROJECT_ROOT / "content")),
            instance_dir=instance_dir,
            secret_key=env.get("PITSTOP_SECRET_KEY") or None,
            environment=environment,
            cut_score=_number(env, "PITSTOP_CUT_SCORE", 0.70, float, 0.01, 1.0),
            new_per_day=int(_number(env, "PITSTOP_NEW_PER_DAY", 80, int, 0, 1000)),
        )


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    kind: type[int] | type[float],
    low: float,
    high: float,
) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise InvalidInputError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise InvalidInputError(f"{name} must be between {low} and {high}, got {raw!r}")
    return value
