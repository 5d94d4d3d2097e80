"""Template filters: durations, dates in the learner's zone, probabilities, figure text."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

from flask import Flask
from flask_login import current_user

__all__ = ["register"]

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.DOTALL)
_DESC = re.compile(r"<desc[^>]*>(.*?)</desc>", re.DOTALL)


def interval(delta: timedelta) -> str:
    """A next-review interval as Anki shows it on its buttons: 1m, 10m, 3d, 2.1mo."""
    minutes = delta.total_seconds() / 60
    if minutes < 60:
        return f"{max(1, round(minutes))}m"
    if minutes < 60 * 24:
        return f"{round(minutes / 60)}h"
    days = minutes / (60 * 24)
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        return f"{days / 30:.1f}mo"
    return f"{days / 365:.1f}y"


def when(due: datetime, since: datetime) -> str:
    """When an item comes back, in words."""
    delta = due - since
    minutes = delta.total_seconds() / 60
    if minutes < 60:
        return f"in about {max(1, round(minutes))} minute{'s' if round(minutes) > 1 else ''}"
    if minutes < 60 * 24:
        return f"in about {round(minutes / 60)} hours"
    days = round(minutes / (60 * 24))
    return "tomorrow" if days <= 1 else f"in {days} days"


def percent(probability: float) -> str:
    """A probability for people: never a false 0% or 100%."""
    if probability < 0.01:
        return "under 1%"
    if probability > 0.99:
        return "over 99%"
    return f"{round(probability * 100)}%"


def localdate(moment: datetime) -> str:
    zone = ZoneInfo(current_user.info.timezone) if current_user.is_authenticated else None
    return moment.astimezone(zone).strftime("%a %b %-d, %Y")


def day(value: date) -> str:
    """A calendar date as people read it: "Tue Dec 1"."""
    return value.strftime("%a %b %-d")


def figure_text(svg: str) -> dict[str, str]:
    """The ``<title>`` and ``<desc>`` of a figure, for captions and screen readers."""
    title = _TITLE.search(svg)
    desc = _DESC.search(svg)
    return {
        "title": unescape(title.group(1).strip()) if title else "Figure",
        "desc": unescape(desc.group(1).strip()) if desc else "",
    }


def register(app: Flask) -> None:
    for function in (interval, when, percent, localdate, day, figure_text):
        app.add_template_filter(function)
