"""REST handlers of the waitlist, on /api: the caller's own entries."""

from __future__ import annotations

from aiohttp import web

from clinic.errors import NotFound, Unprocessable, WaitlistFull
from clinic.waitlist.models import WaitlistEntry, WaitlistRequest
from clinic.waitlist.service import Waitlist
from clinic.web.auth import caller
from clinic.web.io import INT8_MAX, json_response, no_content, path_id, read_model
from clinic.web.openapi import operation


def routes(waitlist: Waitlist) -> web.RouteTableDef:
    table = web.RouteTableDef()

    @table.post("/waitlist")
    @operation(
        summary="Tell me if a slot of this doctor's day frees up (201 new, 200 already)",
        tag="booking",
        status=201,
        also=(200,),
        body=WaitlistRequest,
        response=WaitlistEntry,
        auth=True,
        errors=(NotFound, Unprocessable, WaitlistFull),
    )
    async def join(request: web.Request) -> web.Response:
        body = await read_model(request, WaitlistRequest)
        entry, created = await waitlist.join(caller(request).id, body)
        return json_response(entry, status=201 if created else 200)

    @table.get("/waitlist")
    @operation(
        summary="The caller's waitlist entries, soonest day first",
        tag="booking",
        response=WaitlistEntry,
        many=True,
        auth=True,
    )
    async def entries(request: web.Request) -> web.Response:
        return json_response(await waitlist.entries(caller(request).id))

    @table.delete(r"/waitlist/{id:[0-9]+}")
    @operation(
        summary="Leave the waitlist for that day",
        tag="booking",
        status=204,
        auth=True,
        errors=(NotFound,),
    )
    async def leave(request: web.Request) -> web.Response:
        await waitlist.leave(caller(request).id, path_id(request, limit=INT8_MAX))
        return no_content()

    return table
