"""Logs as one JSON object per line, each carrying the request id of the request it is part of.

Secrets never reach the output: the bot token, the webhook secret and MiniApp initData
are masked by a filter on the handler, whatever code logged them.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# initData as it travels: a query string with a 64-hex-digit hash (raw or url-encoded).
_INIT_DATA = re.compile(r"(tma\s+)?\S*(hash|%26hash)(=|%3D)[0-9a-f]{64}\S*", re.IGNORECASE)
MASK = "[redacted]"
# Libraries whose INFO is a running commentary (pgserver's every pg_ctl call and initdb's
# output, yoyo's every migration step): shown only at LOG_LEVEL=debug.
CHATTY = ("pgserver", "yoyo")
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


class Redact(logging.Filter):
    """Masks the given secrets and anything shaped like initData in every record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 8]

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _INIT_DATA.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._clean(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_text:
            entry["exception"] = record.exc_text
        return orjson.dumps(entry, default=str).decode()


def configure(*, secrets: list[str], level: int | str = logging.INFO, stream: Any = None) -> None:
    """JSON lines on stderr for the whole process, with secrets masked.

    `level` is a logging level or a LOG_LEVEL name ("debug", "info", ...).
    """
    if isinstance(level, str):
        level = LEVELS[level.lower()]
    # Nothing here prints where a record came from, nor its thread or process: not
    # looking them up takes a good share off every request's log line.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Redact(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    chatty = level if level <= logging.DEBUG else max(level, logging.WARNING)
    for name in CHATTY:
        logging.getLogger(name).setLevel(chatty)
    # aiohttp's own access log is replaced by the request log of clinic.web.observe.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
