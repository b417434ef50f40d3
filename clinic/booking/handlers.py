"""REST handlers of booking, on /api: slots are public, bookings belong to the caller."""

from __future__ import annotations

from aiohttp import web

from clinic import ics
from clinic.booking.models import Booking, BookingRequest, Reschedule, WeekSlots
from clinic.booking.service import Bookings
from clinic.errors import (
    BookingCancelled,
    BookingPast,
    DoctorUnavailable,
    NotFound,
    PatientBusy,
    SlotTaken,
    TooLate,
    TooManyBookings,
    Unprocessable,
)
from clinic.texts import language
from clinic.web.auth import caller
from clinic.web.io import INT8_MAX, json_response, path_id, query_date, read_model
from clinic.web.openapi import Query, operation
from clinic.web.problems import language_of


def routes(bookings: Bookings) -> web.RouteTableDef:
    table = web.RouteTableDef()

    @table.get(r"/doctors/{id:[0-9]+}/slots")
    @operation(
        summary="Free half-hour slots, Monday to Saturday of one week",
        tag="booking",
        response=WeekSlots,
        errors=(NotFound, Unprocessable),
        query=(
            Query(
                "week_of",
                "A day of the week wanted (default: today)",
                {"type": "string", "format": "date"},
            ),
        ),
    )
    async def week_slots(request: web.Request) -> web.Response:
        week_of = query_date(request, "week_of")
        lang = language_of(request)
        week = await bookings.week(path_id(request), week_of=week_of, lang=lang)
        return web.Response(
            body=week.body, content_type="application/json", headers={"Vary": "Accept-Language"}
        )

    @table.post("/bookings")
    @operation(
        summary="Book a slot for the caller",
        tag="booking",
        status=201,
        body=BookingRequest,
        response=Booking,
        auth=True,
        errors=(NotFound, SlotTaken, PatientBusy, TooManyBookings, DoctorUnavailable),
    )
    async def create_booking(request: web.Request) -> web.Response:
        body = await read_model(request, BookingRequest)
        booking = await bookings.create_booking(caller(request).id, body)
        return json_response(booking, status=201)

    @table.get("/bookings")
    @operation(
        summary="The caller's bookings, upcoming first",
        tag="booking",
        response=Booking,
        many=True,
        auth=True,
    )
    async def list_bookings(request: web.Request) -> web.Response:
        return json_response(await bookings.list_bookings(caller(request).id))

    @table.get(r"/bookings/{id:[0-9]+}")
    @operation(
        summary="One of the caller's bookings",
        tag="booking",
        response=Booking,
        auth=True,
        errors=(NotFound,),
    )
    async def get_booking(request: web.Request) -> web.Response:
        booking_id = path_id(request, limit=INT8_MAX)
        return json_response(await bookings.get_booking(caller(request).id, booking_id))

    @table.get(r"/bookings/{id:[0-9]+}/calendar.ics")
    @operation(
        summary="One of the caller's bookings as iCalendar",
        tag="booking",
        content_type="text/calendar",
        auth=True,
        errors=(NotFound,),
    )
    async def calendar(request: web.Request) -> web.Response:
        booking_id = path_id(request, limit=INT8_MAX)
        lang = language_of(request)
        body = await bookings.calendar_file(caller(request).id, booking_id, lang=lang)
        return calendar_response(body, booking_id)

    @table.get(r"/calendar/{token:[0-9]+-[0-9]+-[0-9]+-[0-9a-f]{32}}.ics")
    @operation(
        summary="A booking as iCalendar, by the signed link in its calendar_url",
        tag="booking",
        content_type="text/calendar",
        errors=(NotFound,),
        query=(
            Query(
                "lang",
                "The language of the event's texts: en or ru (default: Accept-Language)",
                {"type": "string", "enum": ["ru", "en"]},
            ),
        ),
    )
    async def calendar_link(request: web.Request) -> web.Response:
        asked = request.query.get("lang")
        lang = language(asked) if asked else language_of(request)
        body = await bookings.calendar_by_link(request.match_info["token"], lang=lang)
        number = int(request.match_info["token"].split("-")[0])
        return calendar_response(body, number)

    @table.post(r"/bookings/{id:[0-9]+}/reschedule")
    @operation(
        summary="Move one of the caller's bookings to another slot with its doctor",
        tag="booking",
        body=Reschedule,
        response=Booking,
        auth=True,
        errors=(
            NotFound,
            SlotTaken,
            PatientBusy,
            TooLate,
            BookingPast,
            BookingCancelled,
            DoctorUnavailable,
        ),
    )
    async def reschedule(request: web.Request) -> web.Response:
        booking_id = path_id(request, limit=INT8_MAX)
        body = await read_model(request, Reschedule)
        return json_response(await bookings.reschedule(caller(request).id, booking_id, body))

    @table.post(r"/bookings/{id:[0-9]+}/cancel")
    @operation(
        summary="Cancel one of the caller's bookings",
        tag="booking",
        response=Booking,
        auth=True,
        errors=(NotFound, BookingPast, TooLate),
    )
    async def cancel_booking(request: web.Request) -> web.Response:
        booking_id = path_id(request, limit=INT8_MAX)
        return json_response(await bookings.cancel_booking(caller(request).id, booking_id))

    return table


def calendar_response(body: bytes, booking_id: int) -> web.Response:
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{ics.file_name(booking_id)}"',
            "Cache-Control": "no-store",
        },
    )
