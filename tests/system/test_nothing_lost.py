"""Answers survive concurrency, double posts and a killed server; two app servers share one
PostgreSQL database without losing or duplicating anything."""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from bench.student_client import StudentClient
from engine.service import StudyService
from engine.store.db import connect
from engine.store.models import CardState, Review
from tests.system.conftest import Server

PASSWORD = "system-test-password"


def _student(port: int, number: int, run: str) -> StudentClient:
    client = StudentClient("127.0.0.1", port)
    client.sign_up(f"Student {number}", f"s{number}-{run}@example.com", PASSWORD)
    client.plan({"A6": "", "A8": ""})
    return client


def _parallel(count: int, work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            work(number)
        except BaseException as error:  # collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _reviews(url: str) -> set[str]:
    engine = connect(url)
    with Session(engine) as session:
        tokens = set(session.scalars(select(Review.attempt_token)))
    engine.dispose()
    return tokens


def _every_card_replays(url: str) -> int:
    """Every card state equals the replay of its reviews; returns how many were checked."""
    engine = connect(url)
    study = StudyService(engine)
    with Session(engine) as session:
        cards = list(session.execute(select(CardState.user_id, CardState.item_id)))
    for user_id, item_id in cards:
        assert study.replay_card(user_id, item_id) == study.card_state(user_id, item_id)
    engine.dispose()
    return len(cards)


@pytest.mark.slow
def test_parallel_students_leave_exactly_n_times_m_reviews(
    servers: list[Server], server_env: dict[str, str]
) -> None:
    server = Server(server_env).start()
    servers.append(server)
    students, answers = 6, 12
    acknowledged: list[str] = []
    lock = threading.Lock()
    run = uuid.uuid4().hex[:6]

    def work(number: int) -> None:
        client = _student(server.port, number, run)
        for _ in range(answers):
            step = client.step()
            assert step.status == 303
            with lock:
                acknowledged.append(step.token)
        client.close()

    assert _parallel(students, work) == []
    stored = _reviews(server_env["PITSTOP_DATABASE_URL"])
    assert len(acknowledged) == students * answers == len(stored)
    assert set(acknowledged) == stored
    assert _every_card_replays(server_env["PITSTOP_DATABASE_URL"]) > students


@pytest.mark.slow
def test_the_same_answer_posted_at_once_is_recorded_once(
    servers: list[Server], server_env: dict[str, str]
) -> None:
    server = Server(server_env).start()
    servers.append(server)
    client = _student(server.port, 1, uuid.uuid4().hex[:6])
    token, kind, _ = client.fetch()
    copies = []
    for _ in range(6):
        copy = StudentClient(
            "127.0.0.1", server.port, cookies=dict(client.cookies), csrf=client.csrf
        )
        copies.append(copy)
    statuses: list[int] = []
    barrier = threading.Barrier(len(copies))

    def post(number: int) -> None:
        barrier.wait()
        statuses.append(copies[number].answer(token, kind)[0])

    assert _parallel(len(copies), post) == []
    assert statuses == [303] * len(copies)
    assert client.answer(token, kind)[0] == 303  # and once more, later
    assert _reviews(server_env["PITSTOP_DATABASE_URL"]) == {token}
    for each in [client, *copies]:
        each.close()


@pytest.mark.slow
def test_a_killed_server_keeps_every_acknowledged_answer(
    servers: list[Server], server_env: dict[str, str]
) -> None:
    server = Server(server_env, workers=2).start()
    servers.append(server)
    run = uuid.uuid4().hex[:6]
    clients = [_student(server.port, number, run) for number in range(4)]
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def work(number: int) -> None:
        client = clients[number]
        while not stop.is_set():
            try:
                step = client.step()
            except (OSError, RuntimeError):
                return  # the server died under us
            if step.status == 303:
                with lock:
                    acknowledged.append(step.token)

    threads = [threading.Thread(target=work, args=(number,)) for number in range(len(clients))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # mid-load: requests are in flight
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    for client in clients:
        client.close()
    assert len(acknowledged) >= 40
    url = server_env["PITSTOP_DATABASE_URL"]
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        check = sqlite3.connect(path)
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        check.close()
    restarted = Server(server_env).start()
    servers.append(restarted)
    stored = _reviews(url)
    assert set(acknowledged) <= stored, "an acknowledged answer was lost"
    assert len(stored) - len(acknowledged) <= len(clients), "only answers in flight may be extra"
    _every_card_replays(url)
    # The restarted server carries on serving the same students.
    fresh = StudentClient("127.0.0.1", restarted.port)
    fresh.log_in(f"s0-{run}@example.com", PASSWORD)
    assert fresh.step().status == 303
    fresh.close()


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.slow
def test_two_app_servers_share_one_postgresql(
    servers: list[Server], server_env: dict[str, str], tmp_path: Path
) -> None:
    if not server_env["PITSTOP_DATABASE_URL"].startswith("postgresql"):
        pytest.skip("several app servers need a shared database server (PostgreSQL)")
    if not _redis_up():
        if os.environ.get("PITSTOP_REQUIRE_REDIS"):
            raise AssertionError("Redis is not running on 127.0.0.1:6379")
        pytest.skip("no Redis on 127.0.0.1:6379")
    env = {
        **server_env,
        "PITSTOP_RATELIMIT_STORAGE": "redis://127.0.0.1:6379/0",
    }
    import redis

    connection = redis.Redis(host="127.0.0.1", port=6379)
    for key in connection.scan_iter("LIMITS*auth.*"):  # counters left by earlier runs
        connection.delete(key)
    first = Server({**env, "PITSTOP_INSTANCE_DIR": str(tmp_path / "one")}).start()
    second = Server({**env, "PITSTOP_INSTANCE_DIR": str(tmp_path / "two")}).start()
    servers.extend([first, second])
    run = uuid.uuid4().hex[:6]
    students, answers = 4, 10
    acknowledged: list[str] = []
    lock = threading.Lock()

    def work(number: int) -> None:
        on_first = _student(first.port, number, run)
        # The same session, on the other server.
        on_second = StudentClient(
            "127.0.0.1", second.port, cookies=on_first.cookies, csrf=on_first.csrf
        )
        for turn in range(answers):
            fetcher, poster = (on_first, on_second) if turn % 2 else (on_second, on_first)
            token, kind, _ = fetcher.fetch()
            status, _ = poster.answer(token, kind)
            assert status == 303
            with lock:
                acknowledged.append(token)
        on_first.close()
        on_second.close()

    failures = _parallel(students, work)
    assert failures == [], first.errors() + second.errors()
    stored = _reviews(server_env["PITSTOP_DATABASE_URL"])
    assert len(stored) == len(acknowledged) == students * answers
    _every_card_replays(server_env["PITSTOP_DATABASE_URL"])

    # Log-in attempts are counted across both servers.
    for key in connection.scan_iter("LIMITS*auth.login*"):
        connection.delete(key)
    statuses = []
    for attempt in range(11):
        client = StudentClient("127.0.0.1", (first if attempt % 2 else second).port)
        client.request("GET", "/login")
        status, _, _ = client.request(
            "POST",
            "/login",
            {"csrf_token": client.csrf, "email": "x@example.com", "password": "wrong-password"},
        )
        statuses.append(status)
        client.close()
    assert statuses[:10] == [400] * 10 and statuses[10] == 429
