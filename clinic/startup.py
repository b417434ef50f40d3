"""What `clinic` checks before anything starts, each failure as one line saying what and
how to fix it: the settings, and the sockets `clinic serve` listens on (bound first, so
a busy port is found before the app opens its pool or tells Telegram anything)."""

from __future__ import annotations

import errno
import re
import socket
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsError

from clinic.config import Settings
from clinic.errors import ConfigError, StartupError

FIX = "fix it in the environment or .env (README, Configuration)"


def _env_name(loc: tuple[Any, ...]) -> str:
    return str(loc[0]).upper() if loc else "a setting"


def _shown(value: Any) -> str:
    """An input worth repeating in the message; secrets never are."""
    if isinstance(value, SecretStr) or value is None or isinstance(value, dict | list):
        return ""
    text = str(value)
    return f"={text!r}" if len(text) <= 60 else ""


def describe_invalid(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        name = _env_name(error["loc"])
        secret = name in ("DATABASE_URL", "DATABASE_DIRECT_URL", "BOT_TOKEN", "WEBHOOK_SECRET")
        shown = "" if secret else _shown(error.get("input"))
        problems.append(f"{name}{shown}: {error['msg']}")
    return f"bad setting {'; '.join(problems)}; {FIX}"


def read_settings(**overrides: Any) -> Settings:
    """Settings from the environment and .env; ConfigError (one line) when one is wrong."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_invalid(exc)) from None
    except SettingsError as exc:
        # A list or an object that is not JSON, e.g. ADMIN_IDS=12345.
        found = re.search(r'field "(\w+)"', str(exc))
        name = found[1].upper() if found else "a setting"
        raise ConfigError(
            f"bad setting {name}: not valid JSON (e.g. ADMIN_IDS=[12345, 67890]); {FIX}"
        ) from None


def listening_sockets(host: str, port: int, *, shared: bool = False) -> list[socket.socket]:
    """Bound sockets for every address of HOST (none listening yet); StartupError when
    one cannot be bound: the port is in use, or HOST is not an address of this machine.
    `shared`: SO_REUSEPORT, so that each of several processes binds the port and the
    kernel spreads new connections over them."""
    where = f"{host}:{port}"
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise StartupError(f"cannot listen on {where}: HOST does not resolve ({exc})") from None
    bound: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(addresses):
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if shared:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as exc:
        for sock in bound:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"cannot listen on {where}: the port is in use (is clinic already running?); "
                "stop that process or set PORT to a free port"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise StartupError(
                f"cannot listen on {where}: HOST is not an address of this machine; "
                "set HOST (127.0.0.1, or 0.0.0.0 for every interface)"
            ) from None
        if exc.errno == errno.EACCES:
            raise StartupError(
                f"cannot listen on {where}: not allowed (ports below 1024 need privileges); "
                "set PORT to 1024 or above"
            ) from None
        raise StartupError(f"cannot listen on {where}: {exc.strerror}") from None
    return bound
