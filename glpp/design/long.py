"""One regression on long data -> a Design: response, fixed part, random terms, levels.

``y ~ x + offset(o) + (1 + x | g) + (1 | a/b)``: the response (with trials
for ``cbind(s, n - s)``), the fixed-part model matrix and offsets, and one
level per grouping, lowest first and checked to be nested, whose latents are
the random terms' covariates. ``F@id =~ item`` adds a factor at the level of
``id`` with one loading per level of the categorical column ``item`` (the
first fixed at 1 unless the latent's variance is); ``F@id =~ z1 + z2`` with
numeric columns gives each row the loading of its nonzero column
(:func:`glpp.design.rows.column_loadings`); with the factors' structure
(:mod:`glpp.design.structure`). A family per row (a ``MixedFamily`` and each
row's component) is resolved by :mod:`glpp.design.rows`. Rows with a missing value in any
used column are dropped and counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from glpp.design.checks import missing_values_message, refuse_missing_groupings
from glpp.design.auxiliary import auxiliary_columns, build_auxiliary
from glpp.design.arrays import CovarianceBlock, Design, LevelDesign, LoadingEntry, PathEntry
from glpp.design.clusters import Clusters, cluster_codes, nest_levels, parent_index
from glpp.design.rows import column_loadings, row_family_fields
from glpp.design.columns import check_columns, design_matrix, evaluate, expression_columns, formula_columns
from glpp.design.structure import (
    RESIDUAL_COVARIANCE_SCOPE,
    LatentStructure,
    check_cluster_covariates,
    latent_structure,
    resolve_higher_paths,
)
from glpp.errors import DataError, SpecError
from glpp.families import Family, MixedFamily, validate_response
from glpp.ir import Measurement, RandomTerm, Regression, Spec

__all__ = ["build_long_design"]


def build_long_design(
    spec: Spec,
    data: pd.DataFrame,
    family: Family | MixedFamily,
    *,
    std_lv: bool,
    row_families: np.ndarray | None = None,
) -> Design:
    """Build the arrays of one regression with random effects (and ``F@id =~ item`` factors) on long data.

    Parameters
    ----------
    spec : Spec
        With exactly one regression; measurement statements, if any, of the
        form ``F@id =~ item``.
    data : DataFrame
        One row per response.
    family : Family or MixedFamily
        Used to validate the response's support; a ``MixedFamily`` with
        ``row_families`` gives each row its own family (:mod:`glpp.design.rows`).
    std_lv : bool
        Fix every factor's variance at 1 and free all its loadings.
    row_families : ndarray of int, optional
        Each data row's component of a ``MixedFamily`` (a family per row).

    Raises
    ------
    SpecError
        Not exactly one regression, a family per item, a covariance of
        observed variables, a measurement statement not of the form
        ``F@id =~ item``, ``cbind`` for a family without trials, unreadable
        formulas, random terms without or with repeated latents.
    DataError
        Missing or non-numeric columns, no complete rows, an out-of-support
        response, a grouping with a single cluster, groupings that are not
        nested, covariates of cluster-level latents that vary within clusters.
    """
    _check_family(spec, family, row_families)
    _check_latent_covariances(spec)
    if len(spec.regressions) != 1:
        raise SpecError("this version fits exactly one regression statement (y ~ ...)")
    regression: Regression = spec.regressions[0]
    data, complete = complete_rows(spec, regression, data)
    n_dropped = int((~complete).sum())
    response, trials = _response(regression, data, family)
    label = regression.response.label
    family_fields = {} if row_families is None else row_family_fields(family, row_families[complete], response, trials, label)
    fixed, fixed_names, offset = _fixed_part(regression, data, family)
    response, auxiliary = _auxiliary(spec, response, data, family, family_fields.get("family_index"))
    groups = _groupings(spec, regression, data)
    order = nest_levels(groups) if groups else []
    loadings: list[LoadingEntry] = []
    paths: list[PathEntry] = []
    covariate_names: list[str] = []
    levels = []
    for position in range(len(order)):
        levels.append(_level(spec, regression, data, groups, order, position, std_lv, loadings, paths, covariate_names))
    paths = resolve_higher_paths(paths, levels)
    latent_covariates = None
    if covariate_names:
        latent_covariates = data[covariate_names].to_numpy(dtype=float)
        check_cluster_covariates(paths, levels, latent_covariates, rows_are_units=False)
    return Design(
        response=response,
        trials=trials,
        fixed=fixed,
        fixed_names=fixed_names,
        offset=offset,
        levels=tuple(levels),
        n_dropped=n_dropped,
        response_label=regression.response.label,
        loadings=tuple(loadings),
        paths=tuple(paths),
        latent_covariates=latent_covariates,
        latent_covariate_names=tuple(covariate_names),
        auxiliary=auxiliary,
        **family_fields,
    )


def _auxiliary(spec: Spec, response: np.ndarray, data: pd.DataFrame, family, family_index: np.ndarray | None):
    """:func:`glpp.design.auxiliary.build_auxiliary` with one response set, or one per component
    of a family per row (none has thresholds: :func:`_check_family`)."""
    rows = np.arange(len(data))
    if family_index is None:
        return build_auxiliary(spec, response, data, rows, [(None, family)], np.zeros_like(rows))
    return build_auxiliary(spec, response, data, rows, [(None, member) for member, _ in family.components], family_index)


def _fixed_part(regression: Regression, data: pd.DataFrame, family) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """The fixed-effects matrix (no intercept where thresholds take its place), its names, the offset."""
    fixed, fixed_names = design_matrix(regression.fixed, data, f"fixed part {regression.fixed!r}")
    if not getattr(family, "intercept", True):
        keep = [k for k, name in enumerate(fixed_names) if name != "(Intercept)"]
        fixed, fixed_names = fixed[:, keep], tuple(fixed_names[k] for k in keep)
    offset = np.zeros(len(data))
    for expression in regression.offsets:
        offset += evaluate(expression, data, f"offset({expression})")
    return fixed, tuple(fixed_names), offset


def complete_rows(spec: Spec, regression: Regression, data: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows without missing values in the used columns, and which rows of ``data`` they are."""
    used = _used_columns(spec, regression, data)
    used_ordered = [column for column in data.columns if column in used]
    refuse_missing_groupings(
        data, [column for term in regression.random for column in term.group] + [m.level for m in spec.measurements]
    )
    complete = data[used_ordered].notna().all(axis=1).to_numpy()
    if not complete.any():
        raise DataError(missing_values_message(data, used_ordered))
    return data.loc[complete].reset_index(drop=True), complete


