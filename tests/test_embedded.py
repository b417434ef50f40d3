"""Drill (in `make test`): the embedded PostgreSQL across every way `clinic serve` ends.

Each test runs `clinic serve` with DATABASE_URL unset on a data folder of its own, so it
starts the pgserver PostgreSQL in DATA_DIR/pg, and ends it as a user's machine would:
SIGKILL, SIGHUP (a closed terminal), SIGINT (Ctrl-C), SIGTERM. What must hold: the next
start works (taking over a server left running), the last clean stop stops PostgreSQL,
and no stale list of pids is left to keep it running for good.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.test_startup import clinic_env, free_port

pytestmark = pytest.mark.timeout(120)

START_WITHIN = 60.0
STOP_WITHIN = 30.0


@dataclass
class Serve:
    process: subprocess.Popen[str]
    port: int
    said: list[str] = field(default_factory=list)  # its stderr lines, read as they come

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            self.said.extend(iter(self.process.stderr.readline, ""))

    def until(self, marker: str) -> list[str]:
        """What it said up to and including the first line holding `marker`."""
        deadline = time.monotonic() + START_WITHIN
        while time.monotonic() < deadline:
            for index, line in enumerate(self.said):
                if marker in line:
                    return self.said[: index + 1]
            assert self.process.poll() is None, self.said
            time.sleep(0.05)
        raise AssertionError(f"no {marker!r} in {self.said}")

    def ready(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return bool(json.load(answer)["database"])
        except OSError:
            return False

    def end(self, signum: int) -> int:
        self.process.send_signal(signum)
        return self.process.wait(STOP_WITHIN)


class Embedded:
    """`clinic serve` processes sharing one data folder, and its PostgreSQL."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.pgdata = data_dir / "pg"
        self.started: list[Serve] = []

    def env(self, **extra: str) -> dict[str, str]:
        return clinic_env(DATA_DIR=str(self.data_dir), **extra)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "clinic", *args],
            cwd=self.data_dir.parent,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=START_WITHIN,
            check=False,
        )

    def serve(self) -> tuple[Serve, list[str]]:
        """A `clinic serve` up and ready, and what it said on the way."""
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "clinic", "serve"],
            cwd=self.data_dir.parent,
            env=self.env(PORT=str(port)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        served = Serve(process, port)
        self.started.append(served)
        said = served.until("serving on")
        deadline = time.monotonic() + START_WITHIN
        while not served.ready():
            assert process.poll() is None and time.monotonic() < deadline, said
            time.sleep(0.1)
        return served, said

    def postmaster(self) -> int | None:
        """The pid of the live PostgreSQL of this folder, or None."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def wait_stopped(self, pid: int) -> None:
        deadline = time.monotonic() + STOP_WITHIN
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        raise AssertionError(f"PostgreSQL {pid} still runs {STOP_WITHIN}s after the last stop")

    def no_stale_pid_list(self) -> None:
        left = self.pgdata / ".handle_pids.json"
        assert not left.exists() or json.loads(left.read_text()) == [], left.read_text()

    def cleanup(self) -> None:
        for served in self.started:
            if served.process.poll() is None:
                served.process.kill()
                served.process.wait(10)
        pid = self.postmaster()
        if pid is not None:  # a failed test must not leave a server behind
            self.run("migrate")  # joins, then stops it as the last user
            if self.postmaster() is not None:
                os.kill(pid, signal.SIGQUIT)


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Embedded]:
    held = Embedded(tmp_path / "data")
    held.data_dir.mkdir()
    assert held.run("migrate").returncode == 0
    assert held.run("seed").returncode == 0
    try:
        yield held
    finally:
        held.cleanup()


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGHUP], ids=["SIGKILL", "SIGHUP"])
def test_after_a_kill_the_next_start_works_and_a_clean_stop_stops_postgres(
    embedded: Embedded, kill: signal.Signals
) -> None:
    first, said = embedded.serve()
    assert any("embedded PostgreSQL" in line and "started" in line for line in said), said
    postgres = embedded.postmaster()
    assert postgres is not None
    embedded.no_stale_pid_list()

    first.end(kill)
    if kill == signal.SIGKILL:
        # Nothing ran in the killed process: its server is left running, for the next start.
        assert embedded.postmaster() == postgres
    else:
        # A closed terminal is a clean stop: the last user stops the server.
        embedded.wait_stopped(postgres)
    embedded.no_stale_pid_list()

    second, said = embedded.serve()
    taken_over = embedded.postmaster()
    assert taken_over is not None
    if kill == signal.SIGKILL:
        assert taken_over == postgres, "the next start must take over the running server"
        assert any("already running" in line for line in said), said
    assert second.end(signal.SIGTERM) == 0
    embedded.wait_stopped(taken_over)
    embedded.no_stale_pid_list()


def test_ctrl_c_stops_postgres_with_the_server(embedded: Embedded) -> None:
    served, _ = embedded.serve()
    postgres = embedded.postmaster()
    assert postgres is not None
    assert served.end(signal.SIGINT) == 0
    embedded.wait_stopped(postgres)


def test_the_last_of_several_users_stops_it_even_after_one_was_killed(
    embedded: Embedded,
) -> None:
    """Two servers on one folder; one is SIGKILLed, a `clinic migrate` comes and goes.
    Neither the killed one nor the one-shot command stops the server under the survivor;
    the survivor's clean stop does (the stale pid list kept it running for good)."""
    survivor, _ = embedded.serve()
    victim, _ = embedded.serve()
    postgres = embedded.postmaster()
    assert postgres is not None
    victim.end(signal.SIGKILL)
    done = embedded.run("migrate")
    assert done.returncode == 0, done.stderr
    assert embedded.postmaster() == postgres and survivor.ready()

    assert survivor.end(signal.SIGTERM) == 0
    embedded.wait_stopped(postgres)
    embedded.no_stale_pid_list()


def test_the_embedded_start_is_quiet_unless_asked(embedded: Embedded) -> None:
    """pgserver's and yoyo's running commentary only at LOG_LEVEL=debug."""
    for command in ("migrate", "seed"):
        done = embedded.run(command)
        assert done.returncode == 0, done.stderr
        loggers = [json.loads(line)["logger"] for line in done.stderr.splitlines()]
        assert len(loggers) <= 3 and not {"pgserver", "yoyo.migrations"} & set(loggers), loggers
    _, said = embedded.serve()
    assert len(said) <= 2, said

    chatty = subprocess.run(
        [sys.executable, "-m", "clinic", "migrate"],
        cwd=embedded.data_dir.parent,
        env=embedded.env(LOG_LEVEL="debug"),
        capture_output=True,
        text=True,
        timeout=START_WITHIN,
        check=False,
    )
    assert chatty.returncode == 0, chatty.stderr
    assert '"logger":"pgserver"' in chatty.stderr
