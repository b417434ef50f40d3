"""What the benchmarks share: databases, the server and fake Bot API processes, load loops,
percentiles and the report.

Everything that starts something is a context manager that stops or drops it on the
way out, so a failure, Ctrl-C or SIGTERM (turned into KeyboardInterrupt by
`unwind_on_signals`) leaves no process or database behind. Child processes run in a
session of their own: a Ctrl-C in the terminal reaches only the benchmark, which then
stops them in order (server first, then the fake Bot API, then the databases).

The PostgreSQL server: BENCH_DATABASE_URL or TEST_DATABASE_URL (an admin DSN, allowed to
CREATE DATABASE), else an embedded one (pgserver) in a temporary directory.

The server under test is `python -m clinic serve` (with `--workers N` when asked for and
this version has the flag) configured only through its environment: every variable
Settings knows is removed from the inherited environment and the benchmark's values are
set, and it runs in a scratch directory so no .env is read.
Values the caller exported (DB_POOL_MAX, CLINIC_TZ, ...) are passed down unchanged, so
the benchmark's own Settings object is the server's. Its output (JSON log lines) is
kept as bench/results/<benchmark>-server.log; `log_problems` counts the warnings and
errors in it and the exceptions their tracebacks end with. Its memory and CPU time are
those of its process tree: with --workers, the supervisor and the workers it forked.

The fake Bot API is tests/fakes/bot_api.py's FakeBotApi, served by this module
(`python -m bench.common fake-bot-api --token T`) with two read-only pages on top of
the fake's own /_fake/*: GET /_bench/progress (answerCallbackQuery calls so far and
the arrival time of the last one) and GET /_bench/answers (per callback_query_id, how
many answerCallbackQuery calls arrived; statuses by method). Arrival times are the
fake's time.monotonic(): CLOCK_MONOTONIC, one clock for every process on a Linux host.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
# A token of the right shape (bot id, colon, secret); initData is signed with it.
BOT_TOKEN = "424242424:AAbenchTokenForTheClinicBenchmarks_0123"
PUBLIC_URL = "https://bench.invalid"

T = TypeVar("T")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def unwind_on_signals() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt, so every `finally` cleans up (SIGINT
    too: a shell starts background jobs with it ignored)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)


# --- PostgreSQL -------------------------------------------------------------------


def with_database(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


@contextlib.contextmanager
def admin_dsn(scratch: Path) -> Iterator[tuple[str, str]]:
    """(an admin DSN, where it came from): the environment's, else an embedded server."""
    for variable in ("BENCH_DATABASE_URL", "TEST_DATABASE_URL"):
        given = os.environ.get(variable)
        if given:
            yield given, variable
            return
    from clinic.embedded import embedded_postgres

    log("no BENCH_DATABASE_URL/TEST_DATABASE_URL: starting an embedded PostgreSQL")
    with embedded_postgres(scratch / "embedded", database="postgres") as dsn:
        yield dsn, "embedded"


def _admin_execute(admin: str, statement: Any) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(statement)


def drop_database(admin: str, name: str) -> None:
    from psycopg import sql

    _admin_execute(
        admin, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    )


