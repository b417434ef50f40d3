"""REST handlers of the catalog."""

from __future__ import annotations

from aiohttp import web

from clinic.catalog import service
from clinic.catalog.models import Doctor, Specialization
from clinic.web import keys
from clinic.web.io import json_response, path_id, query_text
from clinic.web.openapi import Query, operation

routes = web.RouteTableDef()


@routes.get("/api/specializations")
@operation(
    summary="Specializations with their doctor counts",
    tag="catalog",
    response=Specialization,
    many=True,
    errors=(422,),
    query=(
        Query(
            "q", "Part of the name; case and ё/е are ignored", {"type": "string", "maxLength": 100}
        ),
    ),
)
async def list_specializations(request: web.Request) -> web.Response:
    search = query_text(request, "q")
    found = await service.list_specializations(request.app[keys.pool], search=search)
    return json_response(found)


@routes.get(r"/api/specializations/{id:[0-9]+}")
@operation(summary="One specialization", tag="catalog", response=Specialization, errors=(404,))
async def get_specialization(request: web.Request) -> web.Response:
    pool = request.app[keys.pool]
    return json_response(await service.get_specialization(pool, specialization_id=path_id(request)))


@routes.get(r"/api/specializations/{id:[0-9]+}/doctors")
@operation(
    summary="The doctors of a specialization",
    tag="catalog",
    response=Doctor,
    many=True,
    errors=(404,),
)
async def list_doctors(request: web.Request) -> web.Response:
    pool = request.app[keys.pool]
    return json_response(await service.list_doctors(pool, specialization_id=path_id(request)))


@routes.get(r"/api/doctors/{id:[0-9]+}")
@operation(summary="One doctor", tag="catalog", response=Doctor, errors=(404,))
async def get_doctor(request: web.Request) -> web.Response:
    pool = request.app[keys.pool]
    return json_response(await service.get_doctor(pool, doctor_id=path_id(request)))
