"""Browser tests: real headless Chromium (Debian's) driven by Playwright, against the real app
served by gunicorn (`pitstop serve`) on a free port, with its own SQLite database."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.content import Bank
from engine.service import StudyService
from engine.store.db import connect
from tests.conftest import NOW
from webui.security import hash_password

CHROMIUM = "/usr/bin/chromium"
INSTRUCTOR_EMAIL = "rivera@school.edu"
INSTRUCTOR_PASSWORD = "teach-the-class-2026"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not Path(CHROMIUM).exists():
    if os.environ.get("PITSTOP_REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

from playwright.sync_api import Browser, sync_playwright  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, fixture_bank: Bank
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("live")
    database = folder / "live.db"
    shutil.copy(sqlite_template, database)
    url = f"sqlite:///{database}"
    engine = connect(url)
    study = StudyService(engine)
    study.load_content(fixture_bank, now=NOW)
    study.create_user(
        email=INSTRUCTOR_EMAIL,
        display_name="Ms Rivera",
        password_hash=hash_password(INSTRUCTOR_PASSWORD),
        role="instructor",
        now=NOW,
    )
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "PITSTOP_DATABASE_URL": url, "PITSTOP_INSTANCE_DIR": str(folder)}
    pitstop = Path(sys.executable).parent / "pitstop"
    server = subprocess.Popen(
        [str(pitstop), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                break
        except OSError:
            assert server.poll() is None, "pitstop serve exited"
            assert time.monotonic() < deadline, "pitstop serve did not start"
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
