"""The `clinic` command: serve, worker, migrate, seed.

A failure to start (a bad setting, a busy port, a database that cannot be reached or is
not migrated) is one log line saying what and how to fix it, and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import SecretStr

from clinic import logs, migrate
from clinic.catalog import service as catalog
from clinic.config import Settings
from clinic.errors import DatabaseUnreachable, StartupError
from clinic.startup import listening_sockets, read_settings

log = logging.getLogger("clinic")


@contextmanager
def database(settings: Settings) -> Iterator[Settings]:
    """The settings with a DATABASE_URL: the given one, or an embedded server's."""
    if settings.database_url is not None:
        yield settings
        return
    from clinic.embedded import embedded_postgres

    with embedded_postgres(settings.data_dir) as dsn:
        yield settings.model_copy(update={"database_url": SecretStr(dsn)})


# Migrations and the seed are one-shot admin work: straight to PostgreSQL (the direct,
# session-mode DSN when DATABASE_URL goes through PgBouncer in transaction mode).


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    if args.rollback:
        count = migrate.rollback(settings.direct_dsn(), count=args.rollback)
        log.info("rolled back %d migration(s)", count)
    else:
        count = migrate.apply(settings.direct_dsn())
        log.info("applied %d migration(s)", count)
    return 0


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    specializations, doctors = asyncio.run(catalog.seed_demo_catalog(settings.direct_dsn()))
    log.info("demo catalog loaded: %d specializations, %d doctors", specializations, doctors)
    return 0


def require_migrated(settings: Settings) -> None:
    waiting = migrate.pending(settings.direct_dsn())
    if waiting:
        raise StartupError(
            f"the database is not migrated ({len(waiting)} pending): run `clinic migrate`"
        )


def graceful_exit() -> None:
    raise web.GracefulExit()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    require_migrated(settings)
    workers = args.workers
    if workers == 1:
        # Bound before the app starts: a busy port stops here, before the pool opens or
        # the bot tells Telegram and the admins anything.
        return serve(settings, args, listening_sockets(settings.host, settings.port))
    if settings.demo or not settings.public_url:
        raise StartupError(
            "--workers above 1 needs bot mode with PUBLIC_URL (a webhook): the demo chat"
            " and long polling each live in one process; set BOT_TOKEN and PUBLIC_URL, or"
            " run one worker"
        )
    # Bound here first (so a busy port is one line, as above, and port 0 becomes one
    # port), then again in each worker: SO_REUSEPORT lets the kernel spread connections.
    probe = listening_sockets(settings.host, settings.port, shared=True)
    port = probe[0].getsockname()[1]
    children: list[int] = []
    for number in range(1, workers + 1):
        pid = os.fork()
        if pid == 0:  # the worker: its own sockets, app, pool and dispatcher
            for sock in probe:
                sock.close()
            try:
                sockets = listening_sockets(settings.host, port, shared=True)
                code = serve(settings, args, sockets, worker=(number, workers))
            except StartupError as exc:
                log.error("%s", exc)
                code = 2
            except BaseException:
                log.exception("worker %d stopped", number)
                code = 1
            logs.flush()
            os._exit(code)
        children.append(pid)
    for sock in probe:
        sock.close()
    return supervise(children)


def supervise(children: list[int]) -> int:
    """Waits for the workers. SIGTERM, SIGINT and SIGHUP are passed on to each; when one
    worker ends on its own, the others are stopped too and the exit code is its own, so
    that whatever runs `clinic serve` (systemd, Docker) restarts the whole."""
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    code = 0
    running = set(children)
    while running:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        running.discard(pid)
        exited = os.waitstatus_to_exitcode(status)
        if not stopping:
            log.error("a worker (pid %d) ended with code %d; stopping the others", pid, exited)
            code = exited or 1
            stop(signal.SIGTERM, None)
    return code


