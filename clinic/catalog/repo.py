"""Typed wrappers over sql/catalog.sql."""

from __future__ import annotations

from datetime import time

from clinic.catalog.models import Doctor, Specialization
from clinic.db import Executor
from clinic.sql import q


async def list_specializations(db: Executor, *, search: str | None) -> list[Specialization]:
    rows = await db.fetch(q("catalog.list_specializations"), search)
    return [Specialization.model_validate(dict(row)) for row in rows]


async def get_specialization(db: Executor, *, specialization_id: int) -> Specialization | None:
    row = await db.fetchrow(q("catalog.get_specialization"), specialization_id)
    return Specialization.model_validate(dict(row)) if row else None


async def list_doctors(db: Executor, *, specialization_id: int) -> list[Doctor]:
    rows = await db.fetch(q("catalog.list_doctors"), specialization_id)
    return [Doctor.from_row(row) for row in rows]


async def get_doctor(db: Executor, *, doctor_id: int) -> Doctor | None:
    row = await db.fetchrow(q("catalog.get_doctor"), doctor_id)
    return Doctor.from_row(row) if row else None


async def upsert_specialization(
    db: Executor, *, slug: str, name: str, description: str, icon: str, keywords: list[str]
) -> int:
    specialization_id: int = await db.fetchval(
        q("catalog.upsert_specialization"), slug, name, description, icon, keywords
    )
    return specialization_id


async def upsert_doctor(
    db: Executor,
    *,
    slug: str,
    specialization_id: int,
    last_name: str,
    first_name: str,
    middle_name: str | None,
    title: str,
    experience_years: int,
    description: str,
    photo: str | None,
) -> int:
    doctor_id: int = await db.fetchval(
        q("catalog.upsert_doctor"),
        slug,
        specialization_id,
        last_name,
        first_name,
        middle_name,
        title,
        experience_years,
        description,
        photo,
    )
    return doctor_id


async def replace_doctor_hours(
    db: Executor, *, doctor_id: int, hours: list[tuple[int, time, time]]
) -> None:
    """Call inside a transaction: the delete and the insert belong together."""
    await db.execute(q("catalog.delete_doctor_hours"), doctor_id)
    if hours:
        weekdays, starts, ends = zip(*hours, strict=True)
        await db.execute(
            q("catalog.insert_doctor_hours"), doctor_id, list(weekdays), list(starts), list(ends)
        )
