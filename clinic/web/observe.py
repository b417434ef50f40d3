"""Every request: a request id, one JSON log line, and its metrics."""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from typing import Any

from aiohttp import web

from clinic.db import Database
from clinic.logs import info_line, request_id
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


class RequestIds:
    """Ids unique across replicas and restarts: a random prefix per process, then a
    counter (cheaper than a uuid4 per request, and as good for finding a request's lines)."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(6)
        self._count = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._prefix}-{next(self._count):x}"


class Instruments:
    """The labelled children of the request metrics, looked up once per label set."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._children: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}

    def record(self, method: str, route: str, status: int, elapsed: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            m = self._metrics
            outcome = BOOKING_OUTCOMES.get(key)
            children = (
                m.requests.labels(method, route, str(status)),
                m.latency.labels(method, route),
                m.bookings.labels(outcome, "api") if outcome else None,
            )
            self._children[key] = children
        requests, latency, booking = children
        requests.inc()
        latency.observe(elapsed)
        if booking is not None:
            booking.inc()


def observe(metrics: Metrics, database: Database) -> Middleware:
    """The root application's outermost middleware."""
    ids, instruments = RequestIds(), Instruments(metrics)

    @web.middleware
    async def observed(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await _observe(request, handler, ids, instruments, metrics, database)

    return observed


async def _observe(
    request: web.Request,
    handler: Handler,
    ids: RequestIds,
    instruments: Instruments,
    metrics: Metrics,
    database: Database,
) -> web.StreamResponse:
    given = request.headers.get(REQUEST_ID, "")
    rid = given if given and _GIVEN_ID.fullmatch(given) else ids()
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
        instruments.record(request.method, route, status, elapsed)
        fields = {
            "method": request.method,
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
        }
        info_line(log, "request", fields)
        request_id.reset(token)
