"""The one-sided formulas of ``Model(..., thresholds="~ z", dispersion="~ z1 + z2")``.

They are read here, in the syntax stage, into formulaic right-hand sides kept in the
:class:`~glpp.ir.Spec` (``Spec.thresholds``, ``Spec.dispersion``); the design stage
builds their model matrices (:mod:`glpp.design.auxiliary`).
"""

from __future__ import annotations

from glpp.errors import SpecError

__all__ = ["side_formula"]


def side_formula(text: str | None, keyword: str) -> str | None:
    """The right-hand side of a one-sided formula ``"~ z1 + z2"`` (the ``~`` is optional).

    Parameters
    ----------
    text : str or None
    keyword : str
        The keyword argument it came from, for messages.

    Raises
    ------
    SpecError
        Not a string, a left-hand side, an empty right-hand side, random terms or offsets.

    Examples
    --------
    >>> side_formula("~ male + age", "dispersion")
    'male + age'
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise SpecError(f"{keyword}= takes a one-sided formula such as '~ z1 + z2', not {text!r}")
    left, tilde, right = text.partition("~")
    rhs = right.strip() if tilde else left.strip()
    if tilde and left.strip():
        raise SpecError(
            f"{keyword}={text!r}: a one-sided formula has nothing left of '~' (write '~ {rhs}')"
        )
    if not rhs:
        raise SpecError(f"{keyword}={text!r} names no covariates; write e.g. '~ z1 + z2'")
    for forbidden, what in (("|", "random terms"), ("offset(", "offsets"), ("~", "a second '~'")):
        if forbidden in rhs:
            raise SpecError(f"{keyword}={text!r}: {what} are not allowed here; give covariates only")
    return rhs
