"""Load on a real server: 50 students studying at once through `pitstop serve` (gunicorn).

Each simulated student signs up, chooses tests (not timed), then loops for the run's duration:
GET /study (the planner picks an item, the attempt is written) and POST /study/answer (the
review and card state are written in one transaction). One answer = those two requests.
Beside it, the same number of clients hammer a trivial route (/healthz) on the same server,
so the ratio shows what Pitstop's own work costs. SQLite (a file) always; PostgreSQL with
``--postgres URL``. The load generator runs on the same 2-core machine as the server.

Run: ``.venv/bin/python bench/http_load.py [--postgres postgresql://postgres@127.0.0.1:5432/postgres]``
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import percentile, throwaway_postgres  # noqa: E402
from bench.student_client import StudentClient  # noqa: E402

PITSTOP = Path(sys.executable).parent / "pitstop"
PASSWORD = "load-test-password"


@dataclass
class Results:
    answers: int = 0
    requests: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)  # every request
    loop_ms: list[float] = field(default_factory=list)  # GET + POST of one answer
    lock: threading.Lock = field(default_factory=threading.Lock)
    cpu_ms_per_answer: dict[str, float] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    env: dict[str, str], workers: int, threads: int
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(PITSTOP),
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process, port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("pitstop serve did not start") from None
            time.sleep(0.2)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=60)


def init_database(env: dict[str, str]) -> None:
    subprocess.run(
        [str(PITSTOP), "init"], env={**os.environ, **env}, check=True, capture_output=True
    )


def prepare_students(port: int, count: int, run: str) -> list[StudentClient]:
    students = []
    for number in range(count):
        client = StudentClient("127.0.0.1", port)
        client.sign_up(f"Load {number}", f"load{number}-{run}@example.com", PASSWORD)
        client.plan({"A6": "", "A8": "", "A1": ""})
        students.append(client)
    return students


def study_load(students: list[StudentClient], seconds: float) -> Results:
    results = Results()
    stop_at = time.monotonic() + seconds
    choices = "ABCD"

    def run(client: StudentClient, number: int) -> None:
        turn = 0
        while time.monotonic() < stop_at:
            turn += 1
            try:
                step = client.step(choice=choices[(number + turn) % 4], rating=str(1 + turn % 4))
            except (ConnectionError, RuntimeError):
                with results.lock:
                    results.errors += 1
                continue
            with results.lock:
                results.requests += 2
                results.latencies_ms += [step.get_ms, step.post_ms]
                results.loop_ms.append(step.get_ms + step.post_ms)
                if step.status == 303:
                    results.answers += 1
                else:
                    results.errors += 1

    threads = [threading.Thread(target=run, args=(client, n)) for n, client in enumerate(students)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def trivial_load(port: int, clients: int, seconds: float) -> Results:
    results = Results()
    stop_at = time.monotonic() + seconds

    def run() -> None:
        client = StudentClient("127.0.0.1", port)
        while time.monotonic() < stop_at:
            began = time.perf_counter()
            try:
                status, _, _ = client.request("GET", "/healthz")
            except ConnectionError:
                with results.lock:
                    results.errors += 1
                continue
            elapsed = (time.perf_counter() - began) * 1000
            with results.lock:
                results.requests += 1
                results.latencies_ms.append(elapsed)
                if status != 200:
                    results.errors += 1
        client.close()

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def cpu_seconds(server_group: int) -> dict[str, float]:
    """CPU time (user + system) used so far by the app server (its process group), by the
    PostgreSQL server's processes and by this load generator."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {"app server": 0.0, "PostgreSQL": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / tick
        if int(fields[2]) == server_group:
            used["app server"] += cpu
        elif name.startswith("postgres"):
            used["PostgreSQL"] += cpu
    times = os.times()
    used["load generator"] = times.user + times.system
    return used


def run_database(
    label: str, env: dict[str, str], args: argparse.Namespace
) -> list[tuple[str, str, Results, float]]:
    init_database(env)
    process, port = start_server(env, args.workers, args.threads)
    try:
        run = uuid.uuid4().hex[:6]
        students = prepare_students(port, args.students, run)
        study_load(students, 5)  # warm-up: first pages, caches, session snapshots
        before = cpu_seconds(process.pid)
        results = study_load(students, args.seconds)
        after = cpu_seconds(process.pid)
        results.cpu_ms_per_answer = {
            name: (after[name] - before[name]) * 1000 / max(results.answers, 1) for name in after
        }
        for client in students:
            client.close()
        trivial = trivial_load(port, args.students, min(args.seconds, 20))
    finally:
        stop_server(process)
    return [
        (label, "study loop (GET /study + POST answer)", results, args.seconds),
        (label, "trivial route (GET /healthz)", trivial, min(args.seconds, 20)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to add a run on")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()

    rows: list[tuple[str, str, Results, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        base_env = {
            "PITSTOP_INSTANCE_DIR": folder,
            "PITSTOP_SECRET_KEY": "load-test",
            "PITSTOP_CONTENT_DIR": str(ROOT / "content"),
            "PITSTOP_LOGIN_RATE_LIMIT": "100000 per minute",
        }
        if not args.skip_sqlite:
            sqlite_env = {**base_env, "PITSTOP_DATABASE_URL": f"sqlite:///{folder}/load.db"}
            rows += run_database("SQLite", sqlite_env, args)
        if args.postgres:
            with throwaway_postgres(args.postgres, "pitstop_load") as url:
                rows += run_database("PostgreSQL", {**base_env, "PITSTOP_DATABASE_URL": url}, args)

    print(
        f"# HTTP load: {args.students} concurrent students, {args.seconds:.0f} s per run, "
        f"gunicorn {args.workers} workers × {args.threads} threads, load generator on the same "
        f"{os.cpu_count()}-core machine"
    )
    print()
    print("| database | load | answers/s | requests/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for database, load, results, seconds in rows:
        answers = f"{results.answers / seconds:.0f}" if results.loop_ms else "–"
        print(
            f"| {database} | {load} | {answers} | {results.requests / seconds:.0f} | "
            f"{percentile(results.latencies_ms, 0.50):.1f} | "
            f"{percentile(results.latencies_ms, 0.95):.1f} | "
            f"{percentile(results.latencies_ms, 0.99):.1f} | {results.errors} |"
        )
    print()
    for database, _load, results, _seconds in rows:
        if results.loop_ms:
            median = statistics.median(results.loop_ms)
            print(
                f"{database}: one answer (GET + POST) took median {median:.1f} ms, "
                f"p99 {percentile(results.loop_ms, 0.99):.1f} ms; CPU per answer: "
                + ", ".join(
                    f"{name} {ms:.1f} ms" for name, ms in results.cpu_ms_per_answer.items() if ms
                )
            )
    print("targets: ≥ 200 answers/s, p99 < 150 ms per request, 0 errors, on both databases")


if __name__ == "__main__":
    main()
