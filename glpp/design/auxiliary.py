"""The design of a family's auxiliary parameters: ordinal thresholds, their covariates, dispersion regressions.

A family with :class:`~glpp.families.Cutpoints` (ordinal) has ``K - 1``
thresholds per response set (the response of a regression, or each item of a
measurement model), ``K`` its observed categories. Its responses are recoded
here to ``0..K-1`` and each row gets the flat position of the threshold below
and above its category (``-1`` for none). ``thresholds="~ z"`` gives each
threshold its own coefficient on each column of ``z``; ``dispersion="~ z"``
makes the log of the family's dispersion (or of the ordinal scale) linear in
``z``, per item on wide data. Everything is in one frozen
:class:`AuxiliaryDesign` (``Design.auxiliary``); the parameter table
(:mod:`glpp.params`) makes its rows from it and the rows' graph
(:class:`glpp.likelihood.predictor.RowPredictor`) its per-row values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from glpp.design.columns import check_columns, design_matrix, formula_columns
from glpp.errors import SpecError
from glpp.families import Family
from glpp.ir import Spec

__all__ = ["AuxiliaryDesign", "ThresholdSet", "auxiliary_columns", "build_auxiliary"]


@dataclass(frozen=True)
class ThresholdSet:
    """The thresholds of one response set: between its sorted observed categories.

    Attributes
    ----------
    item : str or None
        The item (wide data), ``None`` for the response of a regression.
    categories : tuple of int
    """

    item: str | None
    categories: tuple[int, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        """``"1|2"``, ``"2|3"``, ... (clm's names)."""
        return tuple(f"{a}|{b}" for a, b in zip(self.categories[:-1], self.categories[1:]))

    @property
    def n_thresholds(self) -> int:
        return len(self.categories) - 1


@dataclass(frozen=True)
class AuxiliaryDesign:
    """Per-row arrays of a family's auxiliary parameters (see the module docstring).

    Attributes
    ----------
    threshold_sets : tuple of ThresholdSet
    threshold_set_index : ndarray of int or None, shape (n_rows,)
        Each row's threshold set, ``-1`` for rows without thresholds.
    threshold_lower, threshold_upper : ndarray of int or None, shape (n_rows,)
        Flat position (over all sets) of the threshold below / above the row's
        category, ``-1`` where there is none.
    threshold_covariates : ndarray or None, shape (n_rows, q)
    threshold_covariate_names : tuple of str
    dispersion_covariates : ndarray or None, shape (n_rows, p)
        Model matrix of the log dispersion (block per item on wide data).
    dispersion_names : tuple of str
        Parameter names of its columns (``log_sigma[male]``, ``log_scale[q1,male]``).
    """

    threshold_sets: tuple[ThresholdSet, ...] = ()
    threshold_set_index: np.ndarray | None = None
    threshold_lower: np.ndarray | None = None
    threshold_upper: np.ndarray | None = None
    threshold_covariates: np.ndarray | None = None
    threshold_covariate_names: tuple[str, ...] = ()
    dispersion_covariates: np.ndarray | None = None
    dispersion_names: tuple[str, ...] = ()

    @property
    def n_thresholds(self) -> int:
        return sum(s.n_thresholds for s in self.threshold_sets)

    @property
    def threshold_names(self) -> tuple[str, ...]:
        """``tau[1|2]`` (one set) or ``tau[q1,1|2]`` (per item), in flat order."""
        return tuple(
            f"tau[{label}]" if s.item is None else f"tau[{s.item},{label}]"
            for s in self.threshold_sets
            for label in s.labels
        )

    @property
    def threshold_slope_names(self) -> tuple[str, ...]:
        """``tau[1|2~z]``: threshold by threshold, covariate by covariate (theta order)."""
        return tuple(
            f"{name[:-1]}~{covariate}]"
            for name in self.threshold_names
            for covariate in self.threshold_covariate_names
        )


def auxiliary_columns(spec: Spec, data: pd.DataFrame) -> set[str]:
    """Data columns of ``thresholds=`` and ``dispersion=`` (checked: :class:`DataError` names a missing one)."""
    used: set[str] = set()
    for keyword, rhs in (("thresholds", spec.thresholds), ("dispersion", spec.dispersion)):
        if rhs is not None:
            term = f"{keyword}='~ {rhs}'"
            columns = formula_columns(rhs, term)
            check_columns(columns, data, term)
            used |= columns
    return used


def build_auxiliary(
    spec: Spec,
    response: np.ndarray,
    frame: pd.DataFrame,
    row_source: np.ndarray,
    sets: list[tuple[str | None, Family]],
    row_set: np.ndarray,
) -> tuple[np.ndarray, AuxiliaryDesign | None]:
    """The recoded response and the :class:`AuxiliaryDesign` (``None`` if the model has none).

    Parameters
    ----------
    spec : Spec
    response : ndarray
        Each row's response (already checked against its family).
    frame : DataFrame
        Complete rows of the covariates; row ``r`` of the design reads row ``row_source[r]``.
    row_source : ndarray of int
    sets : list of (item or None, Family)
        The response sets (items) and their families.
    row_set : ndarray of int
        Each row's response set.

    Raises
    ------
    SpecError
        ``thresholds=`` without an ordinal response; ``dispersion=`` with no
        family that has a dispersion to model; an ordinal scale regression
        with nothing but an intercept.
    """
    response = np.array(response, dtype=float)
    thresholds = _threshold_arrays(response, sets, row_set)
    if not thresholds and spec.thresholds is None and spec.dispersion is None:
        return response, None
    fields = dict(thresholds)
    if spec.thresholds is not None:
        if not thresholds:
            raise SpecError(
                f"thresholds='~ {spec.thresholds}': threshold covariates need an ordinal response "
                "(family='ordinal'); this model has no thresholds"
            )
        term = f"thresholds='~ {spec.thresholds}'"
        matrix, names = design_matrix(spec.thresholds, frame, term)
        keep = [k for k, name in enumerate(names) if name != "(Intercept)"]
        fields["threshold_covariates"] = matrix[row_source][:, keep]
        fields["threshold_covariate_names"] = tuple(names[k] for k in keep)
    if spec.dispersion is not None:
        fields.update(_dispersion_arrays(spec.dispersion, frame, row_source, sets, row_set))
    return response, AuxiliaryDesign(**fields)


def _threshold_arrays(response: np.ndarray, sets: list[tuple[str | None, Family]], row_set: np.ndarray) -> dict:
    """Recode the responses of sets with cutpoints (in place) and locate each row's thresholds."""
    n_rows = response.shape[0]
    lower = np.full(n_rows, -1, dtype=np.int64)
    upper = np.full(n_rows, -1, dtype=np.int64)
    set_index = np.full(n_rows, -1, dtype=np.int64)
    threshold_sets: list[ThresholdSet] = []
    offset = 0
    for position, (item, family) in enumerate(sets):
        if family.cutpoints is None:
            continue
        rows = row_set == position
        categories = np.unique(response[rows])
        codes = np.searchsorted(categories, response[rows])
        response[rows] = codes
        last = categories.size - 1
        lower[rows] = np.where(codes > 0, offset + codes - 1, -1)
        upper[rows] = np.where(codes < last, offset + codes, -1)
        set_index[rows] = len(threshold_sets)
        threshold_sets.append(ThresholdSet(item, tuple(int(c) for c in categories)))
        offset += last
    if not threshold_sets:
        return {}
    return {
        "threshold_sets": tuple(threshold_sets),
        "threshold_set_index": set_index,
        "threshold_lower": lower,
        "threshold_upper": upper,
    }


def _dispersion_arrays(
    rhs: str,
    frame: pd.DataFrame,
    row_source: np.ndarray,
    sets: list[tuple[str | None, Family]],
    row_set: np.ndarray,
) -> dict:
    """The log-dispersion model matrix: ``rhs``'s columns per set whose family has a dispersion."""
    term = f"dispersion='~ {rhs}'"
    modelled = [(k, item, family) for k, (item, family) in enumerate(sets) if family.dispersion_regression]
    if not modelled:
        family = sets[0][1]
        raise SpecError(
            f"{term}: family {family.name!r} has no dispersion parameter to model (its variance is "
            "determined by its mean); remove dispersion=, or use a family with one (gaussian, gamma, "
            "negbinomial, ordinal)"
        )
    matrix, names = design_matrix(rhs, frame, term)
    matrix = matrix[row_source]
    blocks, parameter_names = [], []
    for position, item, family in modelled:
        # with an auxiliary parameter the intercept replaces it; a scale without one has none
        keep = [k for k, name in enumerate(names) if family.aux is not None or name != "(Intercept)"]
        if not keep:
            raise SpecError(
                f"{term}: the {family.dispersion_regression} of family {family.name!r} is 1 at zero "
                "covariates (an intercept is not identified); give covariates"
            )
        blocks.append(matrix[:, keep] * (row_set == position)[:, None])
        prefix = f"log_{family.dispersion_regression}["
        parameter_names += [prefix + (names[k] if item is None else f"{item},{names[k]}") + "]" for k in keep]
    return {"dispersion_covariates": np.concatenate(blocks, axis=1), "dispersion_names": tuple(parameter_names)}
