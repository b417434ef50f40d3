"""The OpenAPI document covers every route, and real responses validate against it."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import jsonschema
from aiohttp.test_utils import TestClient
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from clinic.app import create_app
from clinic.web.openapi import declared, routes_of
from clinic.web.static import PAGES
from tests.conftest import Clock, auth, make_settings

# The MiniApp's pages and files, and the doctors' photos.
UNDOCUMENTED = {"/", "/{name}", "/assets/{name}", "/photos/{name}"} | {
    path for page in PAGES for path in (f"/{page}", f"/{page}/{{tail}}")
}


class Spec:
    """Validates a response body against the schema the document gives for it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.registry: Registry = Registry().with_resource(
            "urn:openapi", DRAFT202012.create_resource(document)
        )

    @staticmethod
    def rooted(schema: dict[str, Any]) -> dict[str, Any]:
        """The same schema with its $refs pointing into the registered document."""
        text = json.dumps(schema).replace('"#/components/', '"urn:openapi#/components/')
        return dict(json.loads(text))

    def check(self, method: str, path: str, status: int, content_type: str, body: Any) -> None:
        responses = self.document["paths"][path][method.lower()]["responses"]
        assert str(status) in responses, f"{method} {path} answered {status}, undocumented"
        schema = responses[str(status)]["content"][content_type]["schema"]
        jsonschema.Draft202012Validator(self.rooted(schema), registry=self.registry).validate(body)


async def test_every_route_is_documented(client: TestClient) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    for route in routes_of(client.app):
        path = route.resource.canonical if route.resource else ""
        if route.method in ("HEAD", "OPTIONS") or path in UNDOCUMENTED:  # OPTIONS: CORS preflight
            continue
        assert declared(route.handler) is not None, f"{route.method} {path} has no @operation"
        assert route.method.lower() in document["paths"][path], f"{route.method} {path}"
    assert document["paths"]["/api/bookings"]["post"]["security"] == [{"tma": []}]
    staff = {p: ops for p, ops in document["paths"].items() if p.startswith("/api/staff/")}
    assert len(staff) >= 12
    for path, operations in staff.items():
        for method, op in operations.items():
            assert op["x-roles"] and op["security"] == [{"tma": []}], (method, path)
            assert {"401", "403"} <= set(op["responses"]), (method, path)
    assert document["paths"]["/api/staff/closures"]["post"]["x-roles"] == ["admin"]
    jsonschema.Draft202012Validator.check_schema(document["components"]["schemas"]["Booking"])


async def test_demo_routes_are_documented_in_demo_mode(
    dsn: str, clock: Clock, aiohttp_client: Any
) -> None:
    demo = await aiohttp_client(create_app(make_settings(dsn, bot_token=None), clock=clock))
    paths = (await (await demo.get("/api/openapi.json")).json())["paths"]
    assert {"/api/demo/identity", "/demo/chat", "/demo/chat/send"} <= set(paths)
    assert "/telegram/webhook" not in paths


async def test_real_responses_validate_against_the_document(
    client: TestClient, clock: Clock, conn: asyncpg.Connection
) -> None:
    spec = Spec(await (await client.get("/api/openapi.json")).json())
    me = auth(1001, clock=clock)
    doctor = await conn.fetchval("SELECT id FROM doctors WHERE slug = 'volkov-igor'")
    spec_id = await conn.fetchval("SELECT specialization_id FROM doctors WHERE id = $1", doctor)
    body = {"doctor_id": doctor, "date": "2026-12-03", "time": "10:00"}
    calls: list[tuple[str, str, str, dict[str, Any]]] = [
        ("GET", "/api/specializations", "/api/specializations", {}),
        ("GET", "/api/specializations", "/api/specializations?q=" + "x" * 101, {}),
        ("GET", "/api/search", "/api/search?q=зубы", {}),
        ("GET", "/api/search", "/api/search", {}),
        ("GET", "/api/search", "/api/search?q=%00", {}),
        ("GET", "/api/specializations/{id}", f"/api/specializations/{spec_id}", {}),
        ("GET", "/api/specializations/{id}", "/api/specializations/9999", {}),
        ("GET", "/api/specializations/{id}/doctors", f"/api/specializations/{spec_id}/doctors", {}),
        ("GET", "/api/doctors/{id}", f"/api/doctors/{doctor}", {}),
        ("GET", "/api/doctors/{id}/slots", f"/api/doctors/{doctor}/slots", {}),
        ("GET", "/api/doctors/{id}/slots", f"/api/doctors/{doctor}/slots?week_of=bad", {}),
        ("POST", "/api/bookings", "/api/bookings", {"json": body, "headers": me}),
        ("POST", "/api/bookings", "/api/bookings", {"json": body, "headers": me}),
        (
            "POST",
            "/api/bookings",
            "/api/bookings",
            {"json": {**body, "time": "10:15"}, "headers": me},
        ),
        (
            "POST",
            "/api/bookings",
            "/api/bookings",
            {"data": b"{", "headers": {**me, "Content-Type": "application/json"}},
        ),
        ("POST", "/api/bookings", "/api/bookings", {"json": body}),
        ("GET", "/api/bookings", "/api/bookings", {"headers": me}),
        ("GET", "/api/bookings/{id}", "/api/bookings/1", {"headers": me}),
        ("POST", "/api/bookings/{id}/cancel", "/api/bookings/1/cancel", {"headers": me}),
        ("POST", "/api/bookings/{id}/cancel", "/api/bookings/999/cancel", {"headers": me}),
        ("GET", "/api/me", "/api/me", {"headers": me}),
        ("GET", "/healthz", "/healthz", {}),
        ("GET", "/readyz", "/readyz", {}),
    ]
    seen = set()
    for method, template, url, kwargs in calls:
        response = await client.request(method, url, **kwargs)
        spec.check(method, template, response.status, response.content_type, await response.json())
        seen.add((template, response.status))
    assert {
        ("/api/search", 200),
        ("/api/search", 422),
        ("/api/bookings", 201),
        ("/api/bookings", 409),
        ("/api/bookings", 422),
        ("/api/bookings", 400),
        ("/api/bookings", 401),
    } <= seen
