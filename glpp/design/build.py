"""(Spec, DataFrame) -> Design: the numeric arrays a likelihood needs.

All checks of the data against the model happen here, so that every later
stage can trust its input: columns exist, the response is in the family's
support, grouping columns define properly nested clusters, and rows with
missing values in any used column are dropped and counted (never silently).
Fixed-effect and random-effect covariates are built by formulaic.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from glpp.errors import DataError, SpecError
from glpp.families import Family, MixedFamily, validate_response
from glpp.ir import RandomTerm, Regression, Spec
from glpp.design.arrays import (
    CovarianceBlock,
    Design,
    LevelDesign,
    LoadingEntry,
    PathEntry,
    ResidualCovariance,
)
from glpp.design.clusters import cluster_codes, nest_levels, parent_index
from glpp.design.columns import check_columns, design_matrix, evaluate, expression_columns, formula_columns
from glpp.design.wide import build_wide_design
from glpp.design.structure import (
    RESIDUAL_COVARIANCE_SCOPE,
    check_cluster_covariates,
    latent_structure,
    resolve_higher_paths,
)

__all__ = [
    "CovarianceBlock",
    "LevelDesign",
    "Design",
    "LoadingEntry",
    "PathEntry",
    "ResidualCovariance",
    "build_design",
]


def _random_term_label(term: RandomTerm) -> str:
    return f"({term.expression} | {term.group_label})"


def _is_wide(spec: Spec) -> bool:
    """A measurement model on wide data (one row per unit), not ``F@id =~ item`` on long data.

    Long-format measurement statements come with a regression of the
    long response (``y ~ ... ``); on wide data regressions are direct
    effects on items.
    """
    if not spec.measurements:
        return False
    if all(m.level is None for m in spec.measurements) or spec.declared_levels or spec.level_residuals:
        return True
    items = {indicator.name for m in spec.measurements for indicator in m.indicators}
    return all(regression.response.expression in items for regression in spec.regressions)


def _refuse_discrete_latents(spec: Spec) -> None:
    """``classes(k)`` and ``masspoints(k)`` are parsed but not fitted yet: refuse them
    rather than fit an ordinary normal latent in their place."""
    for distribution in spec.distributions:
        raise SpecError(
            f"'{distribution.latent} ~~ {distribution.kind}({distribution.n_points})': discrete latent "
            f"distributions ({distribution.kind}()) are not available yet; remove the statement to give "
            f"{distribution.latent!r} a normal distribution"
        )


def build_design(
    spec: Spec,
    data: pd.DataFrame,
    family: Family | MixedFamily,
    std_lv: bool = False,
    item_families: dict[str, int] | None = None,
) -> Design:
    """Build the arrays of a Spec: one regression with random effects, or a measurement model on wide data.

    Parameters
    ----------
    spec : Spec
        With exactly one regression (long data), or with measurement
        statements on wide data (one row per unit; regressions are then
        direct effects on items, and ``F@g``/``level: g`` latents vary over
        the clusters of grouping columns, nested in each other).
    data : DataFrame
    family : Family
        Used to validate the response's support.

    Raises
    ------
    DataError
        Missing columns, non-numeric or out-of-support responses, a grouping
        with a single cluster, groupings that are not nested.
    """
    _refuse_discrete_latents(spec)
    if _is_wide(spec):
        return build_wide_design(spec, data, family, std_lv, item_families)
    if isinstance(family, MixedFamily):
        raise SpecError("a family per item (a dict) is available for measurement models on wide data ('F =~ ...') only")
    latent_names = {m.latent for m in spec.measurements} | {d.latent for d in spec.distributions}
    for covariance in spec.covariances:
        for name in (covariance.left, covariance.right):
            if name not in latent_names:
                raise SpecError(
                    f"'{covariance.left} ~~ {covariance.right}': {name!r} is not a latent variable of a measurement "
                    f"statement; {RESIDUAL_COVARIANCE_SCOPE}"
                )
    if len(spec.regressions) != 1:
        raise SpecError("this version fits exactly one regression statement (y ~ ...)")
    regression: Regression = spec.regressions[0]
    response_term = f"response {regression.response.label!r}"
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
    for term in regression.random:
        label = f"random term {_random_term_label(term)}"
        term_columns = formula_columns(term.expression, label) | set(term.group)
        check_columns(term_columns, data, label)
        used |= term_columns
    long_measurements = [m for m in spec.measurements if m.level is not None]
    for measurement in spec.measurements:
        statement = f"'{measurement.latent}@{measurement.level} =~ ...'"
        if measurement.level is None or len(measurement.indicators) != 1:
            raise SpecError(
                f"with a regression statement, a measurement statement must give the latent's level and one "
                f"categorical item column, e.g. 'F@id =~ item' (got '{measurement.latent} =~ ...')"
            )
        check_columns({measurement.level, measurement.indicators[0].name}, data, statement)
        used |= {measurement.level, measurement.indicators[0].name}
    latent_covariate_names: list[str] = []
    for latent_regression in spec.latent_regressions:
        for predictor in latent_regression.predictors:
            if predictor.name not in {m.latent for m in spec.measurements}:
                check_columns({predictor.name}, data, f"structural regression '{latent_regression.latent} ~ ...'")
                used.add(predictor.name)

    used_ordered = [column for column in data.columns if column in used]
    complete = data[used_ordered].notna().all(axis=1).to_numpy()
    n_dropped = int((~complete).sum())
    data = data.loc[complete].reset_index(drop=True)
    if len(data) == 0:
        raise DataError("no rows left after dropping rows with missing values in the used columns")

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
    validate_response(family, response, trials, regression.response.label)

    fixed, fixed_names = design_matrix(regression.fixed, data, fixed_term)
    offset = np.zeros(len(data))
    for expression in regression.offsets:
        offset += evaluate(expression, data, f"offset({expression})")

    groups: dict[tuple[str, ...], tuple[np.ndarray, list]] = {}
    for term in regression.random:
        if term.group not in groups:
            codes, labels = cluster_codes(data, term.group)
            if len(labels) < 2:
                raise DataError(
                    f"grouping {term.group_label!r} in random term {_random_term_label(term)} has "
                    f"{len(labels)} level; a variance needs at least two clusters"
                )
            groups[term.group] = (codes, labels)
    for measurement in long_measurements:
        group = (measurement.level,)
        if group not in groups:
            groups[group] = cluster_codes(data, group)
    order = nest_levels(groups) if groups else []
    loadings: list[LoadingEntry] = []
    paths: list[PathEntry] = []
    latent_covariates = None

    levels = []
    for position, group in enumerate(order):
        codes, labels = groups[group]
        covariate_blocks, names, blocks = [], [], []
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
        loading_columns = [np.full(len(data), -1, dtype=np.int64) for _ in names]
        factors = [m for m in long_measurements if (m.level,) == group]
        if factors:
            first_factor = len(names)
            elsewhere = {m.latent: m.level for m in long_measurements if (m.level,) != group}
            higher = {m.latent for m in long_measurements if (m.level,) in order[position + 1 :]}
            structure = latent_structure(spec, [m.latent for m in factors], elsewhere=elsewhere, higher=higher)
            unit_variance = {factors[p].latent for positions, unit in structure.blocks if unit for p in positions}
            for measurement in factors:
                indicator = measurement.indicators[0]
                item_codes, item_labels = pd.factorize(data[indicator.name], sort=True)
                column = np.empty(len(data), dtype=np.int64)
                standardised = std_lv or measurement.latent in unit_variance
                for code, item_label in enumerate(item_labels):
                    if code == 0 and not standardised and not indicator.force_free:
                        column[item_codes == code] = -1
                        continue
                    column[item_codes == code] = len(loadings)
                    loadings.append(LoadingEntry(measurement.latent, str(item_label)))
                loading_columns.append(column)
                names.append(measurement.latent)
                covariate_blocks.append(np.ones((len(data), 1)))
            for positions, unit in structure.blocks:
                shifted = tuple(first_factor + p for p in positions)
                label = ", ".join(names[p] for p in shifted)
                blocks.append(CovarianceBlock(f"({label})", shifted, unit or std_lv))
            for dependent, predictor_name, kind, predictor, path_label in structure.paths:
                if kind == "latent":
                    predictor += first_factor
                elif kind == "covariate":
                    if predictor_name not in latent_covariate_names:
                        latent_covariate_names.append(predictor_name)
                    predictor = latent_covariate_names.index(predictor_name)
                dependent += first_factor
                paths.append(PathEntry(names[dependent], predictor_name, kind, dependent, predictor, path_label, position))
        parents = None
        if position + 1 < len(order):
            parents = parent_index(groups[group], groups[order[position + 1]][0])
        levels.append(
            LevelDesign(
                name=":".join(group),
                cluster_index=codes,
                cluster_labels=labels,
                parent_index=parents,
                covariates=np.concatenate(covariate_blocks, axis=1),
                latent_names=tuple(names),
                blocks=tuple(blocks),
                loading_index=np.stack(loading_columns, axis=1) if factors else None,
                factors=tuple(m.latent for m in factors),
            )
        )
    paths = resolve_higher_paths(paths, levels)
    if latent_covariate_names:
        latent_covariates = data[latent_covariate_names].to_numpy(dtype=float)
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
        latent_covariate_names=tuple(latent_covariate_names),
    )
