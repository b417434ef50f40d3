"""Every request: a request id, one JSON log line, and its metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid

from aiohttp import web

from clinic.db import Database
from clinic.logs import request_id
from clinic.metrics import Metrics
from clinic.web.problems import Handler, Middleware

log = logging.getLogger("clinic.request")

_GIVEN_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
REQUEST_ID = "X-Request-ID"

# Requests whose outcome is a booking event worth counting on its own.
BOOKING_OUTCOMES = {
    ("POST", "/api/bookings", 201): "created",
    ("POST", "/api/bookings", 409): "conflicted",
    ("POST", "/api/bookings/{id}/cancel", 200): "cancelled",
}


def route_of(request: web.Request) -> str:
    """The route template (`/api/doctors/{id}`), never the raw path: bounded label values."""
    resource = request.match_info.route.resource
    if resource is None or request.match_info.http_exception is not None:
        return "unmatched"
    return resource.canonical


def observe(metrics: Metrics, database: Database) -> Middleware:
    """The root application's outermost middleware."""

    @web.middleware
    async def observed(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await _observe(request, handler, metrics, database)

    return observed


async def _observe(
    request: web.Request, handler: Handler, metrics: Metrics, database: Database
) -> web.StreamResponse:
    given = request.headers.get(REQUEST_ID, "")
    rid = given if _GIVEN_ID.fullmatch(given) else uuid.uuid4().hex
    token = request_id.set(rid)
    if database.is_open:
        pool = database.pool
        if pool.get_idle_size() == 0 and pool.get_size() >= pool.get_max_size():
            metrics.pool_waits.inc()
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers[REQUEST_ID] = rid
        return response
    finally:
        elapsed = time.perf_counter() - started
        route = route_of(request)
        metrics.requests.labels(request.method, route, str(status)).inc()
        metrics.latency.labels(request.method, route).observe(elapsed)
        outcome = BOOKING_OUTCOMES.get((request.method, route, status))
        if outcome:
            metrics.bookings.labels(outcome, "api").inc()
        log.info(
            "request",
            extra={
                "method": request.method,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
        request_id.reset(token)
