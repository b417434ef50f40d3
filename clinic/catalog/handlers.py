"""REST handlers of the catalog, on /api: public reads."""

from __future__ import annotations

from aiohttp import web

from clinic.catalog.models import Doctor, SearchResults, Specialization
from clinic.catalog.service import Catalog
from clinic.errors import NotFound, Unprocessable
from clinic.web.io import json_response, path_id, query_text, ready_response
from clinic.web.openapi import Query, operation


def routes(catalog: Catalog) -> web.RouteTableDef:
    table = web.RouteTableDef()

    @table.get("/specializations")
    @operation(
        summary="Specializations with their doctor counts",
        tag="catalog",
        response=Specialization,
        many=True,
        errors=(Unprocessable,),
        query=(
            Query(
                "q",
                "Part of the name; case and ё/е are ignored",
                {"type": "string", "maxLength": 100},
            ),
        ),
    )
    async def list_specializations(request: web.Request) -> web.Response:
        search = query_text(request, "q")
        if search is None or not search.strip():
            answer = await catalog.specializations_answer()
            return ready_response(request, answer.body, answer.etag)
        return json_response(await catalog.specializations(search=search))

    @table.get("/search")
    @operation(
        summary="Specializations and doctors matching what a patient typed",
        tag="catalog",
        response=SearchResults,
        errors=(Unprocessable,),
        query=(
            Query(
                "q",
                'Words to look for: a specialization, a symptom ("зубы", "давление"), a '
                "doctor's name; Russian word forms, beginnings of words, case and ё/е are all "
                "matched. Empty: both lists are empty",
                {"type": "string", "maxLength": 100},
            ),
        ),
    )
    async def search(request: web.Request) -> web.Response:
        return json_response(await catalog.search(query_text(request, "q")))

    @table.get(r"/specializations/{id:[0-9]+}")
    @operation(
        summary="One specialization", tag="catalog", response=Specialization, errors=(NotFound,)
    )
    async def get_specialization(request: web.Request) -> web.Response:
        answer = await catalog.specialization_answer(path_id(request))
        return ready_response(request, answer.body, answer.etag)

    @table.get(r"/specializations/{id:[0-9]+}/doctors")
    @operation(
        summary="The doctors of a specialization",
        tag="catalog",
        response=Doctor,
        many=True,
        errors=(NotFound,),
    )
    async def list_doctors(request: web.Request) -> web.Response:
        answer = await catalog.doctors_answer(path_id(request))
        return ready_response(request, answer.body, answer.etag)

    @table.get(r"/doctors/{id:[0-9]+}")
    @operation(summary="One doctor", tag="catalog", response=Doctor, errors=(NotFound,))
    async def get_doctor(request: web.Request) -> web.Response:
        answer = await catalog.doctor_answer(path_id(request))
        return ready_response(request, answer.body, answer.etag)

    return table
