"""Telegram MiniApp initData: verify it as Telegram documents, and sign it (demo, tests).

secret = HMAC_SHA256(key="WebAppData", msg=bot_token); the hash is
HMAC_SHA256(secret, the sorted "key=value" lines without hash, joined by "\\n").
"""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode

import orjson
from pydantic import ValidationError

from clinic.errors import InitDataExpired, InitDataInvalid, msg
from clinic.telegram.models import TelegramUser

MAX_LENGTH = 8192
CLOCK_SKEW = 60  # seconds an auth_date may lie in the future


@lru_cache(maxsize=4)
def _secret(bot_token: str) -> bytes:
    """Depends on the token only: computed once per token, not per request."""
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _check_string(fields: dict[str, str]) -> bytes:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields)).encode()


def _digest(fields: dict[str, str], bot_token: str) -> str:
    return hmac.new(_secret(bot_token), _check_string(fields), hashlib.sha256).hexdigest()


def _invalid(reason: str) -> InitDataInvalid:
    """Said to the caller as "reopen the app"; `reason` stays in the exception for logs."""
    return InitDataInvalid(msg("error.init_data_invalid", reason=reason))


def verify(
    init_data: str, *, bot_token: str, max_age: int, now: float | None = None
) -> TelegramUser:
    """The user of a genuine, fresh initData; InitDataInvalid or InitDataExpired otherwise."""
    user, auth_date = _genuine(init_data, bot_token)
    _check_age(auth_date, max_age, time.time() if now is None else now)
    return user


class Verifier:
    """`verify` with a memory of the initData strings it already found genuine: the
    MiniApp sends the same one with every request of a session, so its parsing and
    HMAC are done once per process, while its age is checked on every request. Holds
    at most `capacity` strings (the oldest go first)."""

    def __init__(self, *, bot_token: str, max_age: int, capacity: int = 10_000) -> None:
        self._token = bot_token
        self._max_age = max_age
        self._capacity = capacity
        self._genuine: dict[str, tuple[TelegramUser, int]] = {}

    def __call__(self, init_data: str, *, now: float) -> TelegramUser:
        found = self._genuine.get(init_data)
        if found is None:
            found = _genuine(init_data, self._token)
            self._genuine[init_data] = found
            if len(self._genuine) > self._capacity:
                del self._genuine[next(iter(self._genuine))]
        user, auth_date = found
        _check_age(auth_date, self._max_age, now)
        return user

    def __len__(self) -> int:
        return len(self._genuine)


def _genuine(init_data: str, bot_token: str) -> tuple[TelegramUser, int]:
    """The user and auth_date of an initData signed with `bot_token`."""
    if not init_data or len(init_data) > MAX_LENGTH:
        raise _invalid("initData is empty or too long")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise _invalid("initData is not a query string") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise _invalid("initData repeats a field")
    received = fields.pop("hash", "")
    if not hmac.compare_digest(received.encode(), _digest(fields, bot_token).encode()):
        raise _invalid("initData signature does not match")
    try:
        auth_date = int(fields["auth_date"])
        user = TelegramUser.model_validate(orjson.loads(fields["user"]))
    except (KeyError, ValueError, orjson.JSONDecodeError, ValidationError):
        raise _invalid("initData lacks a valid user or auth_date") from None
    return user, auth_date


def _check_age(auth_date: int, max_age: int, now: float) -> None:
    if auth_date > now + CLOCK_SKEW:
        raise _invalid("initData auth_date is in the future")
    if now - auth_date > max_age:
        raise InitDataExpired(msg("error.init_data_expired"))


def sign(
    user: TelegramUser,
    *,
    bot_token: str,
    auth_date: int | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    """An initData string for `user` signed with `bot_token`, as Telegram would send it."""
    fields = {
        "user": orjson.dumps(user.model_dump(exclude_defaults=True)).decode(),
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        **(extra or {}),
    }
    fields["hash"] = _digest(fields, bot_token)
    return urlencode(fields)