@contextlib.contextmanager
def bench_database(admin: str, name: str) -> Iterator[str]:
    """A new database, migrated and holding the demo catalog; dropped on the way out."""
    from psycopg import sql

    from clinic import migrate
    from clinic.catalog.service import seed_demo_catalog

    drop_database(admin, name)
    _admin_execute(admin, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        dsn = with_database(admin, name)
        migrate.apply(dsn)
        asyncio.run(seed_demo_catalog(dsn))
        yield dsn
    finally:
        try:
            drop_database(admin, name)
        except Exception as exc:  # do not hide the error that brought us here
            log(f"warning: could not drop database {name}: {exc}")


# --- processes --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop_process(process: subprocess.Popen[Any], name: str, *, timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"warning: {name} (pid {process.pid}) ignored SIGTERM for {timeout:g} s: killed")
        # Its session too (started with start_new_session): what it forked goes with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.kill()
        process.wait(timeout=timeout)


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in MB."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = round(int(value.split()[0]) / 1024, 1)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants now (parents before children), read from /proc."""
    children: defaultdict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        children[int(fields[1])].append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        tree.append(current)
        todo.extend(sorted(children.get(current, [])))
    return tree


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its live descendants (a forked worker's time is not in
    its parent's until the parent reaps it)."""
    total = 0.0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            total += cpu_seconds(member)
    return total


# The line a traceback ends with, e.g. "asyncpg.exceptions.DeadlockDetectedError: ...".
_RAISED = re.compile(r"^(?:[\w]+\.)*([A-Z]\w*(?:Error|Exception|Timeout|Exit))\b")


def log_problems(path: Path) -> dict[str, Any]:
    """Warnings and errors in a server log (JSON lines): counts by level, and the
    exceptions their tracebacks end with."""
    levels: Counter[str] = Counter()
    exceptions: Counter[str] = Counter()
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        level = str(entry.get("level", "")).lower() if isinstance(entry, dict) else ""
        if level not in ("warning", "error", "critical"):
            continue
        levels[level] += 1
        trace = str(entry.get("exception") or "")
        raised = [m[1] for m in map(_RAISED.match, trace.splitlines()) if m]
        if raised:
            exceptions[raised[-1]] += 1
    return {"levels": dict(levels), "exceptions": dict(exceptions.most_common(10))}


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class FakeBotApi:
    """A handle on the fake Bot API process."""

    url: str
    process: subprocess.Popen[Any]
    token: str

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=60) as answer:
            return json.load(answer)

    def method_url(self, method: str) -> str:
        return f"{self.url}/bot{self.token}/{method}"


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        raise RuntimeError(f"no output within {timeout:g} s")
    return process.stdout.readline().strip()


@contextlib.contextmanager
def fake_bot_api(token: str, scratch: Path) -> Iterator[FakeBotApi]:
    logfile = scratch / "fake-bot-api.log"
    with logfile.open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.common", "fake-bot-api", "--token", token],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            start_new_session=True,
        )
    try:
        url = _read_line(process, timeout=60)
        if not url.startswith("http://"):
            raise RuntimeError(f"the fake Bot API did not start:\n{tail(logfile)}")
        fake = FakeBotApi(url, process, token)
        fake.get("/_bench/progress")  # our pages answer (not the fake's catch-all 404)
        yield fake
    finally:
        stop_process(process, "fake Bot API")
        if process.stdout is not None:
            process.stdout.close()


def bench_settings(**values: Any) -> Any:
    """The Settings the server will run with: the environment's, overridden by `values`.
    Quiet hours are off (a benchmark runs at any hour) and the patient cap raised (a
    load client books many slots for one patient), unless `values` say otherwise."""
    from clinic.config import Settings

    defaults = {"quiet_hours": "", "max_upcoming_bookings": 100_000}
    return Settings(_env_file=None, **{**defaults, **values})


def _env_value(value: Any) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def settings_env(settings: Any) -> dict[str, str]:
    """An environment from which the server builds exactly `settings`."""
    known = {name.upper() for name in type(settings).model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in known}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if value is not None:
            env[name.upper()] = _env_value(value)
    return env


