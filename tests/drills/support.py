"""What the fault drills share: a `clinic serve` process, databases to run it on, a
private PostgreSQL that a drill may stop and start, and the callers' credentials.

The drills drive a real server process over real sockets: what they test is the
process a deployment runs, not the app object inside the test's event loop.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import psycopg
from psycopg import sql

from clinic import migrate, texts
from clinic.catalog import service as catalog
from clinic.reminders import service as reminders
from clinic.telegram.models import TelegramUser
from clinic.web import initdata

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
    await catalog.seed_demo_catalog(dsn)


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
            # Whichever postmaster runs here now (a drill may have restarted it) stops at
            # once, before the folder is removed; clinic.embedded then finds none.
            now = PostmasterInfo.read_from_pgdata(pgdata)
            if now is not None and now.is_running():
                server.stop()


# --- PgBouncer in front of a PostgreSQL ----------------------------------------------------

PGBOUNCER = shutil.which("pgbouncer") or next(
    (str(p) for p in (Path("/usr/sbin/pgbouncer"),) if p.is_file()), None
)
# What the deployment files set too (deploy/pgbouncer/pgbouncer.ini): transaction pooling,
# a quick retry of a server that refused a login, and no client left waiting for a
# server connection longer than the app's own patience.
PGBOUNCER_SETTINGS = {
    "pool_mode": "transaction",
    "server_login_retry": "1",
    "query_wait_timeout": "5",
    "ignore_startup_parameters": "extra_float_digits",
}


@dataclass
class PgBouncer:
    """A pgbouncer process on a loopback port; admin console as user postgres."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def dsn(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def show(self, what: str) -> list[dict[str, str]]:
        """SHOW <what> on the admin console (simple query protocol only: through psql)."""
        done = subprocess.run(
            ["psql", "-X", "--csv", "-c", f"SHOW {what}", self.dsn("pgbouncer")],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        header, *rows = done.stdout.splitlines()
        names = header.split(",")
        return [dict(zip(names, row.split(","), strict=False)) for row in rows]


@contextmanager
def pgbouncer(
    upstream_host: str,
    upstream_port: int,
    log_path: Path,
    *,
    run_as: str | None = None,
    pool_size: int = 4,
) -> Iterator[PgBouncer]:
    """Debian's pgbouncer with a generated config, every database passed through to the
    server at upstream_host (a host name, or a socket folder) with trust authentication.
    `run_as`: the system user it switches to (pgbouncer refuses to run as root)."""
    assert PGBOUNCER is not None, "pgbouncer is not installed: apt-get install pgbouncer"
    folder = Path(tempfile.mkdtemp(prefix="clinic-pgbouncer-"))
    folder.chmod(0o755)  # readable by run_as
    port = free_port()
    settings = {
        "listen_addr": "127.0.0.1",
        "listen_port": str(port),
        "unix_socket_dir": "",
        "auth_type": "trust",
        "auth_file": str(folder / "userlist.txt"),
        "admin_users": "postgres",
        "default_pool_size": str(pool_size),
        "max_client_conn": "500",
        **PGBOUNCER_SETTINGS,
    }
    config = (
        "[databases]\n"
        f"* = host={upstream_host} port={upstream_port}\n\n[pgbouncer]\n"
        + "".join(f"{key} = {value}\n" for key, value in settings.items())
    )
    (folder / "pgbouncer.ini").write_text(config)
    (folder / "userlist.txt").write_text('"postgres" ""\n')
    for path in folder.iterdir():
        path.chmod(0o644)
    command = [PGBOUNCER, *(["-u", run_as] if run_as else []), str(folder / "pgbouncer.ini")]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    bouncer = PgBouncer(process, port, log_path)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            assert process.poll() is None, f"pgbouncer exited: {log_path.read_text()}"
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            assert time.monotonic() < deadline, f"pgbouncer did not listen: {log_path.read_text()}"
            time.sleep(0.05)
        yield bouncer
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)


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
            "DATABASE_DIRECT_URL",
            "DATABASE_STATEMENT_CACHE",
            "LOG_LEVEL",
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
        # Reminders at their exact times, whatever the hour the drill runs at.
        QUIET_HOURS="",
        # Each drill client is one patient booking slot after slot: the cap of upcoming
        # bookings (tested in tests/test_patient_self_service.py) is not what is drilled.
        MAX_UPCOMING_BOOKINGS="100000",
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


