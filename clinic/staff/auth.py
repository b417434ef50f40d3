"""The /api/staff sub-application's middleware: the caller (verified by /api's initData
middleware) must be a staff member whose role the route admits; 403 otherwise."""

from __future__ import annotations

from aiohttp import web

from clinic.errors import Forbidden, msg
from clinic.staff.models import Member
from clinic.staff.service import Staff
from clinic.web.auth import caller
from clinic.web.openapi import declared
from clinic.web.problems import Handler, Middleware

MEMBER = web.RequestKey("staff_member", Member)


def staff_middleware(staff: Staff) -> Middleware:
    @web.middleware
    async def admit(request: web.Request, handler: Handler) -> web.StreamResponse:
        op = declared(request.match_info.handler)
        if op is None:
            return await handler(request)  # no such route: the sub-app's 404 or 405
        if not op.roles:
            raise Forbidden(msg("error.role"))  # fail closed
        member = await staff.member(caller(request).id)
        if member is None:
            raise Forbidden(msg("error.staff_only"))
        if member.role not in op.roles:
            raise Forbidden(msg("error.role"))
        request[MEMBER] = member
        return await handler(request)

    return admit


def member(request: web.Request) -> Member:
    return request[MEMBER]
