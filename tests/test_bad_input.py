"""Hostile and random input: it gets a 2xx or a 4xx, never a 5xx, and leaves no trace.

Hypothesis throws random JSON, random bytes, random query strings and random path ids
at the REST API and at the bot's webhook (with its genuine secret). Whatever is refused
writes nothing: no booking, no reminder, no claimed update, no message to Telegram.
Then classic SQL injection strings go into every text field and query parameter, the
initData names and the bot's texts: the database ends up exactly as the legitimate part
of each request leaves it, and a name full of SQL is stored verbatim.

The app's clock stands at Wednesday 2 December 2026, 10:17 Moscow time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote, quote_from_bytes

import asyncpg
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from yarl import URL

from clinic import keys, texts
from clinic.app import create_app
from clinic.telegram.models import Update
from tests.conftest import BOT_TOKEN, Clock, auth, make_settings, user
from tests.fakes.bot_api import FakeBotApi

# Bounded and deterministic: the same examples on every run, no example database.
fuzz = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

PATIENT = 1001
OTHER = 1002
THURSDAY = "2026-12-03"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# Any JSON document: scalars (big integers, NaN and infinities included: the last two
# are not JSON at all once encoded) nested in arrays and objects.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats()
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=16,
)
json_objects = st.dictionaries(st.text(max_size=12), json_values, max_size=5)


def encode(value: Any) -> bytes:
    """JSON as a client would send it; NaN and infinities make it invalid on purpose."""
    return json.dumps(value, ensure_ascii=False).encode()


# Bodies shaped like a booking: each field mostly right, sometimes nearly right or wrong,
# so that some of them book (201), some find the slot taken (409) or the doctor absent.
booking_bodies = st.fixed_dictionaries(
    {
        "doctor_id": st.one_of(
            st.integers(min_value=1, max_value=20),
            st.integers(min_value=1, max_value=20),
            st.sampled_from([0, -1, 21, 9999, 2**31, 2**63, "1", 1.0, 1.5, True, None]),
        ),
        "date": st.one_of(
            st.sampled_from([THURSDAY, "2026-12-04", "2026-12-05", "2026-12-07"]),
            st.sampled_from([THURSDAY, "2026-12-04", "2026-12-05", "2026-12-07"]),
            st.sampled_from(["2026-12-01", "2026-12-06", "2027-12-03", "03.12.2026", ""]),
            st.dates().map(str),
        ),
        "time": st.one_of(
            st.sampled_from(["09:00", "09:30", "10:00", "12:30", "19:30"]),
            st.sampled_from(["09:00", "09:30", "10:00", "12:30", "19:30"]),
            st.sampled_from(["07:30", "20:00", "09:15", "9:00", "09:00:00", "24:00", ""]),
            st.times().map(lambda t: t.isoformat()),
        ),
    },
    optional={"user_id": json_values, "note": json_values},
)


# Row counts


TABLES = """
SELECT table_name::text AS name
FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
ORDER BY 1
"""


async def row_counts(conn: asyncpg.Connection) -> dict[str, int]:
    """The number of rows of every table in the schema, by table name (plain counts: the
    embedded PostgreSQL has no XML support for a one-query version)."""
    names = [row["name"] for row in await conn.fetch(TABLES)]
    return {name: await conn.fetchval(f'SELECT count(*) FROM public."{name}"') for name in names}


def plus(counts: Mapping[str, int], **more: int) -> dict[str, int]:
    assert set(more) <= set(counts), set(more) - set(counts)
    return {name: n + more.get(name, 0) for name, n in counts.items()}


def without(counts: Mapping[str, int], *names: str) -> dict[str, int]:
    return {name: n for name, n in counts.items() if name not in names}


async def assert_refused_or_served(response: ClientResponse, allowed: set[int]) -> None:
    """The status is one of `allowed` (never a 5xx); a refusal is a problem+json body."""
    text = await response.text()
    assert response.status < 500, (response.status, text)
    assert response.status in allowed, (response.status, text)
    if response.status >= 400:
        assert response.content_type == "application/problem+json", text
        problem = json.loads(text)
        assert problem["status"] == response.status and problem["code"], problem


async def doctor_id(conn: asyncpg.Connection, slug: str = "volkov-igor") -> int:
    found: int = await conn.fetchval("SELECT id FROM doctors WHERE slug = $1", slug)
    return found


# Bot mode: the app and a fake Bot API


_ids = itertools.count(50_000)


class Bot:
    def __init__(self, client: TestClient, app: web.Application, fake: FakeBotApi) -> None:
        self.client, self.app, self.fake = client, app, fake
        self.secret = app[keys.settings].webhook_secret_value()

    async def post(self, body: bytes) -> ClientResponse:
        response = await self.client.post(
            "/telegram/webhook",
            data=body,
            headers={SECRET_HEADER: self.secret, "Content-Type": "application/json"},
        )
        await response.read()
        await self.app[keys.bot].intake.drain(5)
        return response

    def calls(self, *methods: str) -> int:
        return sum(len(self.fake.calls_to(method)) for method in methods)


@pytest.fixture
async def bot(dsn: str, clock: Clock, aiohttp_client: Any) -> AsyncIterator[Bot]:
    async with FakeBotApi(BOT_TOKEN) as fake:
        app = create_app(make_settings(dsn, telegram_api_url=fake.url), clock=clock)
        client = await aiohttp_client(app)
        for _ in range(250):  # the start-up calls run in the background
            if fake.calls_to("setChatMenuButton"):
                break
            await asyncio.sleep(0.02)
        yield Bot(client, app, fake)
        await client.close()


def telegram_user(user_id: int, first_name: str, **extra: Any) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, **extra}


def message_update(text: Any, sender: dict[str, Any]) -> Any:
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "from": sender,
            "chat": {"id": sender["id"], "type": "private"},
            "date": 1_796_000_000,
            "text": text,
        },
    }


def callback_update(data: Any, sender: dict[str, Any]) -> Any:
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": str(next(_ids)),
            "from": sender,
            "chat_instance": "-1",
            "data": data,
            "message": {
                "message_id": 7,
                "chat": {"id": sender["id"], "type": "private"},
                "date": 1_796_000_000,
                "text": "…",
            },
        },
    }


# Updates shaped like Telegram's, with random texts, names, callback data and update ids.
update_ids = st.one_of(
    st.integers(min_value=0, max_value=2**63 - 1),
    st.integers(min_value=0, max_value=2**63 - 1),
    st.sampled_from([-1, 2**63, "7", 7.0, True, None]),
)
telegram_users = st.fixed_dictionaries(
    {
        "id": st.integers(min_value=1, max_value=2**53)
        | st.sampled_from([0, -5, 2**63, "12", None]),
        "is_bot": st.booleans(),
        "first_name": st.text(max_size=30) | st.sampled_from(["", None, 5, "x" * 300]),
    },
    optional={"username": st.text(max_size=40), "language_code": st.text(max_size=5)},
)
shaped_updates = st.builds(
    lambda make, payload, sender, update_id: {**make(payload, sender), "update_id": update_id},
    st.sampled_from([message_update, callback_update]),
    st.text(max_size=80) | st.sampled_from(["/start", "v1:menu", "v1:list", "v1:cancel:1"]),
    telegram_users,
    update_ids,
)


# Random JSON and bytes as bodies


async def post_booking(
    client: TestClient, conn: asyncpg.Connection, clock: Clock, body: bytes
) -> int:
    """Posts `body` as a booking: written if and only if booked (201), with its reminders."""
    headers = {**auth(PATIENT, clock=clock), "Content-Type": "application/json"}
    await client.get("/api/me", headers=headers)  # the patient is registered beforehand
    before = await row_counts(conn)
    response = await client.post("/api/bookings", data=body, headers=headers)
    await assert_refused_or_served(response, {201, 400, 404, 409, 413, 422})
    written = {}
    if response.status == 201:
        written = {"bookings": 1, "notifications": len((await response.json())["reminders"])}
    assert await row_counts(conn) == plus(before, **written)
    return response.status


@fuzz
@given(body=json_values)
async def test_random_json_to_book_is_refused_and_writes_nothing(
    client: TestClient, conn: asyncpg.Connection, clock: Clock, body: Any
) -> None:
    assert await post_booking(client, conn, clock, encode(body)) in (400, 422)


@fuzz
@given(body=booking_bodies)
async def test_bodies_shaped_like_a_booking_write_only_when_booked(
    client: TestClient, conn: asyncpg.Connection, clock: Clock, body: Any
) -> None:
    await post_booking(client, conn, clock, encode(body))


@fuzz
@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded", "", "x/y"]
    ),
)
async def test_random_bytes_to_book_are_refused_and_write_nothing(
    client: TestClient, conn: asyncpg.Connection, clock: Clock, body: bytes, content_type: str
) -> None:
    await client.get("/api/me", headers=auth(PATIENT, clock=clock))  # registered beforehand
    before = await row_counts(conn)
    headers = {**auth(PATIENT, clock=clock), "Content-Type": content_type}
    response = await client.post("/api/bookings", data=body, headers=headers)
    await assert_refused_or_served(response, {400, 413, 422})
    assert await row_counts(conn) == before


@pytest.fixture
async def victims_booking(client: TestClient, conn: asyncpg.Connection, clock: Clock) -> int:
    response = await client.post(
        "/api/bookings",
        json={"doctor_id": await doctor_id(conn), "date": THURSDAY, "time": "11:00"},
        headers=auth(PATIENT, clock=clock),
    )
    assert response.status == 201
    booking: int = (await response.json())["id"]
    await client.get("/api/me", headers=auth(OTHER, clock=clock))  # registered beforehand
    return booking


@fuzz
@given(body=st.one_of(json_values.map(encode), st.binary(max_size=200)))
async def test_random_bodies_to_cancel_anothers_booking_change_nothing(
    client: TestClient, conn: asyncpg.Connection, clock: Clock, victims_booking: int, body: bytes
) -> None:
    before = await row_counts(conn)
    for booking in (victims_booking, victims_booking + 1, 0):
        response = await client.post(
            f"/api/bookings/{booking}/cancel",
            data=body,
            headers={**auth(OTHER, clock=clock), "Content-Type": "application/json"},
        )
        await assert_refused_or_served(response, {404})
    assert await row_counts(conn) == before
    status = await conn.fetchval("SELECT status FROM bookings WHERE id = $1", victims_booking)
    assert status == "confirmed"


async def post_update(bot: Bot, conn: asyncpg.Connection, update: Any) -> None:
    """Posts `update` to the webhook: refused (400) without a trace, or taken once, with
    no write but the claim and the sender's registration, and every callback answered."""
    before, calls = await row_counts(conn), len(bot.fake.calls)
    response = await bot.post(encode(update))
    await assert_refused_or_served(response, {200, 400})
    after, made = await row_counts(conn), [c.method for c in bot.fake.calls[calls:]]
    if response.status == 400:
        assert after == before
        assert made == []
        return
    claimed = after["processed_updates"] - before["processed_updates"]
    assert claimed in (0, 1)
    assert after["users"] - before["users"] in (0, 1)
    assert without(after, "users") == without(plus(before, processed_updates=claimed), "users")
    try:
        parsed = Update.model_validate(update)
    except ValidationError:
        parsed = None
    if not claimed or parsed is None or (parsed.message is None and parsed.callback_query is None):
        assert made == []
    elif parsed.callback_query is not None:
        assert made.count("answerCallbackQuery") == 1, made
    else:
        assert made.count("sendMessage") <= 1, made


