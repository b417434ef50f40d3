"""The bot: its conversations (menu, bookings), the intake that takes each update once,
the webhook, long polling, its start and stop, and the demo chat. It calls the areas'
services, the same ones the REST API calls."""
