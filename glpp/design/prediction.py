"""Rows to predict: the arrays of a fitted regression's fixed part and random terms on any data.

:func:`build_prediction_rows` codes a data frame exactly as the fitted data
were coded (formulaic's model specs from the fitted rows, so a categorical
column gets the fitted levels' dummies whatever levels the new rows hold) and
maps each row's clusters to the fitted clusters (``-1``: a cluster the fit
has not seen). Unlike :func:`glpp.design.build_design` it checks nothing that
only matters for estimation (two clusters per grouping, ranks, the response:
prediction needs no response), so one new row is enough. Ordinal responses also
get their threshold covariates (``thresholds=``) and scale covariates (``dispersion=``)
coded from the new rows (:attr:`PredictionRows.auxiliary`); the other families' means do
not depend on a dispersion regression, so its columns are not needed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import model_matrix
from formulaic.errors import DataMismatchWarning

from glpp.design.arrays import Design
from glpp.design.auxiliary import AuxiliaryDesign
from glpp.design.columns import check_columns, evaluate, expression_columns, formula_columns
from glpp.errors import DataError, SpecError
from glpp.ir import Regression, Spec

__all__ = ["PredictionRows", "build_prediction_rows", "check_predictable", "cluster_positions", "new_data_obstacle"]


@dataclass(frozen=True)
class PredictionRows:
    """The arrays of the rows to predict.

    Attributes
    ----------
    index : Index
        The rows of the data with every column the prediction uses present.
    fixed : ndarray, shape (n_rows, n_fixed)
        Fixed-effects design matrix, columns as ``Design.fixed_names``.
    offset : ndarray, shape (n_rows,)
    covariates : list of ndarray
        Per latent level (``Design.levels`` order), each row's covariate of each latent, (n_rows, d_l).
    clusters : list of ndarray of int or None
        Per latent level, each row's cluster in the fit's ``cluster_labels`` (``-1``: not in the
        fit); ``None`` when the clusters were not asked for (marginal predictions).
    auxiliary : AuxiliaryDesign or None
        Ordinal responses: the fit's threshold sets, every row in the (one) set, with the
        rows' threshold and scale covariates; ``None`` for other families.
    """

    index: pd.Index
    fixed: np.ndarray
    offset: np.ndarray
    covariates: list[np.ndarray]
    clusters: list[np.ndarray | None]
    auxiliary: AuxiliaryDesign | None = None


def check_predictable(spec: Spec, design: Design, family) -> None:
    """Refuse models whose predictions are not available yet (a :class:`~glpp.SpecError` saying which).

    Available: every model whose response mean is the inverse link of the linear predictor, with
    normal latents of any structure (:mod:`glpp.results.predict_rows`), a discrete latent
    (latent classes, mass points) or none; ordinal responses with normal latents (category
    probabilities, :mod:`glpp.results.predict_ordinal`); choice families with normal latents
    (choice probabilities, :mod:`glpp.results.predict_choice`). Not yet: growth mixtures, and
    ordinal responses or choice families with a discrete latent.
    """
    auxiliary = design.auxiliary
    discrete = design.discrete
    ordinal = auxiliary is not None and auxiliary.threshold_lower is not None
    reasons = [
        (ordinal and discrete is not None, "ordinal responses and a discrete latent"),
        (family.couples_rows and discrete is not None, f"the choice family {family.name!r} and a discrete latent"),
        (discrete is not None and discrete.random_covariate is not None, "a growth mixture (classes with a random effect)"),
    ]
    for refused, what in reasons:
        if refused:
            raise SpecError(
                f"predict() is not available for models with {what} yet; it predicts models whose mean is the "
                "inverse link of the linear predictor (random effects, factors, latent classes, GLMs), ordinal "
                "responses and choice families with normal latents"
            )


def new_data_obstacle(spec: Spec, design: Design) -> str | None:
    """What keeps ``predict(data=...)`` from coding new rows (``None``: nothing).

    New data are coded for one regression on long data with random effects (or none), ordinal
    responses, dispersion regressions and a discrete latent (latent classes in the regression,
    mass points) included, and for new units of a measurement model on wide data
    (:mod:`glpp.results.predict_units`). The other models (``F@id =~ item`` factors and
    structural paths on long data, a family per row, ordinal items, factors above the unit,
    latent classes of a measurement model) are predicted on their fitted rows only.
    """
    ordinal = design.auxiliary is not None and design.auxiliary.threshold_lower is not None
    if design.item_names:
        reasons = [
            (design.discrete is not None, "latent classes of a measurement model"),
            (ordinal, "ordinal items of a measurement model"),
            (len(design.levels) > 1, "factors at a level above the unit"),
        ]
    else:
        reasons = [
            (bool(design.loadings) or any(level.factors for level in design.levels), "factors ('F@id =~ item')"),
            (bool(design.paths), "structural paths"),
            (design.family_index is not None, "a family per row"),
            (len(spec.regressions) != 1, "more than one regression"),
        ]
    return next((what for refused, what in reasons if refused), None)


def _auxiliary_terms(spec: Spec, ordinal: bool) -> dict[str, str]:
    """The ``thresholds=`` and ``dispersion=`` formulas an ordinal prediction codes, by term."""
    if not ordinal:
        return {}
    formulas = {"thresholds": spec.thresholds, "dispersion": spec.dispersion}
    return {f"{keyword}='~ {rhs}'": rhs for keyword, rhs in formulas.items() if rhs is not None}


def _required_columns(
    regression: Regression, with_response: bool, with_groups: bool, auxiliary: dict[str, str]
) -> dict[str, set[str]]:
    """The columns each term of the prediction needs, by term (for messages)."""
    terms = {f"fixed part {regression.fixed!r}": formula_columns(regression.fixed, "fixed part")}
    for term, rhs in auxiliary.items():
        terms[term] = formula_columns(rhs, term)
    for expression in regression.offsets:
        terms[f"offset({expression})"] = expression_columns(expression, f"offset({expression})")
    for term in regression.random:
        label = f"random term ({term.expression} | {term.group_label})"
        terms[label] = formula_columns(term.expression, label) | (set(term.group) if with_groups else set())
    if with_response:
        response = regression.response
        columns = expression_columns(response.expression, "response")
        if response.failures is not None:
            columns |= expression_columns(response.failures, "response")
        terms[f"response {response.label!r}"] = columns
    return terms


def _complete(data: pd.DataFrame, terms: dict[str, set[str]]) -> pd.DataFrame:
    for term, columns in terms.items():
        check_columns(columns, data, term)
    used = sorted(set().union(*terms.values()))
    return data.loc[data[used].notna().all(axis=1)] if used else data


def _matrix(rhs: str, fitted: pd.DataFrame, data: pd.DataFrame, term: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """``rhs``'s model matrix of ``data`` coded as on the fitted rows, and its column names."""
    model_spec = model_matrix(rhs, fitted, na_action="raise").model_spec
    try:
        with warnings.catch_warnings():
            # formulaic codes a level the fit has not seen as the reference level, with a warning
            warnings.simplefilter("error", DataMismatchWarning)
            matrix = model_spec.get_model_matrix(data, na_action="raise")
    except Exception as error:  # formulaic raises several types (unseen levels, ...)
        raise DataError(f"cannot code the new data for {term} as the fitted data were coded: {error}") from None
    names = tuple("(Intercept)" if name == "Intercept" else str(name) for name in matrix.columns)
    return np.asarray(matrix, dtype=float), names