def _check_family(spec: Spec, family: Family | MixedFamily, row_families: np.ndarray | None) -> None:
    """A mixed family on long data needs each row's component (a family column); its components
    have neither thresholds nor a dispersion regression (not available yet)."""
    if isinstance(family, MixedFamily) and row_families is None:
        raise SpecError(
            "a family per item (a dict) is available for measurement models on wide data ('F =~ ...') only; "
            "for long data name a column of family names (family='column')"
        )
    if row_families is None:
        return
    ordinal = [member.name for member, _ in family.components if member.cutpoints is not None]
    if ordinal or spec.dispersion is not None or spec.thresholds is not None:
        raise SpecError(
            f"a family column (family={family.column!r}) with ordinal rows or dispersion=/thresholds= is not "
            "available yet; fit the ordinal response alone, or give items a family each on wide data"
        )


def _random_term_label(term: RandomTerm) -> str:
    return f"({term.expression} | {term.group_label})"


def _response_term(regression: Regression) -> str:
    return f"response {regression.response.label!r}"


def _check_latent_covariances(spec: Spec) -> None:
    """``F ~~ G`` on long data relates latents of measurement statements; observed variables have no covariances."""
    latent_names = {m.latent for m in spec.measurements} | {d.latent for d in spec.distributions}
    for covariance in spec.covariances:
        for name in (covariance.left, covariance.right):
            if name not in latent_names:
                raise SpecError(
                    f"'{covariance.left} ~~ {covariance.right}': {name!r} is not a latent variable of a measurement "
                    f"statement; {RESIDUAL_COVARIANCE_SCOPE}"
                )


