"""The catalog endpoints, the photos, and the idempotent demo seed."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from pydantic import ValidationError

from clinic import db
from clinic.catalog import service as catalog
from clinic.catalog.models import SeedSpecialization


async def test_specializations_are_listed_by_name_with_doctor_counts(client: TestClient) -> None:
    response = await client.get("/api/specializations")
    assert response.status == 200
    items = await response.json()
    assert len(items) == 10
    assert [s["name"] for s in items] == sorted(s["name"] for s in items)
    assert {s["doctor_count"] for s in items} == {2}
    assert set(items[0]) == {"id", "slug", "name", "description", "icon", "doctor_count"}
    assert all(s["icon"].startswith("fa-") for s in items)


async def test_search_ignores_case_and_the_letter_yo(
    client: TestClient, conn: asyncpg.Connection
) -> None:
    for query in ("кард", "КАРДИО", "Кардиология"):
        found = await (await client.get("/api/specializations", params={"q": query})).json()
        assert [s["name"] for s in found] == ["Кардиология"], query
    await conn.execute(
        "INSERT INTO specializations (slug, name) VALUES ('reception', 'Приём терапевта')"
    )
    found = await (await client.get("/api/specializations", params={"q": "прием"})).json()
    assert [s["name"] for s in found] == ["Приём терапевта"]
    assert found[0]["doctor_count"] == 0


async def test_search_with_no_match_or_wildcards_finds_nothing(client: TestClient) -> None:
    for query in ("нет-такой", "%", "_", "' OR 1=1 --"):
        response = await client.get("/api/specializations", params={"q": query})
        assert response.status == 200
        assert await response.json() == [], query


async def test_a_blank_search_lists_everything(client: TestClient) -> None:
    found = await (await client.get("/api/specializations", params={"q": "  "})).json()
    assert len(found) == 10


async def test_a_too_long_search_is_a_422(client: TestClient) -> None:
    response = await client.get("/api/specializations", params={"q": "а" * 101})
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    assert (await response.json())["errors"][0]["field"] == "q"


async def test_doctors_of_a_specialization(client: TestClient) -> None:
    spec = (await (await client.get("/api/specializations", params={"q": "кардио"})).json())[0]
    doctors = await (await client.get(f"/api/specializations/{spec['id']}/doctors")).json()
    assert len(doctors) == 2
    first = doctors[0]
    assert first["specialization"] == "Кардиология"
    assert first["full_name"].startswith(first["last_name"] + " " + first["first_name"])
    assert first["photo_url"].startswith("/photos/")
    one = await client.get(f"/api/doctors/{first['id']}")
    assert await one.json() == first


async def test_a_doctor_photo_is_served(client: TestClient) -> None:
    doctor = await (await client.get("/api/doctors/1")).json()
    photo = await client.get(doctor["photo_url"])
    assert photo.status == 200
    assert photo.content_type == "image/svg+xml"
    assert b"<svg" in await photo.read()
    assert photo.headers["Cache-Control"] == "public, max-age=86400"
    again = await client.get(doctor["photo_url"], headers={"If-None-Match": photo.headers["ETag"]})
    assert again.status == 304 and await again.read() == b""


async def test_only_the_photos_themselves_are_served(client: TestClient) -> None:
    for path in ("/photos/nobody.svg", "/photos/..%2F..%2Fservice.py", "/photos/"):
        response = await client.get(path)
        assert response.status == 404, path


async def test_absent_things_are_404_problems(client: TestClient) -> None:
    for path in (
        "/api/specializations/9999",
        "/api/specializations/9999/doctors",
        "/api/doctors/9999",
        "/api/doctors/99999999999999999999",
        "/api/doctors/abc",
        "/api/nowhere",
    ):
        response = await client.get(path)
        assert response.status == 404, path
        assert response.content_type == "application/problem+json"
        body = await response.json()
        assert body["status"] == 404 and body["detail"], path


async def test_an_empty_specialization_has_no_doctors(
    client: TestClient, conn: asyncpg.Connection
) -> None:
    new_id = await conn.fetchval(
        "INSERT INTO specializations (slug, name) VALUES ('x', 'Пустая') RETURNING id"
    )
    response = await client.get(f"/api/specializations/{new_id}/doctors")
    assert response.status == 200
    assert await response.json() == []


async def test_seeding_twice_changes_nothing(empty_db: str) -> None:
    pool = await db.create_pool(empty_db, min_size=1, max_size=2)
    snapshot = (
        "SELECT (SELECT json_agg(s ORDER BY id) FROM specializations s)::text,"
        " (SELECT json_agg(d ORDER BY id) FROM doctors d)::text,"
        " (SELECT json_agg(h ORDER BY doctor_id, weekday) FROM doctor_hours h)::text"
    )
    try:
        assert await catalog.seed(pool, catalog.read_demo_catalog()) == (10, 20)
        first = await pool.fetchrow(snapshot)
        assert await catalog.seed(pool, catalog.read_demo_catalog()) == (10, 20)
        second = await pool.fetchrow(snapshot)
        assert first == second
        assert await pool.fetchval("SELECT count(DISTINCT doctor_id) FROM doctor_hours") == 2
    finally:
        await pool.close()


async def test_seeding_keeps_the_keywords_and_brings_them_up_to_date(empty_db: str) -> None:
    pool = await db.create_pool(empty_db, min_size=1, max_size=2)
    keywords = "SELECT keywords FROM specializations WHERE slug = 'dentistry'"
    try:
        demo = catalog.read_demo_catalog()
        assert all(len(spec.keywords) >= 15 for spec in demo.specializations)
        await catalog.seed(pool, demo)
        assert {"зубы", "кариес"} <= set(await pool.fetchval(keywords))
        changed = demo.model_copy(deep=True)
        next(s for s in changed.specializations if s.slug == "dentistry").keywords = ["брекеты"]
        await catalog.seed(pool, changed)
        assert await pool.fetchval(keywords) == ["брекеты"]
    finally:
        await pool.close()


def test_a_seed_keyword_must_say_something() -> None:
    spec = {"slug": "x", "name": "X", "description": "", "icon": "fa-x"}
    assert SeedSpecialization.model_validate(spec).keywords == []
    assert SeedSpecialization.model_validate({**spec, "keywords": [" зубы "]}).keywords == ["зубы"]
    for bad in ([""], ["   "], ["я" * 81], [None], "зубы"):
        with pytest.raises(ValidationError):
            SeedSpecialization.model_validate({**spec, "keywords": bad})