@fuzz
@given(update=json_values | json_objects)
async def test_random_json_to_the_webhook_is_refused_or_ignored_without_a_trace(
    bot: Bot, conn: asyncpg.Connection, update: Any
) -> None:
    await post_update(bot, conn, update)


@fuzz
@given(update=shaped_updates)
async def test_updates_shaped_like_telegrams_are_taken_once_and_answered(
    bot: Bot, conn: asyncpg.Connection, update: Any
) -> None:
    await post_update(bot, conn, update)


@fuzz
@given(body=st.binary(max_size=300))
async def test_random_bytes_to_the_webhook_are_refused_without_a_trace(
    bot: Bot, conn: asyncpg.Connection, body: bytes
) -> None:
    before, calls = await row_counts(conn), len(bot.fake.calls)
    response = await bot.post(body)
    await assert_refused_or_served(response, {200, 400})
    if response.status == 400:
        assert await row_counts(conn) == before
        assert len(bot.fake.calls) == calls


# Random query strings and path ids


@fuzz
@given(q=st.text(max_size=120) | st.sampled_from(["%", "_", "\\", "ё", "*", "..", "кар"]))
async def test_random_search_text_is_served_or_refused(client: TestClient, q: str) -> None:
    response = await client.get("/api/specializations", params={"q": q})
    await assert_refused_or_served(response, {200, 422})
    if response.status == 200:
        assert isinstance(await response.json(), list)


