"""Logs as one JSON object per line, each carrying the request id of the request it is part of.

Secrets never reach the output: the bot token, the webhook secret and MiniApp initData
are masked by a filter on the handler, whatever code logged them.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import sys
import threading
import time
import weakref
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

    def clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _INIT_DATA.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.clean(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._second = (-1, "")  # the last whole second formatted, and its text

    def stamp(self, created: float) -> str:
        """`created` as isoformat(timespec="milliseconds") has it, UTC; the date and time
        of day are formatted once a second, not once a line."""
        whole = int(created)
        micros = round((created - whole) * 1_000_000)  # as datetime.fromtimestamp rounds
        if micros >= 1_000_000:
            whole, micros = whole + 1, micros - 1_000_000
        if whole != self._second[0]:
            self._second = (whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
        return f"{self._second[1]}.{micros // 1000:03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.stamp(record.created),
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


class JsonLines(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler of `configure`: a StreamHandler that also takes lines formatted by
    its caller (`info_line`)."""

    def write_line(self, line: str) -> None:
        with self.lock:  # type: ignore[union-attr]  # a Handler's lock exists after __init__
            self.stream.write(line + self.terminator)
            self.flush()


class BatchedLines(JsonLines):
    """A JsonLines that writes lines in batches, as nginx's buffered access log does:
    a line waits at most `delay` seconds, and `limit` characters of lines at most, before
    one write takes every line waiting. A warning or worse goes out at once, with the
    lines before it, and so does everything at exit (logging.shutdown) and before a fork.

    So a busy server makes about ten write calls a second for its log, not one for each
    request it answers."""

    def __init__(self, stream: Any, *, delay: float = 0.1, limit: int = 64 * 1024) -> None:
        super().__init__(stream)
        self._delay, self._limit = delay, limit
        self._lines: list[str] = []
        self._size = 0
        self._due = threading.Event()
        self._closed = False
        self._flusher_pid = 0  # the process whose flusher thread runs (none after a fork)
        _batched.add(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._keep(line, urgent=record.levelno >= logging.WARNING)

    def write_line(self, line: str) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._keep(line, urgent=False)

    def _keep(self, line: str, *, urgent: bool) -> None:
        """Called with the lock held."""
        self._lines.append(line)
        self._size += len(line) + 1
        if urgent or self._size >= self._limit or self._closed:
            self.flush()
        elif len(self._lines) == 1:  # the first line waiting: the flusher starts its wait
            self._start_flusher()
            self._due.set()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # a Handler's lock exists after __init__
            if self._lines:
                lines, self._lines, self._size = self._lines, [], 0
                try:
                    self.stream.write("\n".join(lines) + "\n")
                except Exception:
                    # The lines are dropped, as StreamHandler drops one it cannot write;
                    # logging.raiseExceptions says whether to print why.
                    if logging.raiseExceptions:
                        sys.stderr.write(f"--- {len(lines)} log lines could not be written\n")
            if self.stream is not None and hasattr(self.stream, "flush"):
                self.stream.flush()

    def close(self) -> None:
        self._closed = True
        self._due.set()
        self.flush()
        _batched.discard(self)
        super().close()

    def _start_flusher(self) -> None:
        if self._flusher_pid != os.getpid():
            self._flusher_pid = os.getpid()
            threading.Thread(target=self._flush_when_due, name="log-flusher", daemon=True).start()

    def _flush_when_due(self) -> None:
        while not self._closed:
            self._due.wait()
            self._due.clear()  # a line that starts a batch after this sets it again
            time.sleep(self._delay)
            self.flush()


_OWN = frozenset(("time", "level", "logger"))  # what info_line writes itself: no secret


def info_line(logger: logging.Logger, message: str, fields: dict[str, Any]) -> None:
    """logger.info(message, extra=fields), for a line written on every request.

    When the logger's records reach only the handler `configure` set up, the line is
    formatted here and handed to it, without the LogRecord, the walk through the
    handlers and the generic formatting (about 20 of the 150 microseconds a cached read
    took in the server): the same JSON line, its strings masked as the Redact filter
    masks a message. Anywhere else (a test capturing logs, a handler of one's own), through
    logging as usual.
    """
    if not logger.isEnabledFor(logging.INFO):
        return
    direct = _sole_handler(logger)
    if direct is None:
        logger.info(message, extra=fields)
        return
    handler, formatter, redacts = direct
    entry: dict[str, Any] = {
        "time": formatter.stamp(time.time()),
        "level": "info",
        "logger": logger.name,
        "message": message,
    }
    rid = request_id.get()
    if rid:
        entry["request_id"] = rid
    entry.update(fields)
    for redact in redacts:
        for key, value in entry.items():
            if isinstance(value, str) and key not in _OWN:
                entry[key] = redact.clean(value)
    handler.write_line(orjson.dumps(entry, default=str).decode())


def _sole_handler(
    logger: logging.Logger,
) -> tuple[JsonLines, JsonFormatter, list[Redact]] | None:
    """The one handler an INFO record of `logger` would reach, with its formatter and
    filters, when it is a JsonLines with a JsonFormatter and only Redact filters and no
    logger on the way has a filter; None otherwise."""
    node: logging.Logger | None = logger
    while node is not None:
        if node.filters:
            return None
        if node.handlers:
            if node is not logging.root or len(node.handlers) != 1:
                return None
            handler = node.handlers[0]
            formatter = handler.formatter
            redacts = [f for f in handler.filters if isinstance(f, Redact)]
            if (
                isinstance(handler, JsonLines)
                and handler.level <= logging.INFO
                and isinstance(formatter, JsonFormatter)
                and len(redacts) == len(handler.filters)
            ):
                return handler, formatter, redacts
            return None
        if not node.propagate:
            return None
        node = node.parent
    return None


_batched: weakref.WeakSet[BatchedLines] = weakref.WeakSet()


def flush() -> None:
    """Writes every line waiting: before os._exit, which skips logging's own flush at
    exit, and before a fork, after which both processes would write it."""
    for handler in list(_batched):
        handler.flush()


os.register_at_fork(before=flush)


def configure(
    *,
    secrets: list[str],
    level: int | str = logging.INFO,
    stream: Any = None,
    batched: bool = False,
) -> None:
    """JSON lines on stderr for the whole process, with secrets masked.

    `level` is a logging level or a LOG_LEVEL name ("debug", "info", ...). `batched`:
    lines below a warning are written within a tenth of a second, several in one write
    (BatchedLines), not each at once.
    """
    if isinstance(level, str):
        level = LEVELS[level.lower()]
    # Nothing here prints where a record came from, nor its thread or process: not
    # looking them up takes a good share off every request's log line.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    out = stream or sys.stderr
    handler = BatchedLines(out) if batched else JsonLines(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Redact(secrets))
    root = logging.getLogger()
    for replaced in root.handlers:
        if isinstance(replaced, BatchedLines):
            replaced.close()  # its lines written, its flusher ended
    root.handlers[:] = [handler]
    root.setLevel(level)
    chatty = level if level <= logging.DEBUG else max(level, logging.WARNING)
    for name in CHATTY:
        logging.getLogger(name).setLevel(chatty)
    # aiohttp's own access log is replaced by the request log of clinic.web.observe.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
