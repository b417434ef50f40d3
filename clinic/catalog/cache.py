"""The catalog's answers as ready bytes, kept until the catalog changes.

Staff change specializations and doctors rarely; patients read them on every visit. So
each answer is encoded once and kept with its ETag until a NOTIFY on the catalog's
channel says something changed (migration 0011: a trigger on every table they are made
from). A copy is kept only while the LISTEN connection is up: a change made while it was
down would go unheard, so then every read goes to the database, and on reconnecting
the cache starts empty. A read that began before a change and ends after it is not
kept (the generation moved on), so an old answer never outlives the change's
notification.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

from clinic.web.io import strong_etag


class Ready(NamedTuple):
    body: bytes  # JSON
    etag: str  # a strong validator, quoted: "1f3a..."


def ready(body: bytes) -> Ready:
    return Ready(body, strong_etag(body))


class ReadyCache:
    def __init__(self) -> None:
        self._ready: dict[Hashable, Ready] = {}
        self._live = False
        self.generation = 0

    def get(self, key: Hashable) -> Ready | None:
        return self._ready.get(key)

    def put(self, key: Hashable, generation: int, answer: Ready) -> None:
        """Keeps `answer`, read since `generation`, unless the catalog changed meanwhile."""
        if self._live and generation == self.generation:
            self._ready[key] = answer

    def clear(self) -> None:
        self.generation += 1
        self._ready.clear()

    def listening(self, live: bool) -> None:
        """Whether changes are heard now; either way, what is kept may be out of date."""
        self._live = live
        self.clear()

    def __len__(self) -> int:
        return len(self._ready)
