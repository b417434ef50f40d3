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
