"""`clinic staff add|list|remove` from the shell, against a real database."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg

from tests.conftest import ROOT


def staff(dsn: str, *args: str, admin_ids: str = "[]") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": dsn, "ADMIN_IDS": admin_ids, "BOT_TOKEN": ""}
    env.pop("BOT_TOKEN")
    return subprocess.run(
        [sys.executable, "-m", "clinic", "staff", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )


async def test_staff_are_managed_from_the_shell_and_audited(
    dsn: str, conn: asyncpg.Connection
) -> None:
    doctor = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'volkov-igor'")
    added = staff(dsn, "add", "4242", "--role", "doctor", "--doctor", str(doctor))
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == f"added: 4242 doctor doctor {doctor}"
    assert staff(dsn, "add", "4343", "--role", "reception").returncode == 0
    changed = staff(dsn, "add", "4343", "--role", "admin")
    assert changed.stdout.strip() == "changed: 4343 admin"

    listed = staff(dsn, "list", admin_ids="[99]")
    assert listed.stdout.splitlines() == [
        "4343 admin",
        f"4242 doctor doctor {doctor}",
        "99 admin (ADMIN_IDS)",
    ]
    refused = staff(dsn, "add", "4444", "--role", "doctor")
    assert refused.returncode == 2 and "doctor_id is given for the role doctor" in refused.stderr
    taken = staff(dsn, "add", "4444", "--role", "doctor", "--doctor", str(doctor))
    assert taken.returncode == 1 and "уже привязан" in taken.stderr
    unknown_role = staff(dsn, "add", "4444", "--role", "boss")
    assert unknown_role.returncode == 2 and "invalid choice" in unknown_role.stderr

    assert staff(dsn, "remove", "4242").stdout.startswith("removed: 4242 doctor")
    gone = staff(dsn, "remove", "4242")
    assert gone.returncode == 1 and "Такого сотрудника нет" in gone.stderr
    rows = await conn.fetch("SELECT actor, action, subject FROM staff_actions ORDER BY id")
    assert [(r["actor"], r["action"], r["subject"]) for r in rows] == [
        (None, "member.add", "staff:4242"),
        (None, "member.add", "staff:4343"),
        (None, "member.change", "staff:4343"),
        (None, "member.remove", "staff:4242"),
    ]