def serve_flags() -> str:
    """What `clinic serve --help` prints: the flags this version has."""
    shown = subprocess.run(
        [sys.executable, "-m", "clinic", "serve", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if shown.returncode != 0:
        raise RuntimeError(f"clinic serve --help failed:\n{shown.stderr[-2000:]}")
    return shown.stdout


def serve_command(workers: int = 1) -> tuple[list[str], list[str]]:
    """`clinic serve`, plus --no-worker when this version has a reminder worker to turn
    off, plus `--workers N` for N above 1 when it has that flag (without it: one process,
    and the caller can tell from the flags returned)."""
    shown = serve_flags()
    flags = ["--no-worker"] if "--no-worker" in shown else []
    if workers > 1 and "--workers" in shown:
        flags += ["--workers", str(workers)]
    return [sys.executable, "-m", "clinic", "serve", *flags], flags


def served_workers(flags: list[str]) -> int:
    """How many processes serve, by the flags serve_command returned."""
    return int(flags[flags.index("--workers") + 1]) if "--workers" in flags else 1


class Server:
    """`clinic serve` in a process of its own; its output is appended to `logfile`."""

    def __init__(self, settings: Any, workdir: Path, logfile: Path, *, workers: int = 1) -> None:
        self.command, self.flags = serve_command(workers)
        self.workers = served_workers(self.flags)
        self.url = f"http://{settings.host}:{settings.port}"
        self.env = settings_env(settings)
        self.workdir = workdir
        self.logfile = logfile
        self.process: subprocess.Popen[Any] | None = None
        self.restarts = 0

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 90.0) -> None:
        """Starts the process and waits until /healthz answers and, with several workers,
        until each has said it is serving: a connection made before a worker listens
        goes to one that does, and a load client's keep-alive connections stay there."""
        logged = self.logfile.stat().st_size if self.logfile.exists() else 0
        with self.logfile.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.workdir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not _healthy(self.url):
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"no /healthz within {timeout:g} s:\n{tail(self.logfile)}")
            time.sleep(0.1)
        while self.workers > 1 and self._serving(since=logged) < self.workers:
            self.check_alive()
            if time.monotonic() > deadline:
                log(f"warning: {self._serving(since=logged)} of {self.workers} workers serving")
                break
            time.sleep(0.1)
        log(f"server pid {self.pid} on {self.url} {' '.join(self.flags)}".rstrip())

    def _serving(self, *, since: int) -> int:
        """How many processes logged "serving on" after byte `since` of the log."""
        with self.logfile.open("rb") as text:
            text.seek(since)
            return text.read().count(b"serving on http")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, "server")

    def restart(self) -> None:
        """A fresh process on the same port and database: PostgreSQL rolls back whatever
        the old one left waiting when its connections close."""
        self.stop()
        self.restarts += 1
        self.start()

    def log_problems(self) -> dict[str, Any]:
        return log_problems(self.logfile)

    def memory_mb(self) -> dict[str, float]:
        return memory_mb(self.pid)

    def tree_memory_mb(self) -> dict[str, Any]:
        """VmRSS and VmHWM summed over the process tree (one process: its own), and per
        process. A sum of peaks is an upper bound of the peak together."""
        each = {}
        for member in process_tree(self.pid):
            with contextlib.suppress(OSError):
                each[str(member)] = memory_mb(member)
        return {
            "VmRSS": round(sum(m.get("VmRSS", 0.0) for m in each.values()), 1),
            "VmHWM": round(sum(m.get("VmHWM", 0.0) for m in each.values()), 1),
            "processes": len(each),
            "per_process": each,
        }

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid)

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise RuntimeError(f"the server exited with {code}:\n{tail(self.logfile)}")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running_server(
    settings: Any, scratch: Path, *, name: str, workers: int = 1
) -> Iterator[Server]:
    """`clinic serve` with `settings` (and `--workers N` when N > 1 and the flag exists),
    answering /healthz; stopped on the way out, its log kept as
    bench/results/<name>-server.log."""
    workdir = scratch / "server"
    workdir.mkdir(exist_ok=True)
    server = Server(settings, workdir, scratch / "server.log", workers=workers)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(server.logfile, RESULTS_DIR / f"{name}-server.log")


# --- load ---------------------------------------------------------------------------