# --- more processes: the fake Bot API, `clinic worker`, `clinic serve` with a worker ------
#
# `python -m tests.drills.support fake-bot-api --port P [--stall METHOD=SECONDS]
#  [--rate-429 R --rate-5xx R --seed S]` serves tests/fakes/bot_api.py's FakeBotApi with
# the drill's pages on top of its own /_fake/*:
#   GET  /_drill/calls?method=M&since=N  every call (from index N), with its arrival time
#        (time.monotonic(): CLOCK_MONOTONIC, one clock for every process of the host), the
#        HTTP status answered (None while stalled), chat_id, text and callback_query_id;
#   POST /_drill/faults {"rate_429": R, "rate_5xx": R, "seed": S}  (0, 0: no more faults).


@dataclass
class FakeProcess:
    """A handle on the fake Bot API process."""

    process: subprocess.Popen[bytes]
    url: str
    token: str
    log_path: Path

    async def calls(self, session: aiohttp.ClientSession, method: str = "") -> list[dict[str, Any]]:
        async with session.get(f"{self.url}/_drill/calls", params={"method": method}) as answer:
            assert answer.status == 200, await answer.text()
            calls: list[dict[str, Any]] = await answer.json()
            return calls

    async def stats(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.get(f"{self.url}/_fake/stats") as answer:
            assert answer.status == 200, await answer.text()
            stats: dict[str, Any] = await answer.json()
            return stats

    async def set_faults(
        self, session: aiohttp.ClientSession, rate_429: float, rate_5xx: float, seed: int = 0
    ) -> None:
        body = {"rate_429": rate_429, "rate_5xx": rate_5xx, "seed": seed}
        async with session.post(f"{self.url}/_drill/faults", json=body) as answer:
            assert answer.status == 200, await answer.text()

    async def call(self, session: aiohttp.ClientSession, method: str, **params: Any) -> Any:
        """Calls a Bot API method of the fake as the bot would (to set up messages)."""
        async with session.post(f"{self.url}/bot{self.token}/{method}", json=params) as answer:
            body = await answer.json()
            assert body.get("ok"), body
            return body["result"]


@asynccontextmanager
async def fake_bot_api_process(log_path: Path, *options: str) -> AsyncIterator[FakeProcess]:
    """The fake Bot API in a process of its own on a free loopback port; SIGTERM after."""
    port = free_port()
    command = [
        *(sys.executable, "-m", "tests.drills.support", "fake-bot-api"),
        *("--port", str(port), "--token", BOT_TOKEN, *options),
    ]
    process = await asyncio.to_thread(spawn_logged, command, None, log_path)
    fake = FakeProcess(process, f"http://127.0.0.1:{port}", BOT_TOKEN, log_path)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the fake Bot API exited: {await read_log(log_path)}")
                with suppress(aiohttp.ClientError, TimeoutError):
                    await fake.stats(session)
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no fake Bot API: {await read_log(log_path)}")
                await asyncio.sleep(0.1)
        yield fake
    finally:
        await stop_process(process)


def spawn_logged(
    command: list[str], env: dict[str, str] | None, log_path: Path
) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def read_log(log_path: Path) -> str:
    return await asyncio.to_thread(log_path.read_text, errors="replace")


def clinic_env(
    database_url: str, api_url: str, *, port: int = 0, rate_limit: float = 25
) -> dict[str, str]:
    """A `clinic serve` / `clinic worker` environment in bot mode against the fake."""
    env = server_env(database_url, port)
    env.update(
        TELEGRAM_API_URL=api_url,
        TELEGRAM_RATE_LIMIT=f"{rate_limit:g}",
        CLINIC_TZ="Europe/Moscow",
    )
    return env


@dataclass
class ClinicProcess:
    """A `clinic worker` or `clinic serve` process; base_url is set for `serve`."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    base_url: str = ""

    def log_tail(self, lines: int = 30) -> str:
        return Server(self.process, self.base_url, self.log_path).log_tail(lines)

    def kill(self) -> None:
        """SIGKILL: no handler runs, no lease is given back, no transaction finishes."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


async def start_clinic(
    name: str, args: list[str], env: dict[str, str], log_path: Path
) -> ClinicProcess:
    """`python -m clinic <args>`: serve is up when /healthz answers, a worker when its
    dispatcher listens for new reminders."""
    command = [sys.executable, "-m", "clinic", *args]
    process = await asyncio.to_thread(spawn_logged, command, env, log_path)
    started = ClinicProcess(name, process, log_path)
    try:
        if args[0] == "serve":
            started.base_url = f"http://127.0.0.1:{env['PORT']}"
            await wait_until_serving(Server(process, started.base_url, log_path))
        else:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while "listening for new reminders" not in await read_log(log_path):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start:\n{started.log_tail()}")
                await asyncio.sleep(0.1)
    except BaseException:
        await stop_process(process)
        raise
    return started


# --- due notifications, and telling which one a sent message is -------------------------

# The two kinds whose texts tell them apart (later reminders read alike but for their
# lead time): the confirmation, and the 24-hour reminder, which asks.
REMINDER_KINDS = ("confirmation", "24h")
_NUMBER = re.compile(r"Запись № (\d+)")


async def plan_due_notifications(
    conn: asyncpg.Connection, chats: list[int], kinds: tuple[str, ...] = REMINDER_KINDS
) -> dict[tuple[int, str], int]:
    """A booking ten days ahead for each chat (its patient), spread over the doctors, and
    its notifications of `kinds`, all due now; returns {(booking id, kind): notification
    id}. One transaction, with a NOTIFY that wakes the dispatchers at its commit."""
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO users (telegram_id, first_name)"
            " SELECT u, 'Пациент' FROM unnest($1::bigint[]) AS u ON CONFLICT DO NOTHING",
            chats,
        )
        bookings = await conn.fetch(
            """WITH d AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k,
                                 count(*) OVER () AS n FROM doctors)
               INSERT INTO bookings (doctor_id, user_id, starts_at, ends_at)
               SELECT d.id, c.chat, t.at, t.at + interval '30 minutes'
               FROM unnest($1::bigint[]) WITH ORDINALITY AS c (chat, i)
               JOIN d ON d.k = (c.i - 1) % d.n
               CROSS JOIN LATERAL (SELECT date_trunc('hour', now()) + interval '10 days'
                   + ((c.i - 1) / d.n) * interval '30 minutes' AS at) AS t
               RETURNING id, user_id""",
            chats,
        )
        rows = await conn.fetch(
            """INSERT INTO notifications (booking_id, chat_id, kind, due_at)
               SELECT b.booking, b.chat, k.kind, now()
               FROM unnest($1::bigint[], $2::bigint[]) AS b (booking, chat)
               CROSS JOIN unnest($3::text[]) AS k (kind)
               RETURNING id, booking_id, kind""",
            [b["id"] for b in bookings],
            [b["user_id"] for b in bookings],
            list(kinds),
        )
        await conn.execute("SELECT pg_notify($1, '')", reminders.CHANNEL)
    return {(row["booking_id"], row["kind"]): row["id"] for row in rows}


