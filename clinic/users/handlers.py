"""REST handlers of the caller's identity, and the demo identity (demo mode only)."""

from __future__ import annotations

from aiohttp import web

from clinic.users import initdata
from clinic.users.models import DemoIdentity, Me
from clinic.users.service import DEMO_USER
from clinic.web import keys
from clinic.web.auth import authenticated_user
from clinic.web.io import json_response
from clinic.web.openapi import operation

routes = web.RouteTableDef()
demo_routes = web.RouteTableDef()


@routes.get("/api/me")
@operation(summary="The caller", tag="users", response=Me, auth=True)
async def me(request: web.Request) -> web.Response:
    user = await authenticated_user(request)
    demo = request.app[keys.settings].demo
    return json_response(Me(**user.model_dump(exclude={"is_premium"}), demo=demo))


@demo_routes.get("/api/demo/identity")
@operation(
    summary="Demo mode only: initData for the demo patient", tag="users", response=DemoIdentity
)
async def demo_identity(request: web.Request) -> web.Response:
    """An initData for the demo patient, signed with this process's demo token."""
    app = request.app
    signed = initdata.sign(
        DEMO_USER,
        bot_token=app[keys.init_data_token],
        auth_date=int(app[keys.clock]().timestamp()),
    )
    return json_response(DemoIdentity(init_data=signed, user=DEMO_USER))
