"""The `clinic` command: serve, worker, migrate, seed."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import SecretStr

from clinic import logs, migrate
from clinic.catalog import service as catalog
from clinic.config import Settings

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


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    if args.rollback:
        count = migrate.rollback(settings.dsn(), count=args.rollback)
        log.info("rolled back %d migration(s)", count)
    else:
        count = migrate.apply(settings.dsn())
        log.info("applied %d migration(s)", count)
    return 0


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    specializations, doctors = asyncio.run(catalog.seed_demo_catalog(settings.dsn()))
    log.info("demo catalog loaded: %d specializations, %d doctors", specializations, doctors)
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from clinic.app import create_app

    waiting = migrate.pending(settings.dsn())
    if waiting:
        log.error("the database is not migrated (%s pending): run `clinic migrate`", len(waiting))
        return 2
    mode = "demo mode (no BOT_TOKEN)" if settings.demo else "bot mode"
    log.info("serving on http://%s:%d in %s", settings.host, settings.port, mode)
    web.run_app(
        create_app(settings, worker=not args.no_worker),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
        shutdown_timeout=10,
        # Bounds a connection that never finishes its request (slow headers), too.
        keepalive_timeout=15,
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from clinic.dispatch.worker import run_worker

    waiting = migrate.pending(settings.dsn())
    if waiting:
        log.error("the database is not migrated (%s pending): run `clinic migrate`", len(waiting))
        return 2
    asyncio.run(run_worker(settings))
    return 0


def cmd_staff(settings: Settings, args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from clinic.errors import ClinicError
    from clinic.staff import shell

    options = {k: getattr(args, k) for k in ("telegram_id", "role", "doctor_id") if k in args}
    try:
        lines = asyncio.run(shell.run(settings, args.staff_command, **options))
    except ClinicError as exc:
        print(f"clinic staff {args.staff_command}: {exc.detail}", file=sys.stderr)
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


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="clinic", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API, the bot webhook and the MiniApp")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="do not dispatch reminders in this process (run `clinic worker` beside it)",
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


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    logs.configure(secrets=secrets_of(settings))
    with database(settings) as ready:
        return COMMANDS[args.command](ready, args)


if __name__ == "__main__":
    sys.exit(main())
