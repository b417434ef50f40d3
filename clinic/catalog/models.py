"""The catalog as the API returns it, and as the demo catalog file describes it."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field

PHOTO_PATH = "/photos/"


def full_name(last_name: str, first_name: str, middle_name: str | None) -> str:
    return " ".join(part for part in (last_name, first_name, middle_name) if part)


def photo_url(photo: str | None) -> str | None:
    return f"{PHOTO_PATH}{photo}" if photo else None


class Specialization(BaseModel):
    id: int
    slug: str
    name: str
    description: str
    icon: str
    doctor_count: int


class Doctor(BaseModel):
    id: int
    specialization_id: int
    specialization: str
    first_name: str
    middle_name: str | None
    last_name: str
    title: str
    experience_years: int
    description: str
    photo_url: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def full_name(self) -> str:
        return full_name(self.last_name, self.first_name, self.middle_name)

    @classmethod
    def from_row(cls, row: Any) -> Doctor:
        data = dict(row)
        data["photo_url"] = photo_url(data.pop("photo"))
        return cls.model_validate(data)


class SearchResults(BaseModel):
    """What GET /api/search answers: both lists best match first, empty for an empty query."""

    specializations: list[Specialization]
    doctors: list[Doctor]


# The demo catalog file (clinic/catalog/demo/catalog.json).


class SeedHours(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weekday: int = Field(ge=1, le=7)
    start: time
    end: time


Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class SeedSpecialization(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str
    description: str
    icon: str
    # Words and short phrases patients use for it, symptoms included: what search finds.
    keywords: list[Keyword] = Field(default_factory=list)


class SeedDoctor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(pattern=r"^[a-z0-9-]+$")
    specialization: str
    last_name: str
    first_name: str
    middle_name: str | None = None
    title: str
    experience_years: int = Field(ge=0, le=80)
    description: str
    photo: str | None = None
    hours: list[SeedHours] | None = None


class SeedCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    specializations: list[SeedSpecialization]
    doctors: list[SeedDoctor]
