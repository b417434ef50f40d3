"""Benchmarks and load drivers for clinic (not run by the unit suite).

    .venv/bin/python -m bench.booking    race, booking throughput vs the reference
                                         transaction, slot and catalog reads, RSS
    .venv/bin/python -m bench.webhook    Telegram webhook throughput and exactly-once intake

Each starts its own server process, fake Bot API process and databases, and removes
them when it ends (also on Ctrl-C or SIGTERM). Raw figures go to bench/results/.

Importing this package makes this checkout's `clinic` (its Python, sql/ and
migrations/) the one used here and in every process started from here:
bench/_site/sitecustomize.py says why and how.
"""

import importlib
import os
import sys
from pathlib import Path

_SITE = str(Path(__file__).resolve().parent / "_site")
_CHECKOUT = str(Path(__file__).resolve().parent.parent)
if _SITE not in sys.path:
    sys.path.insert(0, _SITE)
importlib.import_module("sitecustomize")  # a no-op when start-up imported it already
_inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_SITE, _CHECKOUT, *(p for p in _inherited if p not in (_SITE, _CHECKOUT))]
)
