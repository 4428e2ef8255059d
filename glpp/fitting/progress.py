"""A progress display for long ML fits: iteration, log-likelihood and quadrature points, on stderr.

One plain-text line, rewritten in place (a carriage return) at most every
:data:`REFRESH_SECONDS`, ends with a newline when the fit is done, e.g.::

    glpp fit: nip 11, iteration  23, loglik -908.123456

``progress=None`` (the default of :meth:`glpp.Model.fit`) shows it in Jupyter only
(an IPython kernel is running), where fits of large models take minutes and nothing
else says the kernel is busy; ``True`` always, ``False`` never.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

__all__ = ["REFRESH_SECONDS", "FitProgress", "in_notebook", "show_progress"]

#: the shortest time between two updates of the line
REFRESH_SECONDS = 0.2


def in_notebook() -> bool:
    """Whether this Python runs in an IPython kernel (Jupyter, VS Code notebooks, Colab)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def show_progress(progress: bool | None) -> bool:
    """``progress`` resolved: ``None`` means in a notebook only (:func:`in_notebook`)."""
    if progress is None:
        return in_notebook()
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None (in notebooks only), not {progress!r}")
    return progress


class FitProgress:
    """The progress line of one fit (module docstring); a no-op where it is not shown.

    Parameters
    ----------
    enabled : bool
    stream : file, optional
        Where to write (default ``sys.stderr``, looked up when writing).
    """

    def __init__(self, enabled: bool, stream: TextIO | None = None):
        self.enabled = enabled
        self.stream = stream
        self.nip = "exact"
        self.iteration = 0
        self.loglik = float("nan")
        self._written = -float("inf")
        self._shown = False

    def set_nip(self, nip: object) -> None:
        """The number of quadrature points of the fit now under way (``"exact"``: a closed form)."""
        self.nip = nip
        self._write(force=True)

    def update(self, iteration: int, loglik: float) -> None:
        """An optimiser iteration's log-likelihood (the ``callback`` of :func:`glpp.fitting.optim.maximise`)."""
        self.iteration, self.loglik = iteration, loglik
        self._write(force=False)

    def close(self) -> None:
        """The last state, and the line ended."""
        if self.enabled and self._shown:
            self._write(force=True)
            self._out().write("\n")
            self._out().flush()

    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    def _write(self, *, force: bool) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._written < REFRESH_SECONDS):
            return
        self._written, self._shown = now, True
        loglik = f"{self.loglik:.6f}" if math.isfinite(self.loglik) else "(not evaluated yet)"
        self._out().write(f"\rglpp fit: nip {self.nip}, iteration {self.iteration:4d}, loglik {loglik}")
        self._out().flush()
