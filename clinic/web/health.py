"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from clinic.sql import q
from clinic.web import keys
from clinic.web.io import json_response
from clinic.web.openapi import operation


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    database: bool


routes = web.RouteTableDef()


@routes.get("/healthz")
@operation(summary="Liveness: the process answers", tag="operations", response=Health)
async def healthz(request: web.Request) -> web.Response:
    return json_response(Health(status="ok"))


@routes.get("/readyz")
@operation(
    summary="Readiness: the database answers", tag="operations", response=Ready, errors=(503,)
)
async def readyz(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(2):
            await request.app[keys.pool].fetchval(q("health.ping"))
    except Exception:  # any reason the database does not answer is "not ready"
        return json_response(Ready(status="unavailable", database=False), status=503)
    return json_response(Ready(status="ok", database=True))


@routes.get("/metrics")
@operation(summary="Prometheus metrics", tag="operations", content_type="text/plain")
async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[keys.metrics].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
