"""Telegram: the Bot API client, the bot's handlers and its keyboards."""
