"""Classic models, each with its data set and the R fit (or simulated truth) it reproduces.

>>> from model_library import load, MODELS
>>> fit = load("toenail").fit()

``python -m model_library --list`` lists them; ``python -m model_library NAME`` fits one.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from model_library.catalogue import CATEGORIES, MODELS
from model_library.entry import LibraryModel

if TYPE_CHECKING:
    import glpp

DATA = Path(__file__).resolve().parent / "data"
#: the reference fits (JSON written by the R scripts beside them, or by an independent Python
#: script where no R package fits the model); present in a source checkout
REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "reference"

__all__ = [
    "CATEGORIES", "LibraryModel", "MODELS", "load", "read_data", "reference_case", "reference_label",
]


def _entry(name: str) -> LibraryModel:
    if name not in MODELS:
        raise KeyError(f"unknown library model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name]


def read_data(name: str) -> pd.DataFrame:
    """The data set of a library model (or a CSV file name in the data folder)."""
    file = MODELS[name].data if name in MODELS else name
    return pd.read_csv(DATA / file)


def load(name: str) -> glpp.Model:
    """A :class:`glpp.Model` of the named library model (not fitted).

    Examples
    --------
    >>> model = load("wine")
    >>> fit = model.fit(nip=MODELS["wine"].nip)
    """
    import glpp

    entry = _entry(name)
    return glpp.Model(entry.formula, read_data(name), family=entry.family, link=entry.link, **entry.options)


@cache
def _reference_file(file: str) -> dict[str, Any]:
    return json.loads((REFERENCE / file).read_text())


def reference_case(name: str) -> dict[str, Any] | None:
    """The reference fit of a library model (package, call, ``loglik``, ``df``, estimates; its
    ``language`` is R unless the case names another), or None for a model on simulated data
    checked against its truth."""
    entry = _entry(name)
    if entry.reference is None:
        return None
    return _reference_file(entry.reference_file)[entry.reference]


def reference_label(name: str, *, call: bool = False) -> str:
    """What a library model reproduces: the package and reference case (``"lme4:
    toenail_logit"``; with ``call=True`` the call instead of the case), or ``"simulated
    truth"``."""
    entry = _entry(name)
    if entry.reference is None:
        return "simulated truth"
    if not (REFERENCE / entry.reference_file).exists():  # an installed copy without tests/
        return f"{entry.reference_file}: {entry.reference}"
    case = reference_case(name)
    return f"{case['package']}: {case['call'] if call else entry.reference}"