@fuzz
@given(
    q=st.text(max_size=120)
    | st.sampled_from(["%", "_", "\\", "ё", "*", "..", "зуб", ":*", "&", "!", "<->", "'", "в на"])
)
async def test_random_catalog_search_text_is_served_or_refused(client: TestClient, q: str) -> None:
    # Text-search syntax ("&", ":*", "<->") is only ever a word separator to the search.
    response = await client.get("/api/search", params={"q": q})
    await assert_refused_or_served(response, {200, 422})
    if response.status == 200:
        found = await response.json()
        assert set(found) == {"specializations", "doctors"}
        assert all(isinstance(found[kind], list) for kind in found)
    else:
        assert len(q) > 100 or "\x00" in q


@fuzz
@given(raw=st.binary(max_size=60))
async def test_random_raw_query_strings_are_served_or_refused(
    client: TestClient, conn: asyncpg.Connection, raw: bytes
) -> None:
    doctor = await doctor_id(conn)
    encoded = quote_from_bytes(raw, safe="")
    for path, name in (
        ("/api/specializations", "q"),
        ("/api/search", "q"),
        (f"/api/doctors/{doctor}/slots", "week_of"),
    ):
        response = await client.get(URL(f"{path}?{name}={encoded}", encoded=True))
        await assert_refused_or_served(response, {200, 422})


