"""`clinic` failing to start, run as a process: one JSON log line on stderr saying what and
how to fix it, exit code 2, no traceback. And a start that works says little."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BOT_TOKEN
from tests.fakes.bot_api import FakeBotApi
from tests.pg import Databases

ROOT = Path(__file__).resolve().parent.parent
# The caller's configuration must not reach the process under test.
SETTINGS = {
    "DATABASE_URL",
    "DATABASE_DIRECT_URL",
    "DATABASE_STATEMENT_CACHE",
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "PUBLIC_URL",
    "WEBHOOK_SECRET",
    "MINIAPP_URL",
    "ADMIN_IDS",
    "CLINIC_TZ",
    "HOST",
    "PORT",
    "DATA_DIR",
    "LOG_LEVEL",
}


def clinic_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS}
    env.update(PYTHONUNBUFFERED="1", **values)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_clinic(
    *args: str, cwd: Path, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clinic", *args],
        cwd=cwd,  # a folder with no .env in it
        env=clinic_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def the_one_line(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The single log line of a failed start, parsed."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    entry: dict[str, Any] = json.loads(lines[0])
    assert entry["level"] == "error", entry
    return entry


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"PORT": "eighty"}, "PORT='eighty'"),
        ({"PORT": "70000"}, "PORT='70000'"),
        ({"CLINIC_TZ": "Mars/Olympus"}, "CLINIC_TZ='Mars/Olympus'"),
        ({"ADMIN_IDS": "[12345, oops]"}, "ADMIN_IDS: not valid JSON"),
        ({"ADMIN_IDS": "12345"}, "ADMIN_IDS='12345'"),
        ({"INIT_DATA_MAX_AGE": "-1"}, "INIT_DATA_MAX_AGE='-1'"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='loud'"),
        ({"DATABASE_STATEMENT_CACHE": "-5"}, "DATABASE_STATEMENT_CACHE='-5'"),
        ({"DATABASE_URL": "mysql://clinic:hunter2-secret@db/clinic"}, "DATABASE_URL: "),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    entry = the_one_line(run_clinic("serve", cwd=tmp_path, **env))
    assert entry["message"].startswith("bad setting "), entry
    assert says in entry["message"], entry
    assert "README, Configuration" in entry["message"]
    assert "hunter2-secret" not in entry["message"]


@pytest.mark.parametrize("command", ["migrate", "seed", "worker"])
def test_a_dot_env_with_a_bad_setting_is_one_line_too(tmp_path: Path, command: str) -> None:
    (tmp_path / ".env").write_text("TELEGRAM_RATE_LIMIT=fast\n")
    entry = the_one_line(run_clinic(command, cwd=tmp_path))
    assert "TELEGRAM_RATE_LIMIT='fast'" in entry["message"], entry


@pytest.mark.parametrize("command", ["serve", "worker", "migrate", "seed"])
def test_an_unreachable_database_is_one_line_with_no_password(tmp_path: Path, command: str) -> None:
    closed = free_port()  # nothing listens there
    dsn = f"postgresql://clinic:hunter2-secret@127.0.0.1:{closed}/clinic"
    entry = the_one_line(run_clinic(command, cwd=tmp_path, DATABASE_URL=dsn))
    message = entry["message"]
    assert message.startswith(f"cannot connect to PostgreSQL at 127.0.0.1:{closed}/clinic"), entry
    assert "DATABASE_URL" in message and "hunter2" not in message, entry


def test_through_a_direct_url_the_line_names_both_settings(tmp_path: Path) -> None:
    closed = free_port()
    entry = the_one_line(
        run_clinic(
            "migrate",
            cwd=tmp_path,
            DATABASE_URL=f"postgresql://clinic@127.0.0.1:{free_port()}/clinic",
            DATABASE_DIRECT_URL=f"postgresql://clinic@127.0.0.1:{closed}/clinic",
        )
    )
    # Migrations go straight to PostgreSQL: the direct URL is the one tried.
    assert f"127.0.0.1:{closed}/clinic" in entry["message"], entry
    assert "DATABASE_URL and DATABASE_DIRECT_URL" in entry["message"], entry


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_an_unmigrated_database_is_one_line(
    tmp_path: Path, databases: Databases, command: str
) -> None:
    with databases.fresh(template=None) as dsn:
        entry = the_one_line(run_clinic(command, cwd=tmp_path, DATABASE_URL=dsn))
    assert "not migrated" in entry["message"] and "clinic migrate" in entry["message"], entry


async def test_a_busy_port_is_one_line_and_nothing_starts(tmp_path: Path, dsn: str) -> None:
    """The second `make run`: the port is taken. Nothing of the app starts: no "serving
    on", no setWebhook, no "Бот запущен!" to the admins."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with FakeBotApi(BOT_TOKEN) as fake:
            done = await asyncio.to_thread(
                run_clinic,
                "serve",
                cwd=tmp_path,
                DATABASE_URL=dsn,
                PORT=str(port),
                BOT_TOKEN=BOT_TOKEN,
                TELEGRAM_API_URL=fake.url,
                PUBLIC_URL="https://clinic.test",
                ADMIN_IDS="[42]",
            )
            entry = the_one_line(done)
            assert fake.calls == [], [c.method for c in fake.calls]
    assert entry["message"].startswith(f"cannot listen on 127.0.0.1:{port}: the port is in use")
    assert "PORT" in entry["message"]


