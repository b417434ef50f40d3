"""MiniApp initData: checked exactly as Telegram documents it."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, urlencode

import pytest

from clinic.errors import InitDataExpired, InitDataInvalid
from clinic.web import initdata
from tests.conftest import BOT_TOKEN, user

NOW = 1_800_000_000


def telegram_style(fields: dict[str, str], token: str) -> str:
    """Signs like Telegram's documentation says, written out independently of the code."""
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    digest = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


def test_a_telegram_signed_init_data_verifies() -> None:
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": (
            '{"id":279058397,"first_name":"Vladislav","last_name":"Kibenko",'
            '"username":"vdkfrost","language_code":"ru","is_premium":true,'
            '"allows_write_to_pm":true}'
        ),
        "auth_date": str(NOW - 10),
        "signature": "abc",
    }
    who = initdata.verify(
        telegram_style(fields, BOT_TOKEN), bot_token=BOT_TOKEN, max_age=60, now=NOW
    )
    assert (who.id, who.first_name, who.username, who.is_premium) == (
        279058397,
        "Vladislav",
        "vdkfrost",
        True,
    )


def test_sign_round_trips() -> None:
    signed = initdata.sign(user(42, "Пётр"), bot_token=BOT_TOKEN, auth_date=NOW)
    assert initdata.verify(signed, bot_token=BOT_TOKEN, max_age=60, now=NOW).id == 42


def test_a_tampered_field_is_rejected() -> None:
    signed = initdata.sign(user(42), bot_token=BOT_TOKEN, auth_date=NOW)
    fields = dict(parse_qsl(signed))
    fields["user"] = fields["user"].replace("42", "43")
    with pytest.raises(InitDataInvalid):
        initdata.verify(urlencode(fields), bot_token=BOT_TOKEN, max_age=60, now=NOW)


def test_another_bots_signature_is_rejected() -> None:
    signed = initdata.sign(user(42), bot_token="999:other", auth_date=NOW)
    with pytest.raises(InitDataInvalid):
        initdata.verify(signed, bot_token=BOT_TOKEN, max_age=60, now=NOW)


def test_an_old_init_data_expires() -> None:
    signed = initdata.sign(user(42), bot_token=BOT_TOKEN, auth_date=NOW - 61)
    with pytest.raises(InitDataExpired):
        initdata.verify(signed, bot_token=BOT_TOKEN, max_age=60, now=NOW)


@pytest.mark.parametrize(
    "raw",
    ["", "garbage", "hash=", "a=1&a=2&hash=00", "x" * 9000, "user=%7B%7D&auth_date=1&hash=zz"],
)
def test_malformed_init_data_is_rejected(raw: str) -> None:
    with pytest.raises(InitDataInvalid):
        initdata.verify(raw, bot_token=BOT_TOKEN, max_age=60, now=NOW)


def test_signed_but_without_user_is_rejected() -> None:
    raw = telegram_style({"auth_date": str(NOW)}, BOT_TOKEN)
    with pytest.raises(InitDataInvalid, match="user"):
        initdata.verify(raw, bot_token=BOT_TOKEN, max_age=60, now=NOW)


def test_auth_date_far_in_the_future_is_rejected() -> None:
    signed = initdata.sign(user(42), bot_token=BOT_TOKEN, auth_date=NOW + 3600)
    with pytest.raises(InitDataInvalid):
        initdata.verify(signed, bot_token=BOT_TOKEN, max_age=60, now=NOW)


def test_the_verifier_remembers_genuine_strings_but_still_checks_their_age() -> None:
    verify = initdata.Verifier(bot_token=BOT_TOKEN, max_age=60, capacity=2)
    signed = initdata.sign(user(42), bot_token=BOT_TOKEN, auth_date=NOW)
    assert verify(signed, now=NOW).id == 42
    assert verify(signed, now=NOW + 60).id == 42  # remembered, still fresh
    with pytest.raises(InitDataExpired):
        verify(signed, now=NOW + 61)  # remembered, but too old now
    fields = dict(parse_qsl(signed))
    fields["user"] = fields["user"].replace("42", "43")
    forged = urlencode(fields)
    for _ in range(2):  # a forgery is refused every time, never remembered
        with pytest.raises(InitDataInvalid):
            verify(forged, now=NOW)
    others = [initdata.sign(user(n), bot_token=BOT_TOKEN, auth_date=NOW) for n in (1, 2, 3)]
    assert [verify(s, now=NOW).id for s in others] == [1, 2, 3]
    assert len(verify) == 2  # bounded: the oldest went first
    assert [verify(s, now=NOW).id for s in others] == [1, 2, 3]
