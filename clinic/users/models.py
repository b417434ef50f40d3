"""The caller as the API shows them, and the demo identity."""

from __future__ import annotations

from pydantic import BaseModel

from clinic.telegram.models import TelegramUser


class Me(BaseModel):
    id: int
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None
    demo: bool


class DemoIdentity(BaseModel):
    init_data: str
    user: TelegramUser
