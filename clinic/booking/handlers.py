"""REST handlers of booking: slots are public, bookings belong to the authenticated caller."""

from __future__ import annotations

from aiohttp import web

from clinic.booking import service
from clinic.booking.models import Booking, BookingRequest, WeekSlots
from clinic.web import keys
from clinic.web.auth import authenticated_user
from clinic.web.io import INT8_MAX, json_response, path_id, query_date, read_model
from clinic.web.openapi import Query, operation

routes = web.RouteTableDef()


@routes.get(r"/api/doctors/{id:[0-9]+}/slots")
@operation(
    summary="Free half-hour slots, Monday to Saturday of one week",
    tag="booking",
    response=WeekSlots,
    errors=(404, 422),
    query=(
        Query(
            "week_of",
            "A day of the week wanted (default: today)",
            {"type": "string", "format": "date"},
        ),
    ),
)
async def week_slots(request: web.Request) -> web.Response:
    app = request.app
    week = await service.week_slots(
        app[keys.pool],
        doctor_id=path_id(request),
        week_of=query_date(request, "week_of"),
        tz=app[keys.settings].tz,
        now=app[keys.clock](),
        cache=app[keys.week_cache],
    )
    return json_response(week)


@routes.post("/api/bookings")
@operation(
    summary="Book a slot for the caller",
    tag="booking",
    status=201,
    body=BookingRequest,
    response=Booking,
    auth=True,
    errors=(404, 409),
)
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
        cache=app[keys.week_cache],
    )
    return json_response(booking, status=201)


@routes.get("/api/bookings")
@operation(
    summary="The caller's bookings, upcoming first",
    tag="booking",
    response=Booking,
    many=True,
    auth=True,
)
async def list_bookings(request: web.Request) -> web.Response:
    user = await authenticated_user(request)
    app = request.app
    bookings = await service.list_bookings(
        app[keys.pool], user_id=user.id, tz=app[keys.settings].tz, now=app[keys.clock]()
    )
    return json_response(bookings)


@routes.get(r"/api/bookings/{id:[0-9]+}")
@operation(
    summary="One of the caller's bookings",
    tag="booking",
    response=Booking,
    auth=True,
    errors=(404,),
)
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


@routes.post(r"/api/bookings/{id:[0-9]+}/cancel")
@operation(
    summary="Cancel one of the caller's bookings",
    tag="booking",
    response=Booking,
    auth=True,
    errors=(404, 409),
)
async def cancel_booking(request: web.Request) -> web.Response:
    user = await authenticated_user(request)
    app = request.app
    booking = await service.cancel_booking(
        app[keys.pool],
        user_id=user.id,
        booking_id=path_id(request, limit=INT8_MAX),
        tz=app[keys.settings].tz,
        now=app[keys.clock](),
        cache=app[keys.week_cache],
    )
    return json_response(booking)
