"""`make bench`: runs the benchmarks one after another and writes one report.

    .venv/bin/python -m bench [--quick]

bench/booking.py (twice: one server process, where DESIGN.md's goals apply, then
`--workers 2 --no-race`, with no goal), bench/webhook.py and bench/dispatch.py each
start what they measure (their own databases, server or worker processes, the fake Bot
API) and leave their raw figures in bench/results/. This reads those, and writes
bench/REPORT.md (each figure with its goal from DESIGN.md, PASS or SHORT, the machine,
the load client and the date) and bench/REPORT.json (the same figures, raw). Every
ratio comes from one run: the server and its reference transaction straight through
asyncpg are measured side by side in bench/booking.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
RUNS = [
    ("booking", [sys.executable, "-m", "bench.booking", "--workers", "1"]),
    ("booking-workers2", [sys.executable, "-m", "bench.booking", "--workers", "2", "--no-race"]),
    ("webhook", [sys.executable, "-m", "bench.webhook"]),
    ("dispatch", [sys.executable, "-m", "bench.dispatch"]),
]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "SHORT"


def postgres_version() -> str:
    dsn = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not dsn:
        return "embedded (pgserver)"
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def booking_rows(booking: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The booking benchmark's rows: with one server process, against DESIGN.md's goals;
    with more, the same figures with no goal."""
    race, http = booking["race"], booking["booking_http"]
    reference, ratio = booking["booking_reference"], booking["booking_ratio"]
    slots, catalog = booking["slots_read"], booking["catalog_read"]
    memory, workers = booking["server_memory_mb"], booking["workers"]
    asked = booking["config"]["workers_asked"]
    goals = asked == 1 and workers == 1
    where = f"{workers} server process{'es' if workers > 1 else ''}"
    if asked != workers:
        where += f" (asked for {asked}: this clinic serve has no --workers)"

    def goal(text: str, ok: bool) -> tuple[str, str]:
        return (text, verdict(ok)) if goals else ("(no goal)", "")

    out = []
    if race:
        out.append(
            (
                f"{race['clients_per_slot']} concurrent bookings of one slot, "
                f"x{race['slots']} slots",
                f"{race['slots_with_one_201']} slots with one 201; {race['conflicts']} 409; "
                f"{race['server_errors']} 5xx; {race['rows_in_db']} rows",
                "exactly one 201 per slot, rest 409, no 5xx",
                verdict(race["ok"]),
            )
        )
    out += [
        (
            f"booking @32, {where}: HTTP / reference transaction",
            f"{http['rate']:.0f}/s / {reference['rate']:.0f}/s = {ratio:.2f}",
            *goal(">= 0.5", ratio >= 0.5),
        ),
        (
            f"slots for a week @32, {where}",
            f"{slots['rate']:.0f}/s, p50 {slots['p50_ms']:.1f} ms, p99 {slots['p99_ms']:.1f} ms",
            *goal("p99 < 10 ms", slots["p99_ms"] < 10),
        ),
        (
            f"catalog @32, {where}",
            f"{catalog['rate']:.0f}/s, p50 {catalog['p50_ms']:.1f} ms, "
            f"p99 {catalog['p99_ms']:.1f} ms",
            *goal(f"rate >= slots' ({slots['rate']:.0f}/s)", catalog["rate"] >= slots["rate"]),
        ),
        (
            f"server RSS after the booking run, {where}"
            + (f" (sum of {memory['processes']} processes)" if memory["processes"] > 1 else ""),
            f"{memory['VmRSS']:.0f} MB (peak {memory['VmHWM']:.0f} MB)",
            *goal("< 150 MB", memory["VmRSS"] < 150),
        ),
    ]
    return out


def rows(figures: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    webhook, dispatch = figures["webhook"], figures["dispatch"]
    runs = {run["workers"]: run for run in dispatch["runs"]}
    out = [
        *booking_rows(figures["booking"]),
        *booking_rows(figures["booking-workers2"]),
        (
            "webhook updates @32 senders (callback queries reading the database)",
            f"{webhook['webhook']['rate']:.0f}/s answered, "
            f"p99 {webhook['webhook']['p99_ms']:.0f} ms; "
            f"{webhook['end_to_end']['updates_per_s']:.0f}/s processed end to end",
            "(no goal)",
            "",
        ),
        (
            "webhook: repeated update ids processed twice",
            str(webhook["exactly_once"]["answered_twice_or_more"]),
            "0",
            verdict(webhook["exactly_once"]["answered_twice_or_more"] == 0),
        ),
    ]
    for workers in sorted(runs):
        run = runs[workers]
        out.append(
            (
                f"reminders dispatched, {workers} worker process(es), limits off",
                f"{run['per_second']}/s over {run['rows']} rows; {run['duplicates']} duplicates, "
                f"{run['missing']} missing",
                ">= 2,000/s, 0 duplicates",
                verdict(
                    run["per_second"] >= 2000 and run["duplicates"] == 0 and run["missing"] == 0
                ),
            )
        )
    return out


def load_client(booking: dict[str, Any]) -> str:
    """The booking benchmark's HTTP client: wrk x.y (threads, connections), or Python."""
    config = booking["config"]
    client, concurrency = config["client"], config["concurrency"]
    if config.get("wrk_threads"):
        return f"{client} ({config['wrk_threads']} threads, {concurrency} connections)"
    return f"{client}, {concurrency} concurrent requests"


def markdown(figures: dict[str, Any], machine: dict[str, Any]) -> str:
    table = ["| figure | measured | goal | |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows(figures)]
    return "\n".join(
        [
            "# Benchmark report",
            "",
            f"Measured {machine['date']} on {machine['cores']} cores ({machine['cpu']}), "
            f"{machine['postgres']}, Python {machine['python']}, commit {machine['commit']}, "
            f"by `make bench`{' --quick' if machine['quick'] else ''}. HTTP load client: "
            f"{machine['client']}. Raw figures: bench/REPORT.json; per benchmark: "
            "bench/results/.",
            "",
            *table,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, to check it works")
    args = parser.parse_args(argv)
    failed = []
    for name, command in RUNS:
        print(f"== {name}", flush=True)
        extra = ["--quick"] if args.quick and name != "dispatch" else []
        extra += ["--rows", "5000"] if args.quick and name == "dispatch" else []
        if subprocess.run([*command, *extra], cwd=ROOT, check=False).returncode not in (0, 1):
            failed.append(name)
    if failed:
        print(f"benchmarks that did not finish: {', '.join(failed)}", file=sys.stderr)
        return 2
    figures = {name: json.loads((RESULTS / f"{name}.json").read_text()) for name, _ in RUNS}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    machine = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "postgres": postgres_version(),
        "python": platform.python_version(),
        "commit": commit or "?",
        "quick": args.quick,
        "client": load_client(figures["booking"]),
    }
    report = markdown(figures, machine)
    (ROOT / "bench" / "REPORT.md").write_text(report)
    (ROOT / "bench" / "REPORT.json").write_text(
        json.dumps({"machine": machine, "figures": figures}, indent=1, default=str)
    )
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
