"""A Telegram user as the MiniApp's initData or a bot update describes them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class TelegramUser(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int = Field(gt=0, lt=2**63)
    first_name: str = Field(max_length=256)
    last_name: str | None = Field(default=None, max_length=256)
    username: str | None = Field(default=None, max_length=64)
    language_code: str | None = Field(default=None, max_length=35)
    is_premium: bool = False

    @field_validator("first_name", "last_name", "username", "language_code")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # PostgreSQL text cannot hold NUL; a name with one is stored without it.
        return value.replace("\x00", "") if value else value


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