@fuzz
@given(
    week_of=st.text(max_size=30)
    | st.dates().map(str)
    | st.sampled_from(
        ["2026-12-03", "２０２６-１２-０３", "2026-12-03T00:00", "2026-W49", "+2026-12-03"]
    )
)
async def test_random_week_of_is_served_or_refused(
    client: TestClient, conn: asyncpg.Connection, week_of: str
) -> None:
    response = await client.get(
        f"/api/doctors/{await doctor_id(conn)}/slots", params={"week_of": week_of}
    )
    await assert_refused_or_served(response, {200, 422})


path_ids = (
    st.integers(min_value=0, max_value=10**40).map(str)
    | st.integers(min_value=0, max_value=10**6).map(lambda n: f"000{n}")
    | st.text(alphabet="0123456789", min_size=1, max_size=60)
    | st.text(alphabet="0١٢٣９𝟗", min_size=1, max_size=6)  # digits of other scripts
    | st.sampled_from(["0", "00", "2147483647", "2147483648", "9223372036854775808", "-1"])
)


@fuzz
@given(segment=path_ids)
async def test_random_path_ids_are_found_or_not_found(
    client: TestClient, clock: Clock, segment: str
) -> None:
    headers = auth(PATIENT, clock=clock)
    for method, path in (
        ("GET", "/api/doctors/{}"),
        ("GET", "/api/doctors/{}/slots"),
        ("GET", "/api/specializations/{}"),
        ("GET", "/api/specializations/{}/doctors"),
        ("GET", "/api/bookings/{}"),
        ("POST", "/api/bookings/{}/cancel"),
    ):
        url = URL(path.format(quote(segment, safe="")), encoded=True)
        response = await client.request(method, url, headers=headers)
        await assert_refused_or_served(response, {200, 404})


async def test_an_id_of_five_thousand_digits_is_not_found(client: TestClient, clock: Clock) -> None:
    # Python refuses to turn a string of more than 4300 digits into an int (ValueError).
    huge = "9" * 5000
    for method, path in (
        ("GET", f"/api/doctors/{huge}"),
        ("GET", f"/api/specializations/{huge}/doctors"),
        ("POST", f"/api/bookings/{huge}/cancel"),
    ):
        response = await client.request(method, path, headers=auth(PATIENT, clock=clock))
        await assert_refused_or_served(response, {404})


# What a signed initData may carry


async def test_a_nul_in_a_signed_name_is_refused_not_a_server_error(
    client: TestClient, conn: asyncpg.Connection, clock: Clock
) -> None:
    for n, names in enumerate(({"first_name": "Ан\x00на"}, {"last_name": "\x00"})):
        before = await row_counts(conn)
        who = user(PATIENT + n, **names)
        response = await client.get("/api/me", headers=auth(who, clock=clock))
        await assert_refused_or_served(response, {200, 401, 422})
        if response.status != 200:
            assert await row_counts(conn) == before