def client_session(concurrency: int, *, timeout: float = 120) -> aiohttp.ClientSession:
    """A client whose connection pool holds exactly `concurrency` connections."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=timeout),
    )


async def open_connections(session: aiohttp.ClientSession, url: str, count: int) -> None:
    """Opens `count` keep-alive connections up front (concurrent GETs of `url`)."""

    async def one() -> None:
        async with session.get(url) as answer:
            await answer.read()

    await asyncio.gather(*(one() for _ in range(count)))


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values; nan when there are none."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Run:
    """Outcomes and latencies (seconds) of one closed-loop run."""

    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    ended: float = 0.0
    exhausted: bool = False
    client_cpu: float = 0.0  # CPU seconds this process used during the run
    server_cpu: float | None = None  # and the server process, when its pid was given

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        seconds = self.ended - self.started
        count = max(len(ordered), 1)
        server_cpu = {}
        if self.server_cpu is not None:
            server_cpu = {
                "server_cpu_ms_per_request": round(self.server_cpu * 1000 / count, 3),
                "server_cores_busy": round(self.server_cpu / seconds, 2) if seconds else None,
            }
        return {
            "requests": len(ordered),
            "seconds": round(seconds, 3),
            "rate": round(len(ordered) / seconds, 1) if seconds > 0 else math.nan,
            "p50_ms": round(percentile(ordered, 50) * 1000, 2),
            "p90_ms": round(percentile(ordered, 90) * 1000, 2),
            "p99_ms": round(percentile(ordered, 99) * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2) if ordered else math.nan,
            "outcomes": dict(sorted(self.outcomes.items())),
            "ran_out_of_work": self.exhausted,
            "client_cpu_ms_per_request": round(self.client_cpu * 1000 / count, 3),
            **server_cpu,
        }


async def closed_loop(
    call: Callable[[T], Awaitable[str]],
    work: Iterator[T],
    *,
    concurrency: int,
    duration: float,
    server_pid: int | None = None,
) -> Run:
    """`concurrency` workers, each calling `call(next item)` back to back until `duration`
    is over or the work runs out. `call` returns an outcome label (an HTTP status, "ok");
    an exception is recorded under its class name and the worker goes on. With
    `server_pid`, the CPU time that process and its children used during the run is
    recorded too."""
    run = Run()
    server_before = tree_cpu_seconds(server_pid) if server_pid else 0.0
    client_before = time.process_time()
    run.started = time.perf_counter()
    deadline = run.started + duration

    async def worker() -> None:
        while time.perf_counter() < deadline:
            try:
                item = next(work)
            except StopIteration:
                run.exhausted = True
                return
            began = time.perf_counter()
            try:
                outcome = await call(item)
            except Exception as exc:
                outcome = type(exc).__name__
            run.latencies.append(time.perf_counter() - began)
            run.outcomes[outcome] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.ended = time.perf_counter()
    run.client_cpu = time.process_time() - client_before
    if server_pid:
        run.server_cpu = tree_cpu_seconds(server_pid) - server_before
    return run


# --- the report ---------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("PASS" if ok else "SHORT")


def print_table(title: str, rows: list[tuple[str, str, str, str]]) -> None:
    header = ("figure", "value", "goal", "")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    line = "  ".join("-" * width for width in widths)
    print(f"\n{title}")
    print(line)
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if row is header:
            print(line)
    print(line, flush=True)


def machine() -> dict[str, Any]:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except OSError:
        head = ""
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "commit": head,
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


# --- the fake Bot API process -------------------------------------------------------


async def _serve_fake_bot_api(token: str, host: str, port: int) -> None:
    from aiohttp import web

    from tests.fakes.bot_api import FakeBotApi as Fake
    from tests.fakes.bot_api import serve_until_signalled

    fake = Fake(token)
    seen: dict[str, Any] = {"calls": None, "scanned": 0, "answers": 0, "last": None}

    async def progress(request: web.Request) -> web.Response:
        """answerCallbackQuery calls so far; scans only the calls that are new."""
        calls = fake.calls
        if seen["calls"] is not calls:
            seen.update(calls=calls, scanned=0, answers=0, last=None)
        for call in calls[seen["scanned"] :]:
            if call.method == "answerCallbackQuery":
                seen["answers"] += 1
                seen["last"] = call.monotonic
        seen["scanned"] = len(calls)
        body = {"calls": len(calls), "answers": seen["answers"], "last_answer": seen["last"]}
        return web.json_response(body)

    async def answers(request: web.Request) -> web.Response:
        per_id: Counter[str] = Counter()
        statuses: defaultdict[str, Counter[str]] = defaultdict(Counter)
        first = last = None
        for call in fake.calls:
            statuses[call.method][str(call.status)] += 1
            if call.method == "answerCallbackQuery":
                per_id[str(call.params.get("callback_query_id"))] += 1
                first = call.monotonic if first is None else min(first, call.monotonic)
                last = call.monotonic if last is None else max(last, call.monotonic)
        body = {
            "answers": per_id,
            "statuses": statuses,
            "first_answer": first,
            "last_answer": last,
        }
        return web.json_response(body)

    # More specific than the fake's catch-all, so aiohttp's router picks these.
    fake.app.router.add_get("/_bench/progress", progress)
    fake.app.router.add_get("/_bench/answers", answers)
    await serve_until_signalled(fake, host, port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.common")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("fake-bot-api", help="serve the fake Bot API with the /_bench pages")
    serve.add_argument("--token", default=BOT_TOKEN)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(_serve_fake_bot_api(args.token, args.host, args.port))


if __name__ == "__main__":
    main()
