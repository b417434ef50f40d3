"""The built MiniApp at /: hashed assets cached for long, index.html never, history fallback."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from clinic.app import create_app
from tests.conftest import Clock, make_settings


async def test_the_miniapp_is_served_with_history_fallback(
    tmp_path: Path, dsn: str, clock: Clock, aiohttp_client: Any
) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=app></div>")
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("not for you")
    client = await aiohttp_client(create_app(make_settings(dsn, miniapp_dist=dist), clock=clock))

    index = await client.get("/")
    assert index.status == 200 and "id=app" in await index.text()
    assert index.headers["Cache-Control"] == "no-cache"
    asset = await client.get("/assets/index-abc123.js")
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    deep = await client.get("/doctors/3")
    assert deep.status == 200 and "id=app" in await deep.text()
    for sneaky in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"):
        response = await client.get(sneaky)
        assert "not for you" not in await response.text(), sneaky
    api = await client.get("/api/unknown")
    assert api.status == 404 and api.content_type == "application/problem+json"


async def test_without_a_build_the_root_says_how_to_build(
    tmp_path: Path, dsn: str, clock: Clock, aiohttp_client: Any
) -> None:
    client = await aiohttp_client(
        create_app(make_settings(dsn, miniapp_dist=tmp_path / "none"), clock=clock)
    )
    response = await client.get("/")
    assert response.status == 503
    assert "make miniapp" in await response.text()


MINIAPP = Path(__file__).resolve().parent.parent / "miniapp"


def test_the_build_carries_the_favicon() -> None:
    assert (MINIAPP / "public" / "favicon.ico").is_file(), "the build copies it from public/"
    assert (MINIAPP / "dist" / "favicon.ico").is_file(), "run `make miniapp`"
    assert 'href="/favicon.ico"' in (MINIAPP / "index.html").read_text("utf-8")


async def test_the_favicon_is_a_real_icon(dsn: str, clock: Clock, aiohttp_client: Any) -> None:
    """Browsers ask for /favicon.ico on pages that name no icon (the demo chat, the API
    docs) and where SVG icons are not supported: an icon, not a 404 or a page."""
    client = await aiohttp_client(create_app(make_settings(dsn), clock=clock))
    response = await client.get("/favicon.ico")
    assert response.status == 200
    assert response.content_type in ("image/vnd.microsoft.icon", "image/x-icon")
    body = await response.read()
    reserved, kind, count = struct.unpack_from("<HHH", body)
    assert (reserved, kind) == (0, 1) and count >= 1, "an ICO header"
    sizes = set()
    for index in range(count):
        width, height, *_, length, offset = struct.unpack_from("<BBBBHHII", body, 6 + 16 * index)
        assert body[offset : offset + 8] == b"\x89PNG\r\n\x1a\n" and offset + length <= len(body)
        sizes.add((width or 256, height or 256))
    assert {(16, 16), (32, 32)} <= sizes, sizes
    assert (await client.get("/favicon.svg")).content_type == "image/svg+xml"


async def test_cors_answers_the_miniapps_origin_only_when_it_is_elsewhere(
    dsn: str, clock: Clock, aiohttp_client: Any
) -> None:
    preflight = {
        "Origin": "https://miniapp.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type",
    }
    elsewhere = make_settings(dsn, miniapp_url="https://miniapp.example/app/")
    client = await aiohttp_client(create_app(elsewhere, clock=clock))
    answer = await client.options("/api/bookings", headers=preflight)
    assert answer.status == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "https://miniapp.example"
    read = await client.get("/api/specializations", headers={"Origin": "https://miniapp.example"})
    assert read.headers["Access-Control-Allow-Origin"] == "https://miniapp.example"
    other = await client.get("/api/specializations", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers

    # The MiniApp served from PUBLIC_URL itself: same-origin, no CORS headers at all.
    same = await aiohttp_client(create_app(make_settings(dsn), clock=clock))
    read = await same.get("/api/specializations", headers={"Origin": "https://clinic.test"})
    assert read.status == 200 and "Access-Control-Allow-Origin" not in read.headers
    answer = await same.options(
        "/api/bookings", headers={**preflight, "Origin": "https://x.example"}
    )
    assert answer.status == 405 and "Access-Control-Allow-Origin" not in answer.headers