def _used_columns(spec: Spec, regression: Regression, data: pd.DataFrame) -> set[str]:
    """Check that the columns of every term are in ``data``, in the order of the terms; return them all."""
    response_term = _response_term(regression)
    used: set[str] = set()
    response_columns = expression_columns(regression.response.expression, response_term)
    if regression.response.failures is not None:
        response_columns |= expression_columns(regression.response.failures, response_term)
    check_columns(response_columns, data, response_term)
    used |= response_columns
    fixed_term = f"fixed part {regression.fixed!r}"
    fixed_columns = formula_columns(regression.fixed, fixed_term)
    check_columns(fixed_columns, data, fixed_term)
    used |= fixed_columns
    for offset in regression.offsets:
        offset_columns = expression_columns(offset, f"offset({offset})")
        check_columns(offset_columns, data, f"offset({offset})")
        used |= offset_columns
    for class_term in regression.class_terms:
        label = f"class term '{class_term.label}'"
        term_columns = formula_columns(f"1 + {class_term.expression}", label) if class_term.expression != "1" else set()
        check_columns(term_columns, data, label)
        used |= term_columns
    for term in regression.random:
        label = f"random term {_random_term_label(term)}"
        term_columns = formula_columns(term.expression, label) | set(term.group)
        check_columns(term_columns, data, label)
        used |= term_columns
    for measurement in spec.measurements:
        statement = f"'{measurement.latent}@{measurement.level} =~ ...'"
        if measurement.level is None:
            raise SpecError(
                f"with a regression statement, a measurement statement must give the latent's level and one "
                f"categorical item column, e.g. 'F@id =~ item', or numeric loading columns, e.g. "
                f"'F@id =~ t_y + d_drop' (got '{measurement.latent} =~ ...')"
            )
        columns = {indicator.name for indicator in measurement.indicators}
        check_columns(columns | {measurement.level}, data, statement)
        used |= columns | {measurement.level}
    used |= auxiliary_columns(spec, data)
    for distribution in spec.distributions:
        if distribution.level is not None:
            check_columns({distribution.level}, data, f"'{distribution.latent}@{distribution.level} ~~ ...'")
            used.add(distribution.level)
    latents = {m.latent for m in spec.measurements}
    for latent_regression in spec.latent_regressions:
        for predictor in latent_regression.predictors:
            if predictor.name not in latents:
                check_columns({predictor.name}, data, f"structural regression '{latent_regression.latent} ~ ...'")
                used.add(predictor.name)
    return used


def _response(
    regression: Regression, data: pd.DataFrame, family: Family
) -> tuple[np.ndarray, np.ndarray | None]:
    """The response and, for a family of counts out of trials, the trials (successes + failures, or ones)."""
    response_term = _response_term(regression)
    response = evaluate(regression.response.expression, data, response_term)
    trials = None
    if family.uses_trials:
        if regression.response.failures is not None:
            failures = evaluate(regression.response.failures, data, response_term)
            if np.any(failures < 0):
                row = int(np.flatnonzero(failures < 0)[0])
                raise DataError(
                    f"{response_term}: failures {regression.response.failures!r} are negative "
                    f"(row {row}: {failures[row]:g}); the number of trials must be at least the successes"
                )
            trials = response + failures
        else:
            trials = np.ones_like(response)
    elif regression.response.failures is not None:
        raise SpecError(f"cbind(successes, failures) is only meaningful for families of counts out of trials (binomial), not {family.name!r}")
    if not isinstance(family, MixedFamily):  # a family per row: each row checked by its own
        validate_response(family, response, trials, regression.response.label)
    return response, trials


def _groupings(spec: Spec, regression: Regression, data: pd.DataFrame) -> dict[tuple[str, ...], Clusters]:
    """The clusters of each grouping of a random term (at least two) or of a factor's level."""
    groups: dict[tuple[str, ...], Clusters] = {}
    for term in regression.random:
        if term.group not in groups:
            codes, labels = cluster_codes(data, term.group)
            if len(labels) < 2:
                raise DataError(
                    f"grouping {term.group_label!r} in random term {_random_term_label(term)} has "
                    f"{len(labels)} level; a variance needs at least two clusters"
                )
            groups[term.group] = (codes, labels)
    for measurement in spec.measurements:
        group = (measurement.level,)
        if group not in groups:
            groups[group] = cluster_codes(data, group)
    return groups


