"""Typed wrappers over sql/catalog.sql."""

from __future__ import annotations

from datetime import time
from typing import NamedTuple

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


class SearchTerms(NamedTuple):
    """The text-search queries for what a patient typed (sql/catalog.sql search_terms)."""

    exact: list[str]  # a tsquery per word: its stem as a whole word
    loose: list[str]  # a tsquery per word: words that begin with it too
    any_word: str  # a tsquery matching any of the words


async def search_terms(db: Executor, *, text: str) -> SearchTerms | None:
    """None when no word is left (punctuation only, say)."""
    row = await db.fetchrow(q("catalog.search_terms"), text)
    if row is None or row["exact"] is None:
        return None
    return SearchTerms(list(row["exact"]), list(row["loose"]), row["any_word"])


async def search_specializations(
    db: Executor, *, terms: SearchTerms, limit: int
) -> list[Specialization]:
    rows = await db.fetch(
        q("catalog.search_specializations"), terms.exact, terms.loose, terms.any_word, limit
    )
    return [Specialization.model_validate(dict(row)) for row in rows]


async def search_doctors(db: Executor, *, terms: SearchTerms, limit: int) -> list[Doctor]:
    rows = await db.fetch(
        q("catalog.search_doctors"), terms.exact, terms.loose, terms.any_word, limit
    )
    return [Doctor.from_row(row) for row in rows]


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
