"""Makes every Python process the benchmarks start run this checkout's clinic.

bench/__init__.py puts this folder first on PYTHONPATH (so Python imports this module
at start-up in every process that inherits the environment: `clinic serve` and its
forked workers, `clinic worker`, the fake Bot API) and imports it in the benchmark's own
process. Without it, a checkout run with another checkout's editable install (a git
worktree sharing the main one's .venv) gets a mix: the editable install maps `clinic`,
and the data packages `clinic.queries` (sql/) and `clinic.migrations` (migrations/), to
the folders of the checkout it was installed from, and a process whose working directory
is not this checkout (the server runs in a scratch directory) would import all three
from there; one started here would take the Python from here and the SQL and
migrations from there. The finder below goes before the editable one and answers for
those three names only, from the folders beside this one; everything else is imported
as usual. From the checkout the venv was installed from, it finds the same folders.

This folder holds no other sitecustomize: there is none in the venv to shadow.
"""

from __future__ import annotations

import sys
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType
from typing import Any

CHECKOUT = Path(__file__).resolve().parents[2]
FOLDERS = {
    "clinic": CHECKOUT / "clinic",
    "clinic.queries": CHECKOUT / "sql",
    "clinic.migrations": CHECKOUT / "migrations",
}


class ThisCheckout:
    """A meta path finder for `clinic` and its two data packages, in this checkout."""

    @classmethod
    def find_spec(
        cls, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        folder = FOLDERS.get(fullname)
        if folder is None or not (folder / "__init__.py").is_file():
            return None
        return spec_from_file_location(
            fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )


if not any(getattr(finder, "__name__", "") == "ThisCheckout" for finder in sys.meta_path):
    sys.meta_path.insert(0, ThisCheckout)
