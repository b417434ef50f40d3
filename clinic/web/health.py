"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from aiohttp import web

from clinic.sql import q
from clinic.web import keys

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(2):
            await request.app[keys.pool].fetchval(q("health.ping"))
    except Exception:  # any reason the database does not answer is "not ready"
        return web.json_response({"status": "unavailable", "database": False}, status=503)
    return web.json_response({"status": "ok", "database": True})
