"""Exceptions and warnings raised by glpp."""

from __future__ import annotations

import os
import warnings

__all__ = [
    "GlppError",
    "SpecError",
    "DataError",
    "IdentificationError",
    "ConvergenceWarning",
    "IdentificationWarning",
    "warn_user",
]

#: warnings point at the first caller outside glpp (the user's line)
_PACKAGE_DIRECTORY = os.path.dirname(__file__)


class GlppError(Exception):
    """Base class of every error glpp raises on purpose."""


class SpecError(GlppError, ValueError):
    """The model string or a keyword argument is not a valid model.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    source : str, optional
        The model string; with ``position`` the message shows a caret under
        the offending character.
    position : int, optional
        Zero-based offset into ``source``.
    """

    def __init__(self, message: str, source: str | None = None, position: int | None = None):
        self.message = message
        self.source = source
        self.position = position
        super().__init__(self._render())

    def _render(self) -> str:
        if self.source is None or self.position is None:
            return self.message
        line_start = self.source.rfind("\n", 0, self.position) + 1
        line_end = self.source.find("\n", self.position)
        if line_end == -1:
            line_end = len(self.source)
        line = self.source[line_start:line_end]
        column = self.position - line_start
        line_number = self.source.count("\n", 0, self.position) + 1
        return (
            f"{self.message} (line {line_number}, column {column + 1})\n"
            f"    {line}\n    {' ' * column}^"
        )


class DataError(GlppError, ValueError):
    """The data do not fit the model: a missing column, a response outside
    the family's support, grouping that is not nested, too few clusters."""


class IdentificationError(GlppError, ValueError):
    """The model is not identified: a latent variable without a fixed scale,
    or more free parameters than the data can inform."""


class ConvergenceWarning(UserWarning):
    """The optimiser stopped without meeting the convergence criteria."""


class IdentificationWarning(UserWarning):
    """The fit looks empirically under-identified (singular information)."""


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn, attributing the warning to the first caller outside glpp (the user's ``fit()`` line)."""
    warnings.warn(message, category, skip_file_prefixes=(_PACKAGE_DIRECTORY,))