def cluster_positions(data: pd.DataFrame, group: tuple[str, ...], labels: list) -> np.ndarray:
    """Each row's position among the fitted clusters' ``labels`` (``-1`` for a cluster not fitted)."""
    keys = pd.MultiIndex.from_frame(data[list(group)]) if len(group) > 1 else pd.Index(data[group[0]])
    fitted = pd.MultiIndex.from_tuples(labels) if len(group) > 1 else pd.Index(labels)
    return np.asarray(fitted.get_indexer(keys), dtype=np.int64)


def build_prediction_rows(
    spec: Spec, design: Design, fitted_data: pd.DataFrame, data: pd.DataFrame, *, clusters: bool
) -> PredictionRows:
    """The arrays of ``data``'s rows coded as ``fitted_data``'s were for ``design``.

    Parameters
    ----------
    spec : Spec
        The fitted model's (one regression, :func:`check_predictable`).
    design : Design
        The fitted model's design.
    fitted_data : DataFrame
        The data the model was built from.
    data : DataFrame
        The rows to predict; rows with a missing value in a column the prediction uses are
        left out of ``index``. The response is not needed.
    clusters : bool
        Map the rows' clusters (conditional predictions: the grouping columns are then needed).

    Raises
    ------
    DataError
        A column is missing, or a categorical value was not in the fitted data.
    """
    regression = spec.regressions[0]
    ordinal = design.auxiliary is not None and design.auxiliary.threshold_lower is not None
    auxiliary_terms = _auxiliary_terms(spec, ordinal)
    fitted = _complete(fitted_data, _required_columns(regression, True, True, auxiliary_terms))
    rows = _complete(data, _required_columns(regression, False, clusters, auxiliary_terms))
    fixed, names = _matrix(regression.fixed, fitted, rows, f"fixed part {regression.fixed!r}")
    fixed = fixed[:, [names.index(name) for name in design.fixed_names]]
    offset = np.zeros(len(rows))
    for expression in regression.offsets:
        offset += evaluate(expression, rows, f"offset({expression})")
    covariates, positions = [], []
    for level in design.levels:
        terms = [term for term in regression.random if ":".join(term.group) == level.name]
        blocks = [_matrix(term.expression, fitted, rows, f"random term ({term.expression} | {term.group_label})") for term in terms]
        if tuple(name for _, block_names in blocks for name in block_names) != level.latent_names:
            raise SpecError(f"cannot rebuild the latents of level {level.name!r} for prediction")
        covariates.append(np.concatenate([block for block, _ in blocks], axis=1))
        positions.append(cluster_positions(rows, terms[0].group, level.cluster_labels) if clusters else None)
    auxiliary = _ordinal_auxiliary(spec, design.auxiliary, fitted, rows) if ordinal else None
    return PredictionRows(rows.index, fixed, offset, covariates, positions, auxiliary)


