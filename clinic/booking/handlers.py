"""REST handlers of booking: slots are public, bookings belong to the authenticated caller."""

from __future__ import annotations

from aiohttp import web

from clinic.booking import service
from clinic.booking.models import BookingRequest
from clinic.web import keys
from clinic.web.auth import authenticated_user
from clinic.web.io import INT8_MAX, json_response, path_id, query_date, read_model

routes = web.RouteTableDef()


@routes.get(r"/api/doctors/{id:\d+}/slots")
async def week_slots(request: web.Request) -> web.Response:
    app = request.app
    week = await service.week_slots(
        app[keys.pool],
        doctor_id=path_id(request),
        week_of=query_date(request, "week_of"),
        tz=app[keys.settings].tz,
        now=app[keys.clock](),
    )
    return json_response(week)


@routes.post("/api/bookings")
async def create_booking(request: web.Request) -> web.Response:
    user = await authenticated_user(request)
    body = await read_model(request, BookingRequest)
    app = request.app
    booking = await service.create_booking(
        app[keys.pool],
        user_id=user.id,
        request=body,
        tz=app[keys.settings].tz,
        now=app[keys.clock](),
    )
    return json_response(booking, status=201)


@routes.get("/api/bookings")
async def list_bookings(request: web.Request) -> web.Response:
    user = await authenticated_user(request)
    app = request.app
    bookings = await service.list_bookings(
        app[keys.pool], user_id=user.id, tz=app[keys.settings].tz, now=app[keys.clock]()
    )
    return json_response(bookings)


@routes.get(r"/api/bookings/{id:\d+}")
async def get_booking(request: web.Request) -> web.Response:
    user = await authenticated_user(request)
    app = request.app
    booking = await service.get_booking(
        app[keys.pool],
        user_id=user.id,
        booking_id=path_id(request, limit=INT8_MAX),
        tz=app[keys.settings].tz,
        now=app[keys.clock](),
    )
    return json_response(booking)


@routes.post(r"/api/bookings/{id:\d+}/cancel")
async def cancel_booking(request: web.Request) -> web.Response:
    user = await authenticated_user(request)
    app = request.app
    booking = await service.cancel_booking(
        app[keys.pool],
        user_id=user.id,
        booking_id=path_id(request, limit=INT8_MAX),
        tz=app[keys.settings].tz,
        now=app[keys.clock](),
    )
    return json_response(booking)
