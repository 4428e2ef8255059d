"""Columns of the data that model terms use: which ones, checks that they exist, their values.

Expressions (``log(exposure)``, ``n - s``) are read with :mod:`ast` and
evaluated by pandas; formula right-hand sides (``1 + x + C(item)``) are
read and turned into design matrices by formulaic. Every failure names the
model term it came from.
"""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix

from glpp.errors import DataError, SpecError

__all__ = [
    "check_columns",
    "design_matrix",
    "evaluate",
    "expression_columns",
    "formula_columns",
    "formula_variables",
]

#: names an expression may call or use without being data columns
_EXPRESSION_FUNCTIONS = {"np", "log", "exp", "sqrt"}


def expression_columns(expression: str, term: str) -> set[str]:
    """Data columns named in an expression such as ``log(exposure)`` or ``n - s``.

    Parameters
    ----------
    expression : str
    term : str
        The model term, for messages.

    Raises
    ------
    SpecError
        The expression is not valid Python.
    """
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as error:
        raise SpecError(f"cannot read expression {expression!r} in {term}: {error.msg}") from None
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} - called - _EXPRESSION_FUNCTIONS


def formula_variables(rhs: str) -> set[str]:
    """Data columns a formula right-hand side needs (formulaic's errors pass through)."""
    return set(Formula(rhs).required_variables)


def formula_columns(rhs: str, term: str) -> set[str]:
    """Data columns a formula right-hand side needs.

    Parameters
    ----------
    rhs : str
        E.g. ``"1 + x + C(item)"``.
    term : str
        The model term, for messages.

    Raises
    ------
    SpecError
        formulaic cannot read the formula.
    """
    try:
        return formula_variables(rhs)
    except Exception as error:  # formulaic raises several parser error types
        raise SpecError(f"cannot read {term}: {error}") from None


def check_columns(columns: set[str], data: pd.DataFrame, term: str) -> None:
    """Raise :class:`DataError` naming the first of ``columns`` (sorted) missing from ``data``.

    Parameters
    ----------
    columns : set of str
    data : DataFrame
    term : str
        The model term that uses the columns, for the message.
    """
    missing = sorted(columns - set(data.columns))
    if missing:
        available = ", ".join(map(str, data.columns[:20]))
        raise DataError(
            f"column {missing[0]!r} used in {term} is not in the data; available columns: {available}"
        )


def evaluate(expression: str, data: pd.DataFrame, term: str) -> np.ndarray:
    """Values (float) of a column or an expression of columns, one per row of ``data``.

    Parameters
    ----------
    expression : str
        A column name or an expression such as ``log(exposure)``.
    data : DataFrame
    term : str
        The model term, for messages.

    Raises
    ------
    SpecError
        pandas cannot evaluate the expression.
    DataError
        The values are not numeric.
    """
    if expression in data.columns:
        values = data[expression]
    else:
        try:
            values = data.eval(expression, engine="python")
        except Exception as error:
            raise SpecError(f"cannot evaluate {expression!r} in {term}: {error}") from None
    if not pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        raise DataError(
            f"{term}: {expression!r} is not numeric (dtype {values.dtype}); "
            "recode it to numbers (e.g. 0/1) before fitting"
        )
    return np.asarray(values, dtype=float)


def design_matrix(rhs: str, data: pd.DataFrame, term: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """The model matrix of a formula right-hand side, and its column names.

    Parameters
    ----------
    rhs : str
        E.g. ``"1 + days"``.
    data : DataFrame
        Complete rows only (missing values raise).
    term : str
        The model term, for messages.

    Returns
    -------
    matrix : ndarray, shape (n_rows, n_columns)
    names : tuple of str
        formulaic's column names, with ``"Intercept"`` written ``"(Intercept)"``.

    Raises
    ------
    SpecError
        formulaic cannot build the matrix.
    """
    try:
        matrix = model_matrix(rhs, data, na_action="raise")
    except Exception as error:
        raise SpecError(f"cannot build the design matrix of {term}: {error}") from None
    names = tuple("(Intercept)" if name == "Intercept" else str(name) for name in matrix.columns)
    return np.asarray(matrix, dtype=float), names
