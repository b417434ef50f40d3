"""REST handlers of the staff side, on /api/staff. Each route declares the roles it
admits; the sub-application's middleware checks them before the handler runs."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from clinic.errors import (
    BookingCancelled,
    BookingPast,
    BookingsAffected,
    ClosureExists,
    Conflict,
    DoctorTaken,
    DoctorUnavailable,
    NotFound,
    PatientBusy,
    SlotTaken,
    TimeOffOverlap,
    TooEarly,
    UnknownPatient,
    Unprocessable,
)
from clinic.staff.auth import member
from clinic.staff.models import (
    DESK,
    ROLES,
    Action,
    AttendanceRequest,
    CancelRequest,
    Closure,
    ClosureRequest,
    DayBooking,
    DaySchedule,
    Member,
    MemberRequest,
    NotifyRequest,
    StaffBookingRequest,
    TimeOff,
    TimeOffRequest,
    WeekdayHours,
    WeeklyHours,
)
from clinic.staff.service import Staff
from clinic.web.io import (
    INT8_MAX,
    json_response,
    no_content,
    path_id,
    query_date,
    query_int,
    read_model,
    read_models,
)
from clinic.web.openapi import Query, operation

ADMIN = ("admin",)
EXPORT_DAYS = 30
MAX_ACTIONS = 500
DATE = {"type": "string", "format": "date"}
INTEGER = {"type": "integer", "minimum": 1}


def routes(staff: Staff) -> web.RouteTableDef:
    table = web.RouteTableDef()

    @table.get("/me")
    @operation(
        summary="The calling staff member", tag="staff", response=Member, auth=True, roles=ROLES
    )
    async def me(request: web.Request) -> web.Response:
        return json_response(member(request))

    @table.post("/me/notify")
    @operation(
        summary="Turn the caller's Telegram notices of bookings on or off",
        tag="staff",
        body=NotifyRequest,
        response=Member,
        auth=True,
        roles=ROLES,
    )
    async def notify(request: web.Request) -> web.Response:
        body = await read_model(request, NotifyRequest)
        return json_response(await staff.set_notify(member(request), body.notify))

    # --- members -------------------------------------------------------------------

    @table.get("/members")
    @operation(summary="The staff", tag="staff", response=Member, many=True, auth=True, roles=ADMIN)
    async def list_members(request: web.Request) -> web.Response:
        return json_response(await staff.members())

    @table.post("/members")
    @operation(
        summary="Add a staff member or change their role (201 new, 200 changed)",
        tag="staff",
        status=201,
        also=(200,),
        body=MemberRequest,
        response=Member,
        auth=True,
        roles=ADMIN,
        errors=(NotFound, DoctorTaken),
    )
    async def add_member(request: web.Request) -> web.Response:
        body = await read_model(request, MemberRequest)
        added, created = await staff.add_member(member(request).telegram_id, body)
        return json_response(added, status=201 if created else 200)

    @table.delete(r"/members/{telegram_id:[0-9]+}")
    @operation(
        summary="Remove a staff member",
        tag="staff",
        status=204,
        auth=True,
        roles=ADMIN,
        errors=(NotFound, Conflict),
    )
    async def remove_member(request: web.Request) -> web.Response:
        telegram_id = path_id(request, "telegram_id", limit=INT8_MAX)
        await staff.remove_member(member(request).telegram_id, telegram_id)
        return no_content()

    # --- the day and the desk ---------------------------------------------------------

    @table.get("/schedule")
    @operation(
        summary="The day per doctor: hours, days off and bookings (a doctor: their own)",
        tag="staff",
        response=DaySchedule,
        auth=True,
        roles=ROLES,
        errors=(NotFound, Unprocessable),
        query=(
            Query("date", "The clinic's date (default: today)", DATE),
            Query("doctor_id", "One doctor only", INTEGER),
        ),
    )
    async def schedule(request: web.Request) -> web.Response:
        day = query_date(request, "date") or staff.today()
        doctor_id = query_int(request, "doctor_id")
        return json_response(await staff.day(member(request), day, doctor_id=doctor_id))

    @table.post("/bookings")
    @operation(
        summary="A booking taken by phone or at the desk",
        tag="staff",
        status=201,
        body=StaffBookingRequest,
        response=DayBooking,
        auth=True,
        roles=DESK,
        errors=(NotFound, SlotTaken, PatientBusy, DoctorUnavailable, UnknownPatient),
    )
    async def book(request: web.Request) -> web.Response:
        body = await read_model(request, StaffBookingRequest)
        return json_response(await staff.book(member(request), body), status=201)

    @table.post(r"/bookings/{id:[0-9]+}/cancel")
    @operation(
        summary="The clinic cancels a booking; the patient is told in Telegram",
        tag="staff",
        body=CancelRequest,
        response=DayBooking,
        auth=True,
        roles=DESK,
        errors=(NotFound, BookingCancelled, BookingPast),
    )
    async def cancel(request: web.Request) -> web.Response:
        booking_id = path_id(request, limit=INT8_MAX)
        body = await read_model(request, CancelRequest)
        return json_response(await staff.cancel(member(request), booking_id, reason=body.reason))

    @table.post(r"/bookings/{id:[0-9]+}/attendance")
    @operation(
        summary="Arrived (from an hour before) or no-show (after the start)",
        tag="staff",
        body=AttendanceRequest,
        response=DayBooking,
        auth=True,
        roles=ROLES,
        errors=(NotFound, BookingCancelled, TooEarly),
    )
    async def attendance(request: web.Request) -> web.Response:
        booking_id = path_id(request, limit=INT8_MAX)
        body = await read_model(request, AttendanceRequest)
        return json_response(await staff.attendance(member(request), booking_id, body))

    @table.get("/bookings.csv")
    @operation(
        summary="The bookings of a stretch of days as CSV (UTF-8, semicolons)",
        tag="staff",
        content_type="text/csv",
        auth=True,
        roles=DESK,
        errors=(Unprocessable,),
        query=(
            Query("from", "The first day (default: today)", DATE),
            Query("to", f"The last day (default: from + {EXPORT_DAYS})", DATE),
        ),
    )
    async def export(request: web.Request) -> web.Response:
        first = query_date(request, "from") or staff.today()
        last = query_date(request, "to") or first + timedelta(days=EXPORT_DAYS)
        body = await staff.export(first, last)
        disposition = f'attachment; filename="bookings-{first}-{last}.csv"'
        return web.Response(
            body=body,
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": disposition},
        )

    # --- the schedule ------------------------------------------------------------------

    @table.get(r"/doctors/{id:[0-9]+}/hours")
    @operation(
        summary="A doctor's weekly hours",
        tag="staff",
        response=WeeklyHours,
        auth=True,
        roles=DESK,
        errors=(NotFound,),
    )
    async def hours(request: web.Request) -> web.Response:
        return json_response(await staff.hours(path_id(request)))

    @table.put(r"/doctors/{id:[0-9]+}/hours")
    @operation(
        summary="Replace a doctor's weekly hours ([]: the clinic's default week)",
        tag="staff",
        body=WeekdayHours,
        body_many=True,
        response=WeeklyHours,
        auth=True,
        roles=DESK,
        errors=(NotFound,),
    )
    async def set_hours(request: web.Request) -> web.Response:
        doctor_id = path_id(request)
        days = await read_models(request, WeekdayHours, max_items=7)
        return json_response(await staff.set_hours(member(request), doctor_id, days))

    @table.get(r"/doctors/{id:[0-9]+}/time-off")
    @operation(
        summary="A doctor's days off from today on",
        tag="staff",
        response=TimeOff,
        many=True,
        auth=True,
        roles=DESK,
        errors=(NotFound,),
    )
    async def time_off(request: web.Request) -> web.Response:
        return json_response(await staff.time_off(path_id(request)))

    @table.post(r"/doctors/{id:[0-9]+}/time-off")
    @operation(
        summary="Whole days off; 409 listing the bookings inside unless cancel_bookings",
        tag="staff",
        status=201,
        body=TimeOffRequest,
        response=TimeOff,
        auth=True,
        roles=DESK,
        errors=(NotFound, BookingsAffected, TimeOffOverlap),
    )
    async def add_time_off(request: web.Request) -> web.Response:
        doctor_id = path_id(request)
        body = await read_model(request, TimeOffRequest)
        created = await staff.add_time_off(member(request), doctor_id, body)
        return json_response(created, status=201)

    @table.delete(r"/time-off/{id:[0-9]+}")
    @operation(
        summary="Remove days off",
        tag="staff",
        status=204,
        auth=True,
        roles=DESK,
        errors=(NotFound,),
    )
    async def remove_time_off(request: web.Request) -> web.Response:
        await staff.remove_time_off(member(request), path_id(request, limit=INT8_MAX))
        return no_content()

    @table.get("/closures")
    @operation(
        summary="The days the clinic is closed, from today on",
        tag="staff",
        response=Closure,
        many=True,
        auth=True,
        roles=ADMIN,
    )
    async def closures(request: web.Request) -> web.Response:
        return json_response(await staff.closures())

    @table.post("/closures")
    @operation(
        summary="Close the clinic for a day; 409 listing the bookings unless cancel_bookings",
        tag="staff",
        status=201,
        body=ClosureRequest,
        response=Closure,
        auth=True,
        roles=ADMIN,
        errors=(BookingsAffected, ClosureExists),
    )
    async def add_closure(request: web.Request) -> web.Response:
        body = await read_model(request, ClosureRequest)
        return json_response(await staff.add_closure(member(request), body), status=201)

    @table.delete(r"/closures/{id:[0-9]+}")
    @operation(
        summary="Open a closed day again",
        tag="staff",
        status=204,
        auth=True,
        roles=ADMIN,
        errors=(NotFound,),
    )
    async def remove_closure(request: web.Request) -> web.Response:
        await staff.remove_closure(member(request), path_id(request, limit=INT8_MAX))
        return no_content()

    # --- the audit log -------------------------------------------------------------------

    @table.get("/actions")
    @operation(
        summary="The audit log: every staff write, newest first",
        tag="staff",
        response=Action,
        many=True,
        auth=True,
        roles=ADMIN,
        errors=(Unprocessable,),
        query=(
            Query("before", "Only entries older than this id (the next page)", INTEGER),
            Query("limit", f"At most this many (default 100, at most {MAX_ACTIONS})", INTEGER),
        ),
    )
    async def actions(request: web.Request) -> web.Response:
        before = query_int(request, "before", limit=INT8_MAX)
        limit = min(query_int(request, "limit") or 100, MAX_ACTIONS)
        return json_response(await staff.actions(before_id=before, limit=limit))

    return table