def serve(
    settings: Settings,
    args: argparse.Namespace,
    sockets: list[socket.socket],
    *,
    worker: tuple[int, int] = (1, 1),
) -> int:
    from clinic.app import create_app

    port = sockets[0].getsockname()[1]
    mode = "demo mode (no BOT_TOKEN)" if settings.demo else "bot mode"
    if worker[1] > 1:
        mode += f", worker {worker[0]} of {worker[1]}"
    app = create_app(settings, worker=not args.no_worker)

    async def serving(app: web.Application) -> None:
        # What start-up made lives as long as the process: out of the collector's way,
        # so that collections during requests walk only what requests make.
        gc.collect()
        gc.freeze()
        log.info("serving on http://%s:%d in %s", settings.host, port, mode)

    app.on_startup.append(serving)  # after every resource of the app is up
    loop = asyncio.new_event_loop()
    # A closed terminal (SIGHUP) stops the server as Ctrl-C and SIGTERM do.
    loop.add_signal_handler(signal.SIGHUP, graceful_exit)
    web.run_app(
        app,
        sock=sockets,
        loop=loop,
        print=None,
        access_log=None,
        shutdown_timeout=10,
        # Bounds a connection that never finishes its request (slow headers), too.
        keepalive_timeout=15,
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from clinic.dispatch.worker import run_worker

    require_migrated(settings)
    asyncio.run(run_worker(settings))
    return 0


def cmd_staff(settings: Settings, args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from clinic.errors import ClinicError
    from clinic.staff import shell
    from clinic.texts import RU

    options = {k: getattr(args, k) for k in ("telegram_id", "role", "doctor_id") if k in args}
    try:
        lines = asyncio.run(shell.run(settings, args.staff_command, **options))
    except ClinicError as exc:
        print(f"clinic staff {args.staff_command}: {RU.render(exc.detail)}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors())
        print(f"clinic staff {args.staff_command}: {problems}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


COMMANDS = {
    "serve": cmd_serve,
    "worker": cmd_worker,
    "migrate": cmd_migrate,
    "seed": cmd_seed,
    "staff": cmd_staff,
}


def positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers from 1 to 64")
    return int(text)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="clinic", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API, the bot webhook and the MiniApp")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="do not dispatch reminders in this process (run `clinic worker` beside it)",
    )
    serve.add_argument(
        "--workers",
        type=positive,
        default=1,
        metavar="N",
        help="serve from N processes on one port (SO_REUSEPORT), each with its own pool"
        " and dispatcher; above 1 needs PUBLIC_URL (webhook mode)",
    )
    sub.add_parser("worker", help="dispatch reminders only, until SIGTERM")
    mig = sub.add_parser("migrate", help="apply the database migrations")
    mig.add_argument("--rollback", type=int, default=0, metavar="N", help="roll back N instead")
    sub.add_parser("seed", help="load the demo catalog (idempotent)")
    staff = sub.add_parser("staff", help="manage the clinic's staff: add, list, remove")
    actions = staff.add_subparsers(dest="staff_command", required=True)
    add = actions.add_parser("add", help="add a staff member, or change their role")
    add.add_argument("telegram_id", type=int, metavar="TELEGRAM_ID")
    add.add_argument("--role", required=True, choices=("admin", "reception", "doctor"))
    add.add_argument(
        "--doctor",
        dest="doctor_id",
        type=int,
        metavar="DOCTOR_ID",
        help="the doctors row a doctor is (required with --role doctor)",
    )
    actions.add_parser("list", help="list the staff")
    remove = actions.add_parser("remove", help="remove a staff member")
    remove.add_argument("telegram_id", type=int, metavar="TELEGRAM_ID")
    return top


def secrets_of(settings: Settings) -> list[str]:
    """What the logs must never show."""
    found = []
    if settings.bot_token is not None:
        found += [settings.bot_token.get_secret_value(), settings.webhook_secret_value()]
    for url in (settings.database_url, settings.database_direct_url):
        if url is not None:
            dsn = url.get_secret_value()
            found += [dsn, urlsplit(dsn).password or ""]
    return found


def hang_up(signum: int, frame: FrameType | None) -> None:
    """SIGHUP (a closed terminal) outside the event loop: end as on Ctrl-C, cleanly."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.configure(secrets=[])  # until the settings say what to mask and how much to say
    signal.signal(signal.SIGHUP, hang_up)
    try:
        settings = read_settings()
    except StartupError as exc:
        log.error("%s", exc)
        return 2
    # The long-running commands write their lines in batches (logs.BatchedLines).
    batched = args.command in ("serve", "worker")
    logs.configure(secrets=secrets_of(settings), level=settings.log_level, batched=batched)
    try:
        with database(settings) as ready:
            return COMMANDS[args.command](ready, args)
    except DatabaseUnreachable as exc:
        settings_used = "DATABASE_URL"
        if settings.database_direct_url is not None:
            settings_used += " and DATABASE_DIRECT_URL"
        log.error("%s; is it running, and is %s right?", exc, settings_used)
        return 2
    except StartupError as exc:
        log.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
