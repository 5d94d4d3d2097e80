"""System tests: real `pitstop serve` (gunicorn) processes, killed and restarted at will."""

from __future__ import annotations

import os
import signal
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

PITSTOP = Path(sys.executable).parent / "pitstop"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One `pitstop serve` on its own port, in its own process group."""

    def __init__(self, env: dict[str, str], workers: int = 2) -> None:
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(env["PITSTOP_INSTANCE_DIR"]) / f"serve-{self.port}.log"

    def start(self) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [str(PITSTOP), "serve", "--bind", f"127.0.0.1:{self.port}"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "--workers", str(self.workers)],
                env={**os.environ, **self.env},
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return self
            except OSError:
                assert self.process.poll() is None, "pitstop serve exited"
                assert time.monotonic() < deadline, "pitstop serve did not start"
                time.sleep(0.1)

    def errors(self) -> str:
        """The server's tracebacks, for assertion messages."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(
            line for line in text.splitlines() if '" 200 ' not in line and '" 30' not in line
        )[-4000:]

    def kill(self) -> None:
        """SIGKILL the master and every worker: no shutdown code runs."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)


@pytest.fixture
def loaded_database(database_url: str, fixture_bank: Bank) -> str:
    engine = connect(database_url)
    StudyService(engine).load_content(fixture_bank, now=NOW)
    engine.dispose()
    return database_url


@pytest.fixture
def server_env(loaded_database: str, tmp_path: Path) -> dict[str, str]:
    return {
        "PITSTOP_DATABASE_URL": loaded_database,
        "PITSTOP_INSTANCE_DIR": str(tmp_path / "instance"),
        "PITSTOP_SECRET_KEY": "system-test-secret",
    }


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()