def _ordinal_auxiliary(spec: Spec, fitted_auxiliary: AuxiliaryDesign, fitted: pd.DataFrame, rows: pd.DataFrame) -> AuxiliaryDesign:
    """The fit's threshold sets with ``rows``' threshold and scale covariates, coded as in the fit."""
    fields = {}
    if spec.thresholds is not None:
        term = f"thresholds='~ {spec.thresholds}'"
        matrix, names = _matrix(spec.thresholds, fitted, rows, term)
        fields["threshold_covariates"] = matrix[:, [names.index(name) for name in fitted_auxiliary.threshold_covariate_names]]
    if spec.dispersion is not None:
        term = f"dispersion='~ {spec.dispersion}'"
        matrix, names = _matrix(spec.dispersion, fitted, rows, term)
        # parameter names are log_scale[<column>]: one response set on long data
        columns = [name[name.index("[") + 1 : -1] for name in fitted_auxiliary.dispersion_names]
        fields["dispersion_covariates"] = matrix[:, [names.index(column) for column in columns]]
    return AuxiliaryDesign(
        threshold_sets=fitted_auxiliary.threshold_sets,
        threshold_set_index=np.zeros(len(rows), dtype=np.int64),
        threshold_covariate_names=fitted_auxiliary.threshold_covariate_names,
        dispersion_names=fitted_auxiliary.dispersion_names,
        **fields,
    )
