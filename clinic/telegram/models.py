"""Telegram's objects as the app reads them: a user (from a MiniApp's initData or a bot
update), and the parts of Update objects the bot reads; everything else is ignored."""

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


class _Telegram(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Chat(_Telegram):
    id: int
    type: str


class Message(_Telegram):
    message_id: int
    chat: Chat
    sender: TelegramUser | None = Field(default=None, alias="from")
    text: str | None = None
    web_app_data: dict[str, str] | None = None


class CallbackQuery(_Telegram):
    id: str
    sender: TelegramUser = Field(alias="from")
    message: Message | None = None
    data: str | None = None


class ChatMember(_Telegram):
    status: str


class ChatMemberUpdated(_Telegram):
    chat: Chat
    sender: TelegramUser = Field(alias="from")
    new_chat_member: ChatMember


class Update(_Telegram):
    update_id: int = Field(ge=0, lt=2**63)
    message: Message | None = None
    callback_query: CallbackQuery | None = None
    my_chat_member: ChatMemberUpdated | None = None

    def chat_id(self) -> int | None:
        """The chat this update belongs to, to keep one chat's updates in order."""
        if self.message is not None:
            return self.message.chat.id
        if self.callback_query is not None:
            return self.callback_query.sender.id
        if self.my_chat_member is not None:
            return self.my_chat_member.chat.id
        return None
