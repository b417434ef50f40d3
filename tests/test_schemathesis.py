"""Schemathesis against the served /api/openapi.json, on a real TCP port.

The app runs in a thread of its own (its own event loop) on the seeded test database,
with the real clock and a fake Bot API, so the tests here are plain synchronous
functions that talk HTTP to it, as schemathesis does. Every documented operation is
fuzzed with data that fits the document (positive) and data that does not (negative),
authenticated as a test patient (as an admin on /api/staff); no answer may be a 5xx,
and every answer must have a documented status code, a documented content type and a
body its schema accepts.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis import checks as st_checks

from clinic import keys
from clinic.app import create_app
from clinic.telegram.models import TelegramUser
from clinic.web import initdata, openapi
from tests.conftest import BOT_TOKEN, make_settings
from tests.fakes.bot_api import FakeBotApi
from tests.pg import Databases

MAX_EXAMPLES = 40
PATIENT = TelegramUser(id=4242, first_name="Фаззер", language_code="ru")
# The staff routes are fuzzed as an admin (in ADMIN_IDS), who may call every one of them.
ADMIN = TelegramUser(id=4141, first_name="Админ", language_code="ru")
CONFORMANCE = [
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
]
CHECKS = [st_checks.not_a_server_error, *CONFORMANCE]


class LiveServer:
    """The app and a fake Bot API in a background thread, listening on 127.0.0.1."""

    def __init__(self, make: Any) -> None:
        self._make = make
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="live-server", daemon=True)
        self._failure: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self.url = ""
        self.app: web.Application | None = None

    def __enter__(self) -> LiveServer:
        self._thread.start()
        if not self._ready.wait(30):
            raise TimeoutError("the live server did not start in 30 s")
        if self._failure is not None:
            raise self._failure
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _serve(self) -> None:
        self._loop = loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # surfaced to the test by __enter__
            self._failure = exc
            self._ready.set()
        finally:
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with FakeBotApi(BOT_TOKEN) as fake:
            self.app = self._make(fake.url)
            runner = web.AppRunner(self.app)
            await runner.setup()
            try:
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                host, port = runner.addresses[0][:2]
                self.url = f"http://{host}:{port}"
                self._ready.set()
                await self._stop.wait()
            finally:
                await runner.cleanup()


def real_clock() -> datetime:
    return datetime.now(UTC)


def serve(dsn: str, **overrides: Any) -> LiveServer:
    def make(bot_api_url: str) -> web.Application:
        settings = make_settings(
            dsn, telegram_api_url=bot_api_url, admin_ids=[ADMIN.id], **overrides
        )
        return create_app(settings, clock=real_clock)

    return LiveServer(make)


@pytest.fixture(scope="module")
def live_dsn(databases: Databases) -> Iterator[str]:
    with databases.fresh(databases.seeded) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def server(live_dsn: str) -> Iterator[LiveServer]:
    with serve(live_dsn) as live:
        yield live


@pytest.fixture(scope="module")
def api(server: LiveServer) -> Any:
    return schemathesis.openapi.from_url(f"{server.url}/api/openapi.json", timeout=10)


def authorization(who: TelegramUser = PATIENT) -> dict[str, str]:
    """A MiniApp's header for `who`, signed now: it stays valid for a day."""
    signed = initdata.sign(who, bot_token=BOT_TOKEN)
    return {"Authorization": f"tma {signed}"}


def fuzz_targets() -> list[Any]:
    """Every documented operation, fuzzed with fitting data and, where it takes any
    input besides the caller's identity, with data that does not fit."""
    app = create_app(make_settings("postgresql://unused@127.0.0.1:9/unused"))
    targets = []
    for path, methods in openapi.build(app, public_url=None)["paths"].items():
        for method, doc in methods.items():
            label, secured = f"{method.upper()} {path}", "security" in doc
            modes = [GenerationMode.POSITIVE]
            if doc.get("parameters") or doc.get("requestBody"):
                modes.append(GenerationMode.NEGATIVE)
            targets += [
                pytest.param(label, mode, secured, id=f"{label} {mode.value}") for mode in modes
            ]
    return targets


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("label", "mode", "secured"), fuzz_targets())
def test_the_api_keeps_its_document(
    api: Any, server: LiveServer, label: str, mode: GenerationMode, secured: bool
) -> None:
    operation = api.find_operation_by_label(label)
    assert operation is not None, label
    headers = authorization(ADMIN if " /api/staff/" in label else PATIENT)
    session = requests.Session()

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
    def fuzz(case: Any) -> None:
        response = case.call(base_url=server.url, session=session, headers=headers, timeout=10)
        case.validate_response(response, checks=CHECKS, headers=headers)
        if secured:
            assert response.status_code != 401, "the test initData does not authenticate"

    with session:
        fuzz()


