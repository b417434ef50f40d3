"""Loads the named queries of sql/*.sql once, into a read-only mapping keyed "area.name".

A block starts with a `-- name: x` line; the comment lines after it describe the
query; the statement runs to the next header. A duplicate name, an empty block or a
statement with more than one `;` fails loading.

The files live in the project's top-level sql/ folder, where DBAs look; the package
carries them as `clinic.queries` (see pyproject.toml), so an installed wheel reads the
same files through importlib.resources.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable
from types import MappingProxyType

from clinic.errors import QueryError

_HEADER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def parse(area: str, text: str) -> dict[str, str]:
    queries: dict[str, str] = {}
    headers = list(_HEADER.finditer(text))
    for header, following in zip(headers, [*headers[1:], None], strict=True):
        end = following.start() if following else len(text)
        lines = text[header.end() : end].strip().splitlines()
        body = "\n".join(line for line in lines if not line.lstrip().startswith("--")).strip()
        key = f"{area}.{header.group(1)}"
        if not body:
            raise QueryError(f"{key}: empty query")
        if body.rstrip(";").count(";"):
            raise QueryError(f"{key}: one statement per named block")
        if key in queries:
            raise QueryError(f"{key}: defined twice")
        queries[key] = body
    return queries


def load(directory: Traversable | None = None) -> Mapping[str, str]:
    folder = directory if directory is not None else files("clinic.queries")
    queries: dict[str, str] = {}
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".sql"):
            continue
        area = path.name.removesuffix(".sql")
        for key, body in parse(area, path.read_text(encoding="utf-8")).items():
            if key in queries:
                raise QueryError(f"{key}: defined twice")
            queries[key] = body
    if not queries:
        raise QueryError(f"no named queries under {folder}")
    return MappingProxyType(queries)


QUERIES = load()


def q(key: str) -> str:
    """The text of one named query; an unknown name is a programming error."""
    try:
        return QUERIES[key]
    except KeyError:
        raise QueryError(f"no query named {key}") from None