# SQL injection: parameters, not SQL


INJECTIONS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "'; DROP TABLE bookings; --",
    "'); DROP TABLE users; --",
    "1; SELECT pg_sleep(5)",
    "1' AND (SELECT 1 FROM pg_sleep(5)) IS NOT NULL --",
    "$$; DELETE FROM doctors; $$",
    "$1",
    "%' --",
    "%",
    "_",
    "\\'; TRUNCATE bookings CASCADE; --",
    "1 UNION SELECT telegram_id, first_name FROM users",
    "'; UPDATE bookings SET status = 'cancelled'; --",
    "'; COPY users TO PROGRAM 'id'; --",
    "E'\\x27' OR TRUE",
    "ʼ OR ʼ1ʼ=ʼ1",  # modifier letter apostrophe
    "＇ OR ＇1＇=＇1",  # fullwidth apostrophe
    "’; DROP TABLE specializations; --",  # right single quotation mark
    "Ω≈ç√∫ '; SELECT 1; -- 𝕏 \u202e\u200b",  # right-to-left override, zero-width space
    '" OR ""="',
    "*/ OR /* 1",
]
SLEEP_LIMIT = 3.0  # seconds: a pg_sleep(5) that ran would show


async def assert_intact(conn: asyncpg.Connection, before: dict[str, int], **writes: int) -> None:
    """Every table is still there with the same rows, but for the legitimate `writes`."""
    assert await row_counts(conn) == plus(before, **writes)
    assert await conn.fetchval("SELECT count(*) FROM doctors") == before["doctors"] > 0


async def test_injections_in_the_search_change_nothing(
    client: TestClient, conn: asyncpg.Connection
) -> None:
    before = await row_counts(conn)
    for payload in INJECTIONS:
        started = time.monotonic()
        response = await client.get("/api/specializations", params={"q": payload})
        assert time.monotonic() - started < SLEEP_LIMIT, payload
        await assert_refused_or_served(response, {200})
        names = [s["name"] for s in await response.json()]
        assert all(payload.strip().lower() in name.lower() for name in names), (payload, names)
    await assert_intact(conn, before)


async def test_injections_in_the_catalog_search_change_nothing(
    client: TestClient, conn: asyncpg.Connection
) -> None:
    before = await row_counts(conn)
    for payload in INJECTIONS:
        started = time.monotonic()
        response = await client.get("/api/search", params={"q": payload})
        assert time.monotonic() - started < SLEEP_LIMIT, payload
        await assert_refused_or_served(response, {200})
        found = await response.json()
        assert set(found) == {"specializations", "doctors"}, payload
    await assert_intact(conn, before)


async def test_injections_in_week_of_change_nothing(
    client: TestClient, conn: asyncpg.Connection
) -> None:
    before = await row_counts(conn)
    doctor = await doctor_id(conn)
    for payload in INJECTIONS:
        started = time.monotonic()
        for path in (f"/api/doctors/{doctor}/slots", "/api/specializations"):
            response = await client.get(path, params={"week_of": payload, "q": "кар"})
            await assert_refused_or_served(response, {200, 422})
        assert time.monotonic() - started < SLEEP_LIMIT, payload
    await assert_intact(conn, before)


async def test_injections_in_booking_fields_change_nothing(
    client: TestClient, conn: asyncpg.Connection, clock: Clock
) -> None:
    await client.get("/api/me", headers=auth(PATIENT, clock=clock))
    before = await row_counts(conn)
    valid = {"doctor_id": await doctor_id(conn), "date": THURSDAY, "time": "10:00"}
    for payload in INJECTIONS:
        for field in ("doctor_id", "date", "time"):
            response = await client.post(
                "/api/bookings", json={**valid, field: payload}, headers=auth(PATIENT, clock=clock)
            )
            await assert_refused_or_served(response, {422})
        extra = await client.post(
            "/api/bookings", json={**valid, payload: payload}, headers=auth(PATIENT, clock=clock)
        )
        await assert_refused_or_served(extra, {422})
    await assert_intact(conn, before)
    # The same body, clean, still books: the refusals above were about the payloads.
    booked = await client.post("/api/bookings", json=valid, headers=auth(PATIENT, clock=clock))
    assert booked.status == 201
    planned = len((await booked.json())["reminders"])
    await assert_intact(conn, before, bookings=1, notifications=planned)


