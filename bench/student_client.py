"""A simulated student speaking plain HTTP to a running Pitstop server, as a browser would:
session cookie, CSRF tokens scraped from forms, GET /study then POST /study/answer.

Used by the load benchmark and the system tests. One keep-alive connection per student.
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.parse
from dataclasses import dataclass, field

__all__ = ["Step", "StudentClient"]

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')


@dataclass
class Step:
    """One study step: the question fetched and the answer acknowledged (or not)."""

    token: str
    get_ms: float
    post_ms: float
    status: int  # of the answer POST: 303 when recorded


@dataclass
class StudentClient:
    host: str
    port: int
    timeout: float = 30.0
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    def __post_init__(self) -> None:
        self._connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def close(self) -> None:
        self._connection.close()

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        """Send a request (retrying once on a dropped keep-alive connection)."""
        body = urllib.parse.urlencode(form) if form is not None else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            response = None
            try:
                self._connection.request(method, path, body=body, headers=headers)
                response = self._connection.getresponse()
                text = response.read().decode("utf-8", "replace")
                response.close()
                break
            except (http.client.HTTPException, OSError) as error:
                # A dropped keep-alive connection is retried once on a new one; anything
                # else (a dead server, a body cut short) closes everything and is raised.
                if response is not None:
                    response.close()
                self._connection.close()
                self._connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
                retry = isinstance(
                    error, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError
                )
                if attempt == 2 or not retry:
                    raise ConnectionError(f"{method} {path}: {error!r}") from error
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                cookie = rest.split(";", 1)[0]
                if cookie:
                    self.cookies[name] = cookie
                else:
                    self.cookies.pop(name, None)
        found = CSRF.search(text)
        if found:
            self.csrf = found.group(1)
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text

    def sign_up(self, name: str, email: str, password: str) -> None:
        self.request("GET", "/signup")
        status, _, text = self.request(
            "POST",
            "/signup",
            {
                "csrf_token": self.csrf,
                "display_name": name,
                "email": email,
                "password": password,
                "confirm": password,
                "timezone": "America/Chicago",
            },
        )
        if status != 302:
            raise RuntimeError(f"sign-up failed ({status}): {text[:300]}")

    def log_in(self, email: str, password: str) -> None:
        self.request("GET", "/login")
        status, _, text = self.request(
            "POST", "/login", {"csrf_token": self.csrf, "email": email, "password": password}
        )
        if status != 302:
            raise RuntimeError(f"log-in failed ({status}): {text[:300]}")

    def plan(self, tests: dict[str, str], minutes: int = 20) -> None:
        self.request("GET", "/plan")
        form = {"csrf_token": self.csrf, "daily_goal_minutes": str(minutes)}
        for code, exam in tests.items():
            form[f"goal_{code}"] = "y"
            form[f"exam_{code}"] = exam
        status, _, text = self.request("POST", "/plan", form)
        if status != 302:
            raise RuntimeError(f"plan failed ({status}): {text[:300]}")

    def fetch(self) -> tuple[str, str, float]:
        """GET /study: (token, kind, milliseconds)."""
        began = time.perf_counter()
        status, _, text = self.request("GET", "/study")
        elapsed = (time.perf_counter() - began) * 1000
        found = TOKEN.search(text)
        if status != 200 or not found:
            raise RuntimeError(f"GET /study gave {status} without a question: {text[:300]}")
        kind = "mcq" if 'data-question="mcq"' in text else "flashcard"
        return found.group(1), kind, elapsed

    def answer(
        self, token: str, kind: str, choice: str = "A", rating: str = "3"
    ) -> tuple[int, float]:
        """POST /study/answer: (status, milliseconds). 303 means recorded."""
        form = {"csrf_token": self.csrf, "token": token}
        form |= {"choice": choice} if kind == "mcq" else {"rating": rating}
        began = time.perf_counter()
        status, _, _ = self.request("POST", "/study/answer", form)
        return status, (time.perf_counter() - began) * 1000

    def step(self, choice: str = "A", rating: str = "3") -> Step:
        token, kind, get_ms = self.fetch()
        status, post_ms = self.answer(token, kind, choice, rating)
        return Step(token, get_ms, post_ms, status)
