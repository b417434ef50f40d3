"""Prometheus instruments, on a registry of the app's own (no process-wide globals)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class PoolCollector(Collector):
    """The asyncpg pool's size, idle and in-use connections, read at scrape time."""

    def __init__(self) -> None:
        self.pool: Any = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.pool is None:
            return
        size, idle = self.pool.get_size(), self.pool.get_idle_size()
        family = GaugeMetricFamily(
            "clinic_db_pool_connections", "Database pool connections by state", labels=["state"]
        )
        family.add_metric(["open"], size)
        family.add_metric(["idle"], idle)
        family.add_metric(["in_use"], size - idle)
        family.add_metric(["max"], self.pool.get_max_size())
        yield family


class DispatchCollector(Collector):
    """The reminder dispatcher's counters (its `snapshot()`), read at scrape time."""

    OUTCOMES = (
        "sent",
        "failed",
        "retried",
        "rate_limited",
        "blocked",
        "skipped",
        "released",
        "held",
    )

    def __init__(self) -> None:
        self.source: Any = None

    def collect(self) -> Iterator[Metric]:
        if self.source is None:
            return
        numbers = self.source.snapshot()
        sent = CounterMetricFamily(
            "clinic_notifications", "Reminder deliveries by outcome", labels=["outcome"]
        )
        for outcome in self.OUTCOMES:
            sent.add_metric([outcome], numbers[outcome])
        yield sent
        yield CounterMetricFamily(
            "clinic_notification_batches", "Batches claimed", value=numbers["claimed_batches"]
        )
        yield GaugeMetricFamily(
            "clinic_notifications_oldest_due_seconds",
            "How long the oldest due notification had waited when last claimed",
            value=numbers["oldest_due_age"],
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "clinic_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "clinic_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.bookings = Counter(
            "clinic_bookings", "Booking outcomes", ["outcome", "channel"], registry=r
        )
        self.pool_waits = Counter(
            "clinic_db_pool_waits",
            "Requests that found every pool connection in use when they started",
            registry=r,
        )
        self.pool = PoolCollector()
        r.register(self.pool)
        self.dispatch = DispatchCollector()
        r.register(self.dispatch)