# Answers fuzzing rarely reaches, checked against the same document


def exchange(
    api: Any, server: LiveServer, label: str, *, checks: list[Any] = CHECKS, **request: Any
) -> requests.Response:
    """Sends one request to the operation `label` and validates the answer by the document."""
    case = api.find_operation_by_label(label).Case(**request)
    headers = {**authorization(), **request.get("headers", {})}
    response = case.call(base_url=server.url, headers=headers, timeout=10)
    case.validate_response(response, checks=checks, headers=headers)
    return response


def a_free_slot(api: Any, server: LiveServer, doctor: int) -> tuple[str, str]:
    """The first free slot of next week (next week always has some, today may not)."""
    week_of = (real_clock() + timedelta(days=7)).date().isoformat()
    week = exchange(
        api,
        server,
        "GET /api/doctors/{id}/slots",
        path_parameters={"id": doctor},
        query={"week_of": week_of},
    ).json()
    day = next(d for d in week["days"] if d["slots"])
    return day["date"], day["slots"][0]


def test_a_booking_from_start_to_cancel_keeps_the_document(api: Any, server: LiveServer) -> None:
    specializations = exchange(api, server, "GET /api/specializations", query={"q": "карди"})
    specialization = specializations.json()[0]["id"]
    doctors = exchange(
        api, server, "GET /api/specializations/{id}/doctors", path_parameters={"id": specialization}
    ).json()
    doctor = doctors[0]["id"]
    exchange(api, server, "GET /api/doctors/{id}", path_parameters={"id": doctor})
    day, at = a_free_slot(api, server, doctor)
    body = {"doctor_id": doctor, "date": day, "time": at}
    booked = exchange(api, server, "POST /api/bookings", body=body, media_type="application/json")
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert booking["reminders"], booking
    again = exchange(api, server, "POST /api/bookings", body=body, media_type="application/json")
    assert again.status_code == 409
    mine = exchange(api, server, "GET /api/bookings").json()
    assert booking["id"] in [b["id"] for b in mine]
    path = {"id": booking["id"]}
    assert exchange(api, server, "GET /api/bookings/{id}", path_parameters=path).status_code == 200
    for _ in range(2):  # cancelling twice is the same as once
        cancelled = exchange(api, server, "POST /api/bookings/{id}/cancel", path_parameters=path)
        assert cancelled.json()["status"] == "cancelled"
    stranger = authorization(TelegramUser(id=4343, first_name="Чужой"))
    hidden = exchange(api, server, "GET /api/bookings/{id}", path_parameters=path, headers=stranger)
    assert hidden.status_code == 404
    me = exchange(api, server, "GET /api/me").json()
    assert me["id"] == PATIENT.id


def test_the_webhooks_answer_keeps_the_document(api: Any, server: LiveServer) -> None:
    assert server.app is not None
    secret = server.app[keys.settings].webhook_secret_value()
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    case = api.find_operation_by_label("POST /telegram/webhook").Case(headers=headers)
    update = {"update_id": 1, "edited_channel_post": {"message_id": 1}}
    response = requests.post(
        f"{server.url}/telegram/webhook", json=update, headers=headers, timeout=10
    )
    assert response.status_code == 200
    case.validate_response(response, checks=CHECKS, headers=headers)


def test_the_documented_booking_time_is_the_hh_mm_the_api_takes(
    api: Any, server: LiveServer
) -> None:
    document = requests.get(f"{server.url}/api/openapi.json", timeout=10).json()
    time_schema = document["components"]["schemas"]["BookingRequest"]["properties"]["time"]
    # schemathesis's own validator, with formats checked as it checks them.
    validator = jsonschema_rs.validator_for(time_schema, validate_formats=True)
    takes, refuses = "09:30", "09:30:00+03:00"
    assert validator.is_valid(takes), f"the document refuses {takes!r}: {time_schema}"
    assert not validator.is_valid(refuses), f"the document allows {refuses!r}: {time_schema}"


def test_the_api_docs_page_keeps_the_document_before_the_miniapp_is_built(
    api: Any, live_dsn: str, tmp_path: Path
) -> None:
    # The page answers 503 until `make miniapp` has run: fine, if the document says so.
    with serve(live_dsn, miniapp_dist=tmp_path) as bare:
        exchange(api, bare, "GET /api/docs", checks=CONFORMANCE)
