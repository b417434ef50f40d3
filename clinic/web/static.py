"""The built MiniApp at `/` (history-mode fallback to index.html) and the doctors' photos."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from clinic.errors import ClinicError
from clinic.web.openapi import operation


class NotBuilt(ClinicError):
    status = 503
    code = "not_built"
    title = "Not built"


IMMUTABLE = "public, max-age=31536000, immutable"
NOT_BUILT = """<!doctype html><html lang="ru"><meta charset="utf-8"><title>Клиника</title>
<p>MiniApp ещё не собран: выполните <code>make miniapp</code>.
API работает: <a href="/api/specializations">/api/specializations</a></p></html>"""


def add_photos(app: web.Application, photos: Path) -> None:
    app.router.add_static("/photos", photos, append_version=False)

    async def cache_photos(request: web.Request, response: web.StreamResponse) -> None:
        if request.path.startswith("/photos/") and response.status == 200:
            response.headers["Cache-Control"] = "public, max-age=86400"

    app.on_response_prepare.append(cache_photos)


def add_api_docs(app: web.Application, dist: Path) -> None:
    """GET /api/docs: the API reference page of the MiniApp's build (Swagger UI from npm)."""
    page = dist.resolve() / "docs.html"

    @operation(
        summary="The API reference, to read in a browser",
        tag="docs",
        content_type="text/html",
        errors=(503,),
    )
    async def api_docs(request: web.Request) -> web.StreamResponse:
        if not page.is_file():
            raise NotBuilt("The API reference is not built: run `make miniapp`")
        return web.FileResponse(page, headers={"Cache-Control": "no-cache"})

    app.router.add_get("/api/docs", api_docs)


def add_miniapp(app: web.Application, dist: Path) -> None:
    """Registers the catch-all route; add it after every other route."""
    root = dist.resolve()

    async def miniapp(request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        index = root / "index.html"
        if not index.is_file():
            return web.Response(text=NOT_BUILT, content_type="text/html", status=503)
        target = (root / tail).resolve()
        if tail and target.is_relative_to(root) and target.is_file():
            cache = IMMUTABLE if target.parent.name == "assets" else "no-cache"
            return web.FileResponse(target, headers={"Cache-Control": cache})
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    # Everything but the API's, the bot's and the demo's own prefixes, which stay 404.
    app.router.add_get(r"/{tail:(?!(api|telegram|demo)(/|$)).*}", miniapp, name="miniapp")