async def test_injections_in_path_segments_change_nothing(
    client: TestClient, conn: asyncpg.Connection, clock: Clock
) -> None:
    await client.get("/api/me", headers=auth(PATIENT, clock=clock))
    before = await row_counts(conn)
    for payload in INJECTIONS:
        segment = quote(payload, safe="")
        for method, path in (
            ("GET", f"/api/doctors/{segment}"),
            ("GET", f"/api/doctors/1{segment}/slots"),
            ("GET", f"/api/specializations/{segment}/doctors"),
            ("GET", f"/api/bookings/{segment}"),
            ("POST", f"/api/bookings/{segment}/cancel"),
            ("POST", f"/api/bookings/1{segment}/cancel"),
        ):
            response = await client.request(
                method, URL(path, encoded=True), headers=auth(PATIENT, clock=clock)
            )
            await assert_refused_or_served(response, {404})
    await assert_intact(conn, before)


async def test_injections_in_the_init_data_names_are_stored_verbatim(
    client: TestClient, conn: asyncpg.Connection, clock: Clock
) -> None:
    before = await row_counts(conn)
    for n, payload in enumerate(INJECTIONS):
        who = user(7_000 + n, first_name=payload, last_name=payload, username=payload[:64])
        started = time.monotonic()
        response = await client.get("/api/me", headers=auth(who, clock=clock))
        assert time.monotonic() - started < SLEEP_LIMIT, payload
        await assert_refused_or_served(response, {200})
        me = await response.json()
        assert (me["id"], me["first_name"], me["last_name"]) == (7_000 + n, payload, payload)
        stored = await conn.fetchrow(
            "SELECT first_name, last_name, username FROM users WHERE telegram_id = $1", 7_000 + n
        )
        assert tuple(stored) == (payload, payload, payload[:64])
    await assert_intact(conn, before, users=len(INJECTIONS))


async def test_injections_in_the_bots_updates_change_nothing(
    bot: Bot, conn: asyncpg.Connection
) -> None:
    before = await row_counts(conn)
    for n, payload in enumerate(INJECTIONS):
        sender = telegram_user(8_000 + n, payload, last_name=payload, username=payload[:32])
        for update in (
            message_update(payload, sender),
            message_update("/start", sender),
            callback_update(payload, sender),
            callback_update(f"v1:cancel:{payload}", sender),
            callback_update(f"v1:{payload}", sender),
        ):
            assert (await bot.post(encode(update))).status == 200
        stored = await conn.fetchval(
            "SELECT first_name FROM users WHERE telegram_id = $1", 8_000 + n
        )
        assert stored == payload
    await assert_intact(conn, before, users=len(INJECTIONS), processed_updates=5 * len(INJECTIONS))
    answers = [c.params.get("text") for c in bot.fake.calls_to("answerCallbackQuery")]
    assert answers == [texts.RU("bot.unknown_button")] * (3 * len(INJECTIONS))
    assert bot.calls("editMessageText") == 0


async def test_a_client_gone_before_its_body_is_logged_as_499_without_a_traceback(
    dsn: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """The body is promised, a part sent, and the connection closed (as a load client or
    a phone losing its network does): no error in the log, a 499 request line. Served as
    `clinic serve` serves (handlers are not cancelled when their client goes)."""
    runner = web.AppRunner(create_app(make_settings(dsn), clock=clock))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        head = "".join(f"{name}: {value}\r\n" for name, value in auth(1001, clock=clock).items())
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        caplog.set_level("INFO")
        writer.write(
            (
                "POST /api/bookings HTTP/1.1\r\nHost: clinic.test\r\n"
                "Content-Type: application/json\r\nContent-Length: 1000\r\n"
                f"{head}\r\n" + '{"doctor_id": 1, '
            ).encode()
        )
        await writer.drain()
        await asyncio.sleep(0.2)  # the handler is reading the body now
        writer.close()
        await writer.wait_closed()
        deadline = time.monotonic() + 5
        while not any(r.name == "clinic.request" for r in caplog.records):
            assert time.monotonic() < deadline, "no request line for the client that went away"
            await asyncio.sleep(0.05)
        [line] = [r for r in caplog.records if r.name == "clinic.request"]
        assert getattr(line, "status", None) == 499
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    finally:
        await runner.cleanup()
