"""The aiohttp application: wiring, middleware, authentication and static files."""