def notification_of(text: str | None, ids: dict[tuple[int, str], int]) -> int | None:
    """The notification a reminder's text is about: its booking number and its kind."""
    text = text or ""
    markers = {
        texts.RU("reminder.confirmation_header"): "confirmation",
        texts.RU("reminder.come_question"): "24h",
    }
    number = _NUMBER.search(text)
    kinds = [kind for marker, kind in markers.items() if marker in text]
    if number is None or len(kinds) != 1:
        return None
    return ids.get((int(number[1]), kinds[0]))


async def _serve_fake_bot_api(args: Any) -> None:
    import orjson
    from aiohttp import web

    from tests.fakes.bot_api import FakeBotApi, serve_until_signalled

    fake = FakeBotApi(args.token)
    for spec in args.stall:
        method, _, seconds = spec.partition("=")
        fake.stall(method, float(seconds))
    if args.rate_429 or args.rate_5xx:
        fake.random_faults(args.rate_429, args.rate_5xx, args.seed)

    async def calls(request: web.Request) -> web.Response:
        methods = {m for m in request.query.get("method", "").lower().split(",") if m}
        since = int(request.query.get("since", "0"))
        found = [
            {
                "index": index,
                "method": call.method,
                "status": call.status,
                "at": call.monotonic,
                "chat_id": call.params.get("chat_id"),
                "text": call.params.get("text"),
                "callback_query_id": call.params.get("callback_query_id"),
            }
            for index, call in enumerate(fake.calls[since:], start=since)
            if not methods or call.method.lower() in methods
        ]
        return web.Response(body=orjson.dumps(found), content_type="application/json")

    async def faults(request: web.Request) -> web.Response:
        body = await request.json()
        fake.random_faults(body["rate_429"], body["rate_5xx"], body.get("seed"))
        return web.json_response({"ok": True})

    # More specific than the fake's catch-all route, so the router picks these.
    fake.app.router.add_get("/_drill/calls", calls)
    fake.app.router.add_post("/_drill/faults", faults)
    await serve_until_signalled(fake, "127.0.0.1", args.port)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.drills.support")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("fake-bot-api", help="the fake Bot API with the /_drill pages")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--token", default=BOT_TOKEN)
    serve.add_argument("--stall", action="append", default=[], metavar="METHOD=SECONDS")
    serve.add_argument("--rate-429", type=float, default=0.0)
    serve.add_argument("--rate-5xx", type=float, default=0.0)
    serve.add_argument("--seed", type=int, default=None)
    asyncio.run(_serve_fake_bot_api(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
