"""The waitlist as the API shows it and takes it."""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class WaitlistRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doctor_id: int = Field(ge=1, le=2_147_483_647)
    date: dt.date = Field(description="The clinic's day to wait for, YYYY-MM-DD")

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise ValueError("date must be a string YYYY-MM-DD")
        return value


class WaitlistEntry(BaseModel):
    id: int
    doctor_id: int
    date: dt.date
    created_at: dt.datetime
    doctor: str | None = Field(default=None, description="The doctor's full name")
    specialization: str | None = None


class Offer(BaseModel):
    """A slot offered to a waiting patient (a row of the job table)."""

    id: int
    chat_id: int
    slot_at: dt.datetime
    waitlist_id: int
    user_id: int
    doctor_id: int
    day: dt.date
    entry_status: str
