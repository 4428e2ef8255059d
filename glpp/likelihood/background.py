"""Compiling C versions of likelihood functions in a background process.

With the ``"auto"`` backend (:mod:`glpp.likelihood.backend`), a model
structure met for the first time is compiled by JAX for the fit at hand,
and its graph is queued here to be compiled to C for later processes: a
pending file in ``<cache>/pending/`` and one worker process (``python -m
glpp.likelihood.compile_worker``, at low priority, detached) that compiles the
pending graphs one after another and stores them in the cache like any
other entry, then exits. One worker runs at a time (a lock file); a graph
whose worker died is compiled by the next.

``GLPP_BACKGROUND_COMPILE=off`` turns the queue off (then ``"auto"`` keeps
using JAX for structures without C modules).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence

__all__ = ["compile_in_background", "background_enabled", "run_worker"]


def background_enabled() -> bool:
    """``GLPP_BACKGROUND_COMPILE`` is not off."""
    setting = os.environ.get("GLPP_BACKGROUND_COMPILE", "on").strip().lower()
    return setting not in {"", "0", "off", "false", "no"}


def _pending_directory(entry: Path) -> Path:
    return entry.parent / "pending"


def compile_in_background(specs: dict, entry: Path, excluding: Sequence[str]) -> None:
    """Queue ``specs`` (``{name: (inputs, outputs)}``, not rewritten) for a C compile stored at ``entry``.

    Starts the worker process when none runs. Failures (a read-only disk, no
    ``fork``) only mean that the next process compiles the graph itself.
    """
    if not background_enabled():
        return
    try:
        pending = _pending_directory(entry)
        pending.mkdir(parents=True, exist_ok=True)
        target = pending / f"{hashlib.sha256(str(entry).encode()).hexdigest()[:32]}.pkl"
        if not target.exists():
            payload = pickle.dumps((specs, str(entry), tuple(excluding)), protocol=pickle.HIGHEST_PROTOCOL)
            temporary = target.with_suffix(".tmp")
            temporary.write_bytes(payload)
            os.replace(temporary, target)
        subprocess.Popen(
            [sys.executable, "-m", "glpp.likelihood.compile_worker", str(pending)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except Exception:  # noqa: BLE001 - the queue is an optimisation only
        pass


def run_worker(pending: Path, compile_task: Callable[[dict, Path, tuple[str, ...]], None]) -> None:
    """Compile every pending graph in ``pending`` (one worker at a time), then return.

    ``compile_task(specs, entry, excluding)`` compiles one queued graph to C and stores it at
    ``entry`` (:func:`glpp.likelihood.compile_worker.compile_task`).
    """
    lock_path = pending / "worker.lock"
    while True:
        with lock_path.open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return  # another worker runs; it rescans before it stops
            while tasks := sorted(pending.glob("*.pkl")):
                for task in tasks:
                    try:
                        specs, entry, excluding = pickle.loads(task.read_bytes())
                        if not Path(entry).exists():
                            compile_task(specs, Path(entry), tuple(excluding))
                    except Exception:  # noqa: BLE001 - a foreground process will compile it
                        pass
                    task.unlink(missing_ok=True)
        # lock released: a task queued meanwhile gets a new round (or a new worker)
        if not any(pending.glob("*.pkl")):
            return

