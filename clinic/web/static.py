"""The built MiniApp and the doctors' photos, on the root application; the API
reference page, on /api.

The MiniApp's pages are its router's sections (`/`, `/doctors/3`, `/bookings`...): each
answers index.html, and the router draws the page. A top-level file of the build
(`/favicon.ico`, `/favicon.svg`) and the hashed assets under `/assets/` are served as
files. Any other path is a 404: /api, /telegram and /demo are sub-applications of
their own.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from aiohttp import web

from clinic.errors import NotBuilt, msg
from clinic.web.io import ready_response, strong_etag
from clinic.web.openapi import operation
from clinic.web.problems import Handler

# The first path segments of the MiniApp's routes (miniapp/src/router.ts).
PAGES = ("specializations", "doctors", "bookings", "staff")
IMMUTABLE = "public, max-age=31536000, immutable"
NOT_BUILT = """<!doctype html><html lang="ru"><meta charset="utf-8"><title>Клиника</title>
<p>MiniApp ещё не собран: выполните <code>make miniapp</code>.
API работает: <a href="/api/specializations">/api/specializations</a></p></html>"""


def add_photos(app: web.Application, photos: Path) -> None:
    """The doctors' photos, read once into memory: a handful of small files that every
    catalog page shows, answered with no file handle or thread to wait for (a file still
    being opened in a thread when the server stops would be left open)."""
    held: dict[str, tuple[bytes, str, str]] = {}
    for path in sorted(photos.iterdir()):
        kind = mimetypes.guess_type(path.name)[0]
        if path.is_file() and kind is not None:
            body = path.read_bytes()
            held[path.name] = (body, strong_etag(body), kind)

    async def photo(request: web.Request) -> web.StreamResponse:
        found = held.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        body, etag, kind = found
        return ready_response(
            request, body, etag, content_type=kind, cache_control="public, max-age=86400"
        )

    app.router.add_get("/photos/{name}", photo)


def docs_routes(dist: Path) -> web.RouteTableDef:
    """GET /docs on /api: the API reference page of the MiniApp's build (Swagger UI)."""
    page = dist.resolve() / "docs.html"
    table = web.RouteTableDef()

    @table.get("/docs")
    @operation(
        summary="The API reference, to read in a browser",
        tag="docs",
        content_type="text/html",
        errors=(NotBuilt,),
    )
    async def api_docs(request: web.Request) -> web.StreamResponse:
        if not page.is_file():
            raise NotBuilt(msg("error.not_built"))
        return web.FileResponse(page, headers={"Cache-Control": "no-cache"})

    return table


def add_miniapp(app: web.Application, dist: Path) -> None:
    root = dist.resolve()
    index = root / "index.html"

    async def page(request: web.Request) -> web.StreamResponse:
        if not index.is_file():
            return web.Response(text=NOT_BUILT, content_type="text/html", status=503)
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    def file_in(folder: Path, cache: str) -> Handler:
        async def serve(request: web.Request) -> web.StreamResponse:
            target = (folder / request.match_info["name"]).resolve()
            if not (target.is_relative_to(folder) and target.is_file()):
                raise web.HTTPNotFound()
            return web.FileResponse(target, headers={"Cache-Control": cache})

        return serve

    app.router.add_get("/", page, name="miniapp")
    for section in PAGES:
        app.router.add_get(f"/{section}", page)
        app.router.add_get(f"/{section}/{{tail:.*}}", page)
    app.router.add_get("/assets/{name:.+}", file_in(root / "assets", IMMUTABLE))
    app.router.add_get(r"/{name:[^/]+\.[A-Za-z0-9]+}", file_in(root, "no-cache"))
