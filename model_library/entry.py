"""One library model: its model string, data set, family and the numbers it reproduces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["LibraryModel"]


@dataclass(frozen=True)
class LibraryModel:
    """A model string with its data set, family and reference.

    Parameters
    ----------
    name : str
        The name on the command line (``python -m model_library NAME``).
    title : str
        One line: the data and the model.
    equation : str
        The model's equation, plain text (``i`` units, ``j`` clusters).
    description : str
        One paragraph: what is modelled, what the parameters mean, where the model comes from.
    category : str
        The model type, one of :data:`model_library.catalogue.CATEGORIES` (one documentation
        page per category).
    data : str
        The CSV file in ``model_library/data/`` (listed in its README.md).
    formula : str
        The model string.
    family, link : str
        A family name (or a column of family names, with ``link`` a column of link names);
        ``link=None`` is the family's default link.
    options : dict
        Further keyword arguments of :class:`glpp.Model` (``std_lv``, ``dispersion``).
    nip : int or "auto"
        The quadrature points that reproduce the reference (the R fit's own rule: lme4's
        ``nAGQ``, 1 for a Laplace fit).
    reference : str, optional
        The case in ``tests/reference/<reference_file>`` fitted by R with the same model.
    reference_file : str
        The JSON file holding ``reference``.
    truth : dict, optional
        Simulated data: the true parameter values, by name (``model_library/simulate.py``).
    """

    name: str
    title: str
    equation: str
    description: str
    category: str
    data: str
    formula: str
    family: str = "gaussian"
    link: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    nip: int | str = "auto"
    reference: str | None = None
    reference_file: str = "reference.json"
    truth: dict[str, float] | None = None
