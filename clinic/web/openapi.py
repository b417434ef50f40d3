"""The OpenAPI 3.1 document, built from the routes of the running app and the pydantic
models their handlers declare with @operation. A route without a declaration is left
out, and a test checks that none is."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from clinic.web import keys

F = TypeVar("F", bound=Callable[..., Any])
REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{(\w+)}")
DATABASE_TAGS = {"catalog", "booking", "users", "telegram"}

ERROR_TEXT = {
    400: "Malformed request",
    401: "Missing, invalid or expired initData",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    422: "Invalid input",
    503: "Unavailable: the database does not answer (or the page is not built)",
}


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable `code`."""

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
    body: type[BaseModel] | None = None
    auth: bool = False
    errors: tuple[int, ...] = ()
    query: tuple[Query, ...] = ()
    content_type: str = "application/json"


def operation(**declared: Any) -> Callable[[F], F]:
    """Declares what a handler takes and returns, for the document."""

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
        doc["requestBody"] = {"required": True, "content": _json(_ref(op.body))}
    if op.response is not None:
        content = _json(_ref(op.response, op.many))
    elif op.content_type == "application/json":
        content = _json({"type": "object"})
    else:
        content = {op.content_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(op.status): {"description": "OK", "content": content}}
    problem = {"application/problem+json": {"schema": _ref(Problem)}}
    codes = set(op.errors) | ({401} if op.auth else set()) | ({400, 413, 422} if op.body else set())
    if op.tag in DATABASE_TAGS:
        codes.add(503)
    for code in sorted(codes):
        responses[str(code)] = {"description": ERROR_TEXT[code], "content": problem}
    doc["responses"] = responses
    if op.auth:
        doc["security"] = [{"tma": []}]
    return doc


def build(app: web.Application) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    models: set[type[BaseModel]] = {Problem}
    for route in app.router.routes():
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
    settings = app[keys.settings]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Clinic booking API",
            "version": "1.0.0",
            "description": "Book a doctor at «Здоровье Плюс» from Telegram. Errors are "
            "application/problem+json. Authenticated calls send the MiniApp's initData: "
            "`Authorization: tma <initData>`.",
        },
        "servers": [{"url": settings.public_url or "/"}],
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


routes = web.RouteTableDef()


@routes.get("/api/openapi.json")
@operation(summary="This document", tag="docs", content_type="application/json")
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(request.app[keys.openapi])


async def build_on_startup(app: web.Application) -> None:
    app[keys.openapi] = build(app)
