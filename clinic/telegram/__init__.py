"""Telegram's side of the wire: the Bot API client, the demo outbox, Telegram's objects,
and the bot's callback data and inline keyboards as pure builders."""
