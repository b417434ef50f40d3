"""Liveness, readiness and the Prometheus metrics, on the root application."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from clinic import db
from clinic.errors import DatabaseUnavailable
from clinic.metrics import Metrics
from clinic.web.io import json_response
from clinic.web.openapi import operation


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    database: bool


def routes(database: db.Database, metrics: Metrics) -> web.RouteTableDef:
    table = web.RouteTableDef()

    @table.get("/healthz")
    @operation(summary="Liveness: the process answers", tag="operations", response=Health)
    async def healthz(request: web.Request) -> web.Response:
        return json_response(Health(status="ok"))

    @table.get("/readyz")
    @operation(
        summary="Readiness: the database answers",
        tag="operations",
        response=Ready,
        errors=(DatabaseUnavailable,),
    )
    async def readyz(request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(2):
                await db.ping(database.pool)
        except Exception:  # any reason the database does not answer is "not ready"
            return json_response(Ready(status="unavailable", database=False), status=503)
        return json_response(Ready(status="ok", database=True))

    @table.get("/metrics")
    @operation(summary="Prometheus metrics", tag="operations", content_type="text/plain")
    async def prometheus(request: web.Request) -> web.Response:
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return table
