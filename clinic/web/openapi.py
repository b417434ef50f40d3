"""The OpenAPI 3.1 document, built from the routes of the running app (its
sub-applications included) and the pydantic models their handlers declare with
@operation. A route without a declaration is left out, and a test checks that none is.

Error responses come from the error classes: a handler lists the ClinicErrors it may
raise, and each status is described by the codes of those classes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema

from clinic.errors import (
    BodyTooLarge,
    ClinicError,
    DatabaseUnavailable,
    Forbidden,
    InitDataExpired,
    InitDataInvalid,
    InitDataMissing,
    MalformedBody,
    Unprocessable,
)

F = TypeVar("F", bound=Callable[..., Any])
REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{(\w+)}")
DATABASE_TAGS = {"catalog", "booking", "users", "telegram", "staff"}

# What every route of a kind may answer, whatever its handler raises.
AUTH_ERRORS: tuple[type[ClinicError], ...] = (InitDataMissing, InitDataInvalid, InitDataExpired)
BODY_ERRORS: tuple[type[ClinicError], ...] = (MalformedBody, BodyTooLarge, Unprocessable)


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable `code`; some carry more members (a 409
    `bookings_affected` lists the bookings in `bookings`)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None


@dataclass(frozen=True)
class Query:
    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    response: type[BaseModel] | None = None
    many: bool = False
    status: int = 200
    also: tuple[int, ...] = ()  # other success statuses with the same body
    body: type[BaseModel] | None = None
    body_many: bool = False  # the body is a JSON array of `body`
    auth: bool = False
    errors: tuple[type[ClinicError], ...] = ()
    query: tuple[Query, ...] = ()
    content_type: str = "application/json"
    # The staff roles a route of /api/staff admits (its middleware checks them).
    roles: tuple[str, ...] = ()


def operation(**declared: Any) -> Callable[[F], F]:
    """Declares what a handler takes and returns, for the document (and, with
    `auth=True`, for the /api middleware that verifies the caller)."""

    def attach(handler: F) -> F:
        handler.__openapi__ = Operation(**declared)  # type: ignore[attr-defined]
        return handler

    return attach


def declared(handler: Any) -> Operation | None:
    found = getattr(handler, "__openapi__", None)
    return found if isinstance(found, Operation) else None


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ref(model: type[BaseModel], many: bool = False) -> dict[str, Any]:
    ref = {"$ref": REF.format(model=model.__name__)}
    return {"type": "array", "items": ref} if many else ref


def describe(errors: set[type[ClinicError]]) -> str:
    """One status's description: its codes with their titles, e.g. "`slot_taken`: ..."."""
    by_code = {cls.code: cls.title for cls in errors}
    return "; ".join(f"`{code}`: {title}" for code, title in sorted(by_code.items()))


def _operation(op: Operation, path: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"summary": op.summary, "tags": [op.tag]}
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
        for name in _PATH_PARAM.findall(path)
    ]
    params += [
        {
            "name": q.name,
            "in": "query",
            "required": False,
            "description": q.description,
            "schema": q.schema,
        }
        for q in op.query
    ]
    if params:
        doc["parameters"] = params
    if op.body is not None:
        doc["requestBody"] = {"required": True, "content": _json(_ref(op.body, op.body_many))}
    responses: dict[str, Any] = {str(op.status): {"description": "OK"}}
    if op.status == 204:
        responses["204"]["description"] = "Done; no content"
    elif op.response is not None:
        responses[str(op.status)]["content"] = _json(_ref(op.response, op.many))
    elif op.content_type == "application/json":
        responses[str(op.status)]["content"] = _json({"type": "object"})
    else:
        responses[str(op.status)]["content"] = {op.content_type: {"schema": {"type": "string"}}}
    for other in op.also:
        responses[str(other)] = {**responses[str(op.status)], "description": "OK"}
    problem = {"application/problem+json": {"schema": _ref(Problem)}}
    raised = set(op.errors)
    raised |= set(AUTH_ERRORS) if op.auth else set()
    raised |= {Forbidden} if op.roles else set()
    raised |= set(BODY_ERRORS) if op.body else set()
    raised |= {DatabaseUnavailable} if op.tag in DATABASE_TAGS else set()
    by_status: dict[int, set[type[ClinicError]]] = defaultdict(set)
    for error in raised:
        by_status[error.status].add(error)
    for status in sorted(by_status):
        responses[str(status)] = {"description": describe(by_status[status]), "content": problem}
    doc["responses"] = responses
    if op.auth:
        doc["security"] = [{"tma": []}]
    if op.roles:
        doc["x-roles"] = list(op.roles)
        doc["description"] = f"Staff only: {', '.join(op.roles)}; anyone else gets 403."
    return doc


def routes_of(app: web.Application) -> Iterator[web.AbstractRoute]:
    """Every route of the app and of its sub-applications (their paths prefixed)."""
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            yield from routes_of(resource.get_info()["app"])
        else:
            yield from resource


def build(app: web.Application, *, public_url: str | None) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    models: set[type[BaseModel]] = {Problem}
    for route in routes_of(app):
        op = declared(route.handler)
        if op is None or route.resource is None or route.method == "HEAD":
            continue
        path = route.resource.canonical
        paths.setdefault(path, {})[route.method.lower()] = _operation(op, path)
        models.update(m for m in (op.response, op.body) if m is not None)
    _, schemas = models_json_schema(
        [(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template=REF,
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Clinic booking API",
            "version": "1.0.0",
            "description": "Book a doctor at «Здоровье Плюс» from Telegram. Errors are "
            "application/problem+json. Authenticated calls send the MiniApp's initData: "
            "`Authorization: tma <initData>`.",
        },
        "servers": [{"url": public_url or "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "tma": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`tma ` followed by Telegram's MiniApp initData",
                }
            },
        },
    }


def routes(*, public_url: str | None) -> web.RouteTableDef:
    """GET /openapi.json, for the /api sub-application: the whole app's document, built
    on the first call (the routes are final by then) and kept."""
    table = web.RouteTableDef()
    built: list[bytes] = []

    @table.get("/openapi.json")
    @operation(summary="This document", tag="docs", content_type="application/json")
    async def openapi_json(request: web.Request) -> web.Response:
        if not built:
            root = request.match_info.apps[0]
            built.append(orjson.dumps(build(root, public_url=public_url)))
        return web.Response(body=built[0], content_type="application/json")

    return table
