"""`pitstop serve` really serves: gunicorn in a subprocess, hit over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from engine.content import Bank
from engine.service import StudyService
from engine.store.db import connect
from tests.conftest import NOW

PITSTOP = Path(sys.executable).parent / "pitstop"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


@pytest.mark.slow
def test_gunicorn_serves_health_and_home(
    tmp_path: Path, sqlite_template: Path, fixture_bank: Bank
) -> None:
    database = tmp_path / "served.db"
    database.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{database}"
    engine = connect(url)
    StudyService(engine).load_content(fixture_bank, now=NOW)
    engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "PITSTOP_DATABASE_URL": url,
        "PITSTOP_INSTANCE_DIR": str(tmp_path),
        "PITSTOP_ACCESS_LOG": "1",  # off by default (the proxy logs requests)
    }
    server = subprocess.Popen(
        [str(PITSTOP), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
                assert time.monotonic() < deadline, "gunicorn did not start in 30 s"
                time.sleep(0.2)
        assert status == 200
        assert json.loads(body) == {"status": "ok", "database": "ok", "items": 40}
        status, page = _get(f"http://127.0.0.1:{port}/")
        assert status == 200 and b"Electrical/Electronic Systems" in page
    finally:
        server.terminate()
        server.wait(timeout=30)
        output = server.stdout.read().decode() if server.stdout else ""
        if server.stdout:
            server.stdout.close()
    assert '"GET /healthz HTTP/1.1" 200' in output  # the access log asked for


def test_the_wsgi_module_freezes_what_it_loaded(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gunicorn's entry point moves everything loaded at start-up out of the garbage
    collector's full passes (gc.freeze), so those passes do not stall requests."""
    import gc
    import importlib

    database = tmp_path / "wsgi.db"
    database.write_bytes(sqlite_template.read_bytes())
    monkeypatch.setenv("PITSTOP_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("PITSTOP_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.delitem(sys.modules, "webui.wsgi", raising=False)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        module = importlib.import_module("webui.wsgi")
        assert module.app.name == "webui"
        assert gc.get_freeze_count() > 10_000  # the app, its modules and their objects
    finally:
        gc.unfreeze()
        monkeypatch.delitem(sys.modules, "webui.wsgi", raising=False)
