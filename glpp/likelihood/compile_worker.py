"""The background worker of :mod:`glpp.likelihood.background`: ``python -m glpp.likelihood.compile_worker PENDING``
compiles the queued graphs to C (at low priority) and stores them in the cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from glpp.likelihood.background import run_worker
from glpp.likelihood.backend import resolve_mode
from glpp.likelihood.compile_cache import compile_and_store

__all__ = ["compile_task"]


def compile_task(specs: dict, entry: Path, excluding: tuple[str, ...]) -> None:
    """Compile ``specs`` (``{name: (inputs, outputs)}``) with the C backend and store them at ``entry``."""
    compile_and_store(specs, entry, resolve_mode("c", excluding))


if __name__ == "__main__":
    try:
        os.nice(10)
    except OSError:
        pass
    run_worker(Path(sys.argv[1]), compile_task)
