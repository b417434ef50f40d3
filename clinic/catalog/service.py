"""Reading the catalog, and loading the demo catalog."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import time
from pathlib import Path

import asyncpg
from pydantic import BaseModel

from clinic import db
from clinic.catalog import repo
from clinic.catalog.cache import Ready, ReadyCache, ready
from clinic.catalog.models import Doctor, SearchResults, SeedCatalog, Specialization
from clinic.errors import NotFound, msg
from clinic.web.io import json_body

# At most this many of each kind in one answer: the catalog's best matches, not all of it.
SEARCH_LIMIT = 20

DEMO_CATALOG = Path(__file__).resolve().parent / "demo" / "catalog.json"
DEMO_PHOTOS = DEMO_CATALOG.parent / "photos"

# Migration 0011's triggers NOTIFY here, with the table's name, when the catalog or a
# schedule changes.
CHANNEL = "clinic_catalog"
SCHEDULE_TABLES = frozenset({"doctor_hours", "time_off", "closures"})


class Catalog:
    """Specializations and doctors, as the API and the bot read them."""

    def __init__(self, database: db.Database) -> None:
        self._db = database
        self.cache = ReadyCache()

    # The API's answers, as ready bytes with their ETags (clinic/catalog/cache.py).

    async def specializations_answer(self) -> Ready:
        return await self._answer("specializations", lambda: self.specializations(search=None))

    async def specialization_answer(self, specialization_id: int) -> Ready:
        return await self._answer(
            ("specialization", specialization_id), lambda: self.specialization(specialization_id)
        )

    async def doctors_answer(self, specialization_id: int) -> Ready:
        return await self._answer(
            ("doctors", specialization_id), lambda: self.doctors(specialization_id)
        )

    async def doctor_answer(self, doctor_id: int) -> Ready:
        return await self._answer(("doctor", doctor_id), lambda: self.doctor(doctor_id))

    async def _answer(
        self, key: Hashable, read: Callable[[], Awaitable[BaseModel | Sequence[BaseModel]]]
    ) -> Ready:
        found = self.cache.get(key)
        if found is None:
            generation = self.cache.generation
            found = ready(json_body(await read()))  # NotFound is never kept
            self.cache.put(key, generation, found)
        return found

    def changed(self, table: str) -> None:
        """A NOTIFY on CHANNEL: `table` changed in a transaction that committed."""
        if table not in SCHEDULE_TABLES:
            self.cache.clear()

    async def specializations(self, *, search: str | None) -> list[Specialization]:
        search = search.strip() if search else None
        return await repo.list_specializations(self._db.pool, search=search or None)

    async def search(self, text: str | None) -> SearchResults:
        """Specializations and doctors for what a patient typed, best first (sql/catalog.sql,
        "Search"); nothing for an empty query or one of punctuation only."""
        if not text or not text.strip():
            return SearchResults(specializations=[], doctors=[])
        async with self._db.pool.acquire() as conn:
            terms = await repo.search_terms(conn, text=text)
            if terms is None:
                return SearchResults(specializations=[], doctors=[])
            return SearchResults(
                specializations=await repo.search_specializations(
                    conn, terms=terms, limit=SEARCH_LIMIT
                ),
                doctors=await repo.search_doctors(conn, terms=terms, limit=SEARCH_LIMIT),
            )

    async def specialization(self, specialization_id: int) -> Specialization:
        found = await repo.get_specialization(self._db.pool, specialization_id=specialization_id)
        if found is None:
            raise NotFound(msg("error.not_found.specialization", id=specialization_id))
        return found

    async def doctors(self, specialization_id: int) -> list[Doctor]:
        doctors = await repo.list_doctors(self._db.pool, specialization_id=specialization_id)
        if not doctors:
            await self.specialization(specialization_id)
        return doctors

    async def doctor(self, doctor_id: int) -> Doctor:
        found = await repo.get_doctor(self._db.pool, doctor_id=doctor_id)
        if found is None:
            raise NotFound(msg("error.not_found.doctor", id=doctor_id))
        return found

    async def replace_hours(
        self, conn: asyncpg.Connection, *, doctor_id: int, hours: list[tuple[int, time, time]]
    ) -> None:
        """Sets a doctor's own weekly hours in the caller's transaction ([]: the clinic's
        default week)."""
        await repo.replace_doctor_hours(conn, doctor_id=doctor_id, hours=hours)


def read_demo_catalog(path: Path = DEMO_CATALOG) -> SeedCatalog:
    return SeedCatalog.model_validate_json(path.read_bytes())


async def seed_demo_catalog(dsn: str) -> tuple[int, int]:
    """Loads the demo catalog into the database at `dsn`, on a pool of its own: for
    `clinic seed` and for setting up test, benchmark and drill databases."""
    pool = await db.create_pool(dsn, min_size=1, max_size=1)
    try:
        return await seed(pool, read_demo_catalog())
    finally:
        await pool.close()


async def seed(pool: asyncpg.Pool, catalog: SeedCatalog) -> tuple[int, int]:
    """Loads a catalog in one transaction, by slug: running it again changes nothing."""
    async with db.transaction(pool) as conn:
        ids: dict[str, int] = {}
        for spec in catalog.specializations:
            ids[spec.slug] = await repo.upsert_specialization(
                conn,
                slug=spec.slug,
                name=spec.name,
                description=spec.description,
                icon=spec.icon,
                keywords=spec.keywords,
            )
        for doc in catalog.doctors:
            if doc.specialization not in ids:
                raise NotFound(f"{doc.slug}: unknown specialization {doc.specialization!r}")
            doctor_id = await repo.upsert_doctor(
                conn,
                slug=doc.slug,
                specialization_id=ids[doc.specialization],
                last_name=doc.last_name,
                first_name=doc.first_name,
                middle_name=doc.middle_name,
                title=doc.title,
                experience_years=doc.experience_years,
                description=doc.description,
                photo=doc.photo,
            )
            hours = [(h.weekday, h.start, h.end) for h in doc.hours or []]
            await repo.replace_doctor_hours(conn, doctor_id=doctor_id, hours=hours)
    return len(catalog.specializations), len(catalog.doctors)