def _level(
    spec: Spec,
    regression: Regression,
    data: pd.DataFrame,
    groups: dict[tuple[str, ...], Clusters],
    order: list[tuple[str, ...]],
    position: int,
    std_lv: bool,
    loadings: list[LoadingEntry],
    paths: list[PathEntry],
    covariate_names: list[str],
) -> LevelDesign:
    """The latents of grouping ``order[position]``: its random terms' covariates, then its factors.

    Appends the factors' free loadings to ``loadings``, their paths to
    ``paths`` and their observed predictors to ``covariate_names``.
    """
    group = order[position]
    codes, labels = groups[group]
    covariate_blocks, names, blocks = _random_latents(regression, group, data)
    loading_columns = [np.full(len(data), -1, dtype=np.int64) for _ in names]
    factors = [m for m in spec.measurements if (m.level,) == group]
    if factors:
        first_factor = len(names)
        elsewhere = {m.latent: m.level for m in spec.measurements if (m.level,) != group}
        higher = {m.latent for m in spec.measurements if (m.level,) in order[position + 1 :]}
        structure = latent_structure(spec, [m.latent for m in factors], elsewhere=elsewhere, higher=higher)
        unit_variance = {factors[p].latent for positions, unit in structure.blocks if unit for p in positions}
        for measurement in factors:
            standardised = std_lv or measurement.latent in unit_variance
            if len(measurement.indicators) == 1:
                loading_columns.append(_item_loadings(measurement, data, standardised, loadings))
                covariate_blocks.append(np.ones((len(data), 1)))
            else:
                covariate, loading_column = column_loadings(measurement, data, standardised, loadings)
                loading_columns.append(loading_column)
                covariate_blocks.append(covariate[:, None])
            names.append(measurement.latent)
        for positions, unit in structure.blocks:
            shifted = tuple(first_factor + p for p in positions)
            blocks.append(CovarianceBlock(f"({', '.join(names[p] for p in shifted)})", shifted, unit or std_lv))
        paths += _factor_paths(structure, names, first_factor, position, covariate_names)
    return LevelDesign(
        name=":".join(group),
        cluster_index=codes,
        cluster_labels=labels,
        parent_index=parent_index(groups[group], groups[order[position + 1]][0]) if position + 1 < len(order) else None,
        covariates=np.concatenate(covariate_blocks, axis=1),
        latent_names=tuple(names),
        blocks=tuple(blocks),
        loading_index=np.stack(loading_columns, axis=1) if factors else None,
        factors=tuple(m.latent for m in factors),
    )


def _random_latents(
    regression: Regression, group: tuple[str, ...], data: pd.DataFrame
) -> tuple[list[np.ndarray], list[str], list[CovarianceBlock]]:
    """The covariates, names and covariance blocks of the random terms of grouping ``group``."""
    covariate_blocks: list[np.ndarray] = []
    names: list[str] = []
    blocks: list[CovarianceBlock] = []
    for term in regression.random:
        if term.group != group:
            continue
        label = _random_term_label(term)
        matrix, term_names = design_matrix(term.expression, data, f"random term {label}")
        if matrix.shape[1] == 0:
            raise SpecError(f"random term {label} has no latent variable")
        duplicated = set(term_names) & set(names)
        if duplicated:
            raise SpecError(
                f"random term {label} repeats {sorted(duplicated)[0]!r} at grouping {term.group_label!r}"
            )
        blocks.append(CovarianceBlock(label, tuple(range(len(names), len(names) + len(term_names)))))
        names.extend(term_names)
        covariate_blocks.append(matrix)
    return covariate_blocks, names, blocks


def _item_loadings(
    measurement: Measurement, data: pd.DataFrame, standardised: bool, loadings: list[LoadingEntry]
) -> np.ndarray:
    """Each row's loading (position in ``loadings``, ``-1`` if fixed at 1) of ``F@id =~ item``.

    One loading per level of the item column, sorted; the first is fixed at
    1 unless ``standardised`` or ``NA*item``. Appends the free ones to ``loadings``.
    """
    indicator = measurement.indicators[0]
    item_codes, item_labels = pd.factorize(data[indicator.name], sort=True)
    column = np.empty(len(data), dtype=np.int64)
    for code, item_label in enumerate(item_labels):
        if code == 0 and not standardised and not indicator.force_free:
            column[item_codes == code] = -1
            continue
        column[item_codes == code] = len(loadings)
        loadings.append(LoadingEntry(measurement.latent, str(item_label)))
    return column


def _factor_paths(
    structure: LatentStructure, names: list[str], first_factor: int, level: int, covariate_names: list[str]
) -> list[PathEntry]:
    """The structural paths of a level's factors (the first at ``first_factor`` among its latents).

    Appends new observed predictors to ``covariate_names``.
    """
    paths = []
    for dependent, predictor_name, kind, predictor, path_label in structure.paths:
        if kind == "latent":
            predictor += first_factor
        elif kind == "covariate":
            if predictor_name not in covariate_names:
                covariate_names.append(predictor_name)
            predictor = covariate_names.index(predictor_name)
        dependent += first_factor
        paths.append(PathEntry(names[dependent], predictor_name, kind, dependent, predictor, path_label, level))
    return paths
