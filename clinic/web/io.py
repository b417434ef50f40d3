"""Reading requests and writing JSON responses: the helpers every handler shares."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import date
from typing import TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from clinic.errors import MalformedBody, NotFound, Unprocessable, msg

M = TypeVar("M", bound=BaseModel)

INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def json_body(data: BaseModel | Sequence[BaseModel]) -> bytes:
    if isinstance(data, BaseModel):
        return data.__pydantic_serializer__.to_json(data)
    return orjson.dumps([item.model_dump(mode="json") for item in data])


def json_response(data: BaseModel | Sequence[BaseModel], *, status: int = 200) -> web.Response:
    return web.Response(body=json_body(data), status=status, content_type="application/json")


def strong_etag(body: bytes) -> str:
    """A strong validator of `body`, quoted as the ETag header has it: "1f3a..."."""
    return f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'


def ready_response(
    request: web.Request,
    body: bytes,
    etag: str,
    *,
    content_type: str = "application/json",
    cache_control: str = "no-cache",
) -> web.Response:
    """An answer kept ready with its strong ETag (quoted): 304 with no body when the
    client holds it already. `no-cache` lets clients keep it but ask again each time."""
    headers = {"ETag": etag, "Cache-Control": cache_control}
    held = request.headers.get("If-None-Match")
    if held is not None and (held.strip() == "*" or etag in _etags(held)):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, headers=headers)


def _etags(header: str) -> list[str]:
    """The entity tags of an If-None-Match list; a weak W/"x" matches "x" (RFC 9110 says
    If-None-Match compares weakly)."""
    return [tag.strip().removeprefix("W/") for tag in header.split(",")]


async def _read_json(request: web.Request) -> object:
    if request.content_type != "application/json":
        raise MalformedBody(msg("error.content_type"))
    raw = await request.read()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedBody(msg("error.not_json")) from None


async def read_model(request: web.Request, model: type[M]) -> M:
    """The JSON body as `model`: 400 when it is not JSON, 422 when it does not fit."""
    data = await _read_json(request)
    if not isinstance(data, dict):
        raise MalformedBody(msg("error.body_object"))
    return model.model_validate(data)


async def read_models(request: web.Request, model: type[M], *, max_items: int) -> list[M]:
    """The JSON body as a list of `model`: 400 when it is not a JSON array."""
    data = await _read_json(request)
    if not isinstance(data, list):
        raise MalformedBody(msg("error.body_array"))
    if len(data) > max_items:
        raise Unprocessable(msg("error.too_many_items", count=max_items), field="body")
    return TypeAdapter(list[model]).validate_python(data)  # type: ignore[valid-type]


def path_id(request: web.Request, name: str = "id", *, limit: int = INT4_MAX) -> int:
    """A numeric id from the path; one too large to exist is simply not found."""
    raw = request.match_info[name]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(limit)) or int(raw) > limit:
        raise NotFound(msg("error.not_found.path", name=name, value=raw[:20]))
    return int(raw)


def query_text(request: web.Request, name: str, *, max_length: int = 100) -> str | None:
    value = request.query.get(name)
    if value is None:
        return None
    if len(value) > max_length or "\x00" in value:
        raise Unprocessable(msg("error.query_length", name=name, count=max_length), field=name)
    return value


def query_int(request: web.Request, name: str, *, limit: int = INT4_MAX) -> int | None:
    """A positive integer from the query string; 422 for anything else."""
    value = request.query.get(name)
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or not 0 < int(value) <= limit:
        raise Unprocessable(msg("error.query_int", name=name), field=name)
    return int(value)


def no_content() -> web.Response:
    return web.Response(status=204)


def query_date(request: web.Request, name: str) -> date | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise Unprocessable(msg("error.query_date", name=name), field=name) from None
