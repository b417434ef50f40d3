"""REST handlers of the caller's identity, and the demo identity (demo mode only), on /api."""

from __future__ import annotations

from aiohttp import web

from clinic.clock import Clock
from clinic.users.models import DemoIdentity, Me
from clinic.users.service import DEMO_USER
from clinic.web import initdata
from clinic.web.auth import caller
from clinic.web.io import json_response
from clinic.web.openapi import operation


def routes(*, demo: bool) -> web.RouteTableDef:
    table = web.RouteTableDef()

    @table.get("/me")
    @operation(summary="The caller", tag="users", response=Me, auth=True)
    async def me(request: web.Request) -> web.Response:
        user = caller(request)
        return json_response(Me(**user.model_dump(exclude={"is_premium"}), demo=demo))

    return table


def demo_routes(*, token: str, clock: Clock) -> web.RouteTableDef:
    """GET /demo/identity: an initData for the demo patient, signed with this process's
    demo token, so a plain browser passes the same check as Telegram's MiniApp."""
    table = web.RouteTableDef()

    @table.get("/demo/identity")
    @operation(
        summary="Demo mode only: initData for the demo patient", tag="users", response=DemoIdentity
    )
    async def demo_identity(request: web.Request) -> web.Response:
        signed = initdata.sign(DEMO_USER, bot_token=token, auth_date=int(clock().timestamp()))
        return json_response(DemoIdentity(init_data=signed, user=DEMO_USER))

    return table