def test_a_host_that_is_not_here_is_one_line(tmp_path: Path, dsn: str) -> None:
    entry = the_one_line(
        run_clinic("serve", cwd=tmp_path, DATABASE_URL=dsn, HOST="192.0.2.1", PORT="8000")
    )
    assert "HOST is not an address of this machine" in entry["message"], entry


def read_until(process: subprocess.Popen[str], marker: str, seconds: float) -> list[str]:
    """stderr lines up to and including the first holding `marker`."""
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"no {marker!r} in {lines}")


def test_a_start_says_a_few_lines_at_the_default_level(tmp_path: Path, dsn: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "clinic", "serve"],
        cwd=tmp_path,
        env=clinic_env(DATABASE_URL=dsn, PORT=str(free_port())),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = read_until(process, "serving on", 30)
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert len(lines) <= 3, lines
    assert all(json.loads(line)["level"] == "info" for line in lines), lines


def test_through_pgbouncer_asyncpg_keeps_no_statement_cache() -> None:
    """A DATABASE_DIRECT_URL says DATABASE_URL is a transaction pooler: cache 0 unless
    DATABASE_STATEMENT_CACHE says otherwise; straight to PostgreSQL asyncpg's 100."""
    from pydantic import SecretStr

    from clinic.config import Settings

    def settings(**values: Any) -> Settings:
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    direct = SecretStr("postgresql://clinic@127.0.0.1:5432/clinic")
    pooled = SecretStr("postgresql://clinic@127.0.0.1:6432/clinic")
    assert settings(database_url=direct).statement_cache_size() == 100
    through = settings(database_url=pooled, database_direct_url=direct)
    assert through.statement_cache_size() == 0
    assert through.dsn() == pooled.get_secret_value()
    assert through.direct_dsn() == direct.get_secret_value()
    chosen = settings(database_url=pooled, database_direct_url=direct, database_statement_cache=50)
    assert chosen.statement_cache_size() == 50


# --- clinic serve --workers N ----------------------------------------------------------


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def request_ids(port: int, count: int) -> set[str]:
    """The process prefixes of the request ids `count` new connections were answered with."""
    prefixes = set()
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        head = answer.decode().split("\r\n\r\n")[0]
        assert head.startswith("HTTP/1.1 200"), head
        [rid] = [line for line in head.split("\r\n") if line.lower().startswith("x-request-id")]
        prefixes.add(rid.split(":", 1)[1].strip().partition("-")[0])
    return prefixes


def start_workers(tmp_path: Path, dsn: str, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "clinic", "serve", "--workers", "2"],
        cwd=tmp_path,
        env=clinic_env(
            DATABASE_URL=dsn,
            PORT=str(port),
            BOT_TOKEN=BOT_TOKEN,
            PUBLIC_URL="https://clinic.test",
            TELEGRAM_API_URL="http://127.0.0.1:9",  # closed: the bot's setup only warns
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_workers_share_one_port_and_stop_together(tmp_path: Path, dsn: str) -> None:
    port = free_port()
    process = start_workers(tmp_path, dsn, port)
    try:
        lines = read_until(process, "serving on", 30)
        lines += read_until(process, "serving on", 30)
        serving = [json.loads(line)["message"] for line in lines if "serving on" in line]
        assert sorted(m.rsplit(", ", 1)[1] for m in serving) == ["worker 1 of 2", "worker 2 of 2"]
        workers = children_of(process.pid)
        assert len(workers) == 2
        # Each new connection goes to one of them: both answer, each with its own ids.
        assert len(request_ids(port, 40)) == 2
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)


def test_when_a_worker_dies_the_others_stop_and_the_exit_says_so(tmp_path: Path, dsn: str) -> None:
    process = start_workers(tmp_path, dsn, free_port())
    try:
        read_until(process, "serving on", 30)
        read_until(process, "serving on", 30)
        first, second = children_of(process.pid)
        os.kill(first, 9)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode != 0
    assert "ended with code -9; stopping the others" in stderr
    assert not Path(f"/proc/{second}").exists()


def test_more_than_one_worker_needs_a_webhook(tmp_path: Path, dsn: str) -> None:
    done = run_clinic("serve", "--workers", "2", cwd=tmp_path, DATABASE_URL=dsn)
    entry = the_one_line(done)
    assert done.returncode == 2
    assert "--workers above 1 needs bot mode with PUBLIC_URL" in entry["message"]
    bad = run_clinic("serve", "--workers", "0", cwd=tmp_path, DATABASE_URL=dsn)
    assert bad.returncode == 2 and "not a number of workers from 1 to 64" in bad.stderr
