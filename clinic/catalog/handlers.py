"""REST handlers of the catalog."""

from __future__ import annotations

from aiohttp import web

from clinic.catalog import service
from clinic.web import keys
from clinic.web.io import json_response, path_id, query_text

routes = web.RouteTableDef()


@routes.get("/api/specializations")
async def list_specializations(request: web.Request) -> web.Response:
    search = query_text(request, "q")
    found = await service.list_specializations(request.app[keys.pool], search=search)
    return json_response(found)


@routes.get(r"/api/specializations/{id:\d+}")
async def get_specialization(request: web.Request) -> web.Response:
    pool = request.app[keys.pool]
    return json_response(await service.get_specialization(pool, specialization_id=path_id(request)))


@routes.get(r"/api/specializations/{id:\d+}/doctors")
async def list_doctors(request: web.Request) -> web.Response:
    pool = request.app[keys.pool]
    return json_response(await service.list_doctors(pool, specialization_id=path_id(request)))


@routes.get(r"/api/doctors/{id:\d+}")
async def get_doctor(request: web.Request) -> web.Response:
    pool = request.app[keys.pool]
    return json_response(await service.get_doctor(pool, doctor_id=path_id(request)))
