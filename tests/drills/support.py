"""What the fault drills share: a `clinic serve` process, databases to run it on, a
private PostgreSQL that a drill may stop and start, and the callers' credentials.

The drills drive a real server process over real sockets: what they test is the
process a deployment runs, not the app object inside the test's event loop.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import psycopg
from psycopg import sql

from clinic import db, migrate
from clinic.catalog import service as catalog
from clinic.users import initdata
from clinic.users.models import TelegramUser

ROOT = Path(__file__).resolve().parents[2]
BOT_TOKEN = "424242:DRILL-token-for-the-clinic-fault-drills"
MACHINE_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVER_START_TIMEOUT = 30.0
SERVER_STOP_TIMEOUT = 20.0


def auth_header(user_id: int, first_name: str = "Дрилл") -> dict[str, str]:
    """Authorization of a MiniApp user, signed with the server's bot token."""
    person = TelegramUser(id=user_id, first_name=first_name, language_code="ru")
    return {"Authorization": f"tma {initdata.sign(person, bot_token=BOT_TOKEN)}"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def with_database(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


async def migrate_and_seed(dsn: str) -> None:
    await asyncio.to_thread(migrate.apply, dsn)
    pool = await db.create_pool(dsn, min_size=1, max_size=1)
    try:
        await catalog.seed(pool, catalog.read_demo_catalog())
    finally:
        await pool.close()


@contextmanager
def scratch_database(admin_dsn: str, name: str) -> Iterator[str]:
    """An empty database on the server of admin_dsn, dropped (forcibly) afterwards."""
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(admin_dsn, name)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(drop)


# --- a private PostgreSQL the drill may stop and start ------------------------------------


@dataclass
class PrivatePostgres:
    """pgserver's PostgreSQL in a scratch folder; stop() and start() as pgserver runs it
    (pg_ctl as the system user "pgserver" when we are root, on the same socket folder)."""

    pgdata: Path
    socket_dir: Path
    system_user: str | None
    dsn: str

    def _pg_ctl(self, args: list[str]) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(args, pgdata=self.pgdata, user=self.system_user, timeout=60)

    def stop(self) -> None:
        """A fast shutdown: sessions are terminated, open transactions rolled back."""
        self._pg_ctl(["-w", "-m", "fast", "stop"])

    def start(self) -> None:
        self._pg_ctl(
            [
                "-w",
                "-o",
                '-h ""',
                "-o",
                f"-k {self.socket_dir}",
                "-l",
                str(self.pgdata / "log"),
                "start",
            ]
        )


@contextmanager
def private_postgres(scratch: Path, database: str = "clinic") -> Iterator[PrivatePostgres]:
    from clinic.embedded import embedded_postgres

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs on XDG_RUNTIME_DIR, as in clinic.embedded
        from pgserver.utils import PostmasterInfo

    with embedded_postgres(scratch, database=database) as dsn:
        pgdata = (scratch / "pg").resolve()
        info = PostmasterInfo.read_from_pgdata(pgdata)
        assert info is not None and info.socket_dir is not None, "pgserver is not on a socket"
        user = "pgserver" if os.name == "posix" and os.geteuid() == 0 else None
        server = PrivatePostgres(pgdata, info.socket_dir, user, dsn)
        try:
            yield server
        finally:
            # pgserver stops only the postmaster it started; after a drill's restart
            # that one is gone, so stop whichever is running here ourselves.
            now = PostmasterInfo.read_from_pgdata(pgdata)
            if now is not None and now.is_running():
                server.stop()


# --- the server process -------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log_tail(self, lines: int = 30, width: int = 800) -> str:
        """The last lines of the server's log other than its access log, cut to width."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        kept = [line[:width] for line in text.splitlines() if '"clinic.request"' not in line]
        return "\n".join([f"({self.log_path})", *kept[-lines:]])


def server_env(database_url: str, port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # Nothing of the caller's configuration leaks into the server under test.
        if key.upper()
        not in {
            "DATABASE_URL",
            "BOT_TOKEN",
            "PUBLIC_URL",
            "TELEGRAM_API_URL",
            "WEBHOOK_SECRET",
            "MINIAPP_URL",
            "ADMIN_IDS",
            "HOST",
            "PORT",
        }
    }
    env.update(
        DATABASE_URL=database_url,
        BOT_TOKEN=BOT_TOKEN,
        PUBLIC_URL="https://clinic.test",
        TELEGRAM_API_URL="http://127.0.0.1:9",
        HOST="127.0.0.1",
        PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    return env


def serve_command() -> list[str]:
    command = [sys.executable, "-m", "clinic", "serve"]
    shown = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, cwd=ROOT, timeout=30, check=True
    )
    if "--no-worker" in shown.stdout:
        command.append("--no-worker")
    return command


def spawn_server(database_url: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            serve_command(),
            cwd=ROOT,
            env=server_env(database_url, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@asynccontextmanager
async def clinic_server(database_url: str, log_path: Path) -> AsyncIterator[Server]:
    """`clinic serve` on a free loopback port, up when /healthz answers; SIGTERM after."""
    port = free_port()
    process = await asyncio.to_thread(spawn_server, database_url, port, log_path)
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    try:
        await wait_until_serving(server)
        yield server
    finally:
        await stop_process(process)


async def wait_until_serving(server: Server) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    timeout = aiohttp.ClientTimeout(total=2)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"clinic serve exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            try:
                async with session.get(f"{server.base_url}/healthz") as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"clinic serve did not come up:\n{server.log_tail()}")
            await asyncio.sleep(0.2)


async def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile; 0.0 of nothing."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]
