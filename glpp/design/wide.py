"""Measurement models on wide data (one row per unit) -> a Design of (unit, item) rows.

``F =~ y1 + y2`` on wide data is reshaped to long form: each (unit, item)
pair is a row, items get their own intercepts ``nu[item]`` (and, for
gaussian items, their own residual variances), and each latent loads on its
items (:mod:`glpp.design.wide_levels`). A regression ``y3 ~ x`` is a direct
effect of covariates on one item. Units with a missing value in any used
column are dropped whole (listwise) and counted. Each item may have its own
family (a :class:`~glpp.families.MixedFamily`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from glpp.design.checks import missing_values_message, refuse_missing_groupings
from glpp.design.arrays import Design, LevelDesign, ResidualCovariance
from glpp.design.auxiliary import auxiliary_columns, build_auxiliary
from glpp.design.columns import design_matrix, formula_variables
from glpp.design.structure import check_cluster_covariates, identify, residual_covariances
from glpp.design.wide_levels import WideLevels, grouping_columns, wide_levels
from glpp.errors import DataError, SpecError
from glpp.families import LINKS, Family, Link, MixedFamily, validate_response
from glpp.ir import Spec

__all__ = ["build_wide_design", "complete_units"]


def build_wide_design(
    spec: Spec,
    data: pd.DataFrame,
    family: Family | MixedFamily,
    *,
    std_lv: bool,
    item_families: dict[str, int] | None,
) -> Design:
    """Reshape wide data with ``F =~ y1 + ...`` statements to (unit, item) rows and build their arrays.

    Parameters
    ----------
    spec : Spec
        Measurement statements, with direct effects ``y3 ~ x`` and ``F@g``
        or ``level: g`` latents, if any.
    data : DataFrame
        One row per unit.
    family : Family or MixedFamily
        The items' family, or each item's.
    std_lv : bool
        Fix every latent's variance at 1 and free all loadings.
    item_families : dict of str to int, optional
        The component of ``family`` of each item, for a ``MixedFamily``.

    Returns
    -------
    Design

    Raises
    ------
    DataError
        Missing or non-numeric columns, fewer than two complete units, responses
        outside an item's family, groupings with one cluster or not nested,
        covariates of cluster-level latents that vary within clusters.
    SpecError
        Statements that do not fit a wide-data model.
    IdentificationError
        A latent without a fixed scale.
    """
    units, items, n_dropped = complete_units(spec, data)
    component, item_pairs = _item_distributions(spec, items, family, item_families)
    item_family = [pair[0] for pair in item_pairs]
    linear_gaussian = [member.is_linear_gaussian(link) for member, link in item_pairs]
    residual_entries = _residual_entries(spec, items, item_pairs, linear_gaussian)
    response, trials, unit_index, item_index, auxiliary = _item_rows(spec, units, items, item_family)
    latents = [m.latent for m in spec.measurements]
    latent = wide_levels(spec, units, items, unit_index, item_index, std_lv)
    levels = latent.levels
    single_level = len(levels) == 1 and levels[0].name == "unit"
    _check_residual_levels(residual_entries, levels, single_level)
    latent_covariates = _latent_covariates(units, latent, unit_index)
    intercepts = [f.intercept for f in item_family]
    fixed, fixed_names, parameter_names, direct_covariates = _item_fixed_part(spec, units, items, unit_index, item_index, intercepts)
    identify(latents, latent.scaled, latent.unit_variance | (set(latents) if std_lv else set()))
    jointly_normal = all(linear_gaussian) and spec.dispersion is None  # else rows differ in variance
    return Design(
        response=response,
        trials=trials,
        fixed=fixed,
        fixed_names=tuple(fixed_names),
        fixed_parameter_names=tuple(parameter_names),
        offset=np.zeros(len(response)),
        levels=tuple(levels),
        n_dropped=n_dropped,
        response_label="items",
        loadings=tuple(latent.loadings),
        paths=tuple(latent.paths),
        latent_covariates=latent_covariates,
        latent_covariate_names=tuple(latent.covariate_names),
        **(_dispersion_arrays(items, item_family, item_index) if spec.dispersion is None else {}),
        family_index=component[item_index] if isinstance(family, MixedFamily) else None,
        fixed_prefix="nu",
        item_names=tuple(items),
        item_index=item_index,
        residual_covariances=tuple(residual_entries),
        jointly_normal=jointly_normal and single_level,
        two_level_normal=jointly_normal and len(levels) == 2 and levels[0].name == "unit" and not residual_entries,
        n_moments=_moment_count(items, item_family, levels, direct_covariates | set(latent.covariate_names)),
        auxiliary=auxiliary,
    )


def _residual_entries(
    spec: Spec, items: list[str], item_pairs: list[tuple[Family, Link]], linear_gaussian: list[bool]
) -> list[ResidualCovariance]:
    """The residual covariances ``y1 ~~ y5`` of the items (:func:`glpp.design.structure.residual_covariances`)."""
    distributions = [f"{member.name}/{link.name}" for member, link in item_pairs]
    return [
        ResidualCovariance(items[left], items[right], left, right, label)
        for left, right, label in residual_covariances(spec, items, distributions, linear_gaussian)
    ]


def _check_residual_levels(
    residual_entries: list[ResidualCovariance], levels: list[LevelDesign], single_level: bool
) -> None:
    """Residual covariances of items need a model with latents at the unit level only."""
    if residual_entries and not single_level:
        raise SpecError(
            f"'{residual_entries[0].left} ~~ {residual_entries[0].right}': residual covariances of items are "
            "available in measurement models with latents at the unit level only; this model has latents at "
            f"levels {', '.join(level.name for level in levels)}"
        )


def _latent_covariates(units: pd.DataFrame, latent: WideLevels, unit_index: np.ndarray) -> np.ndarray | None:
    """Each (unit, item) row's observed predictors of latents, checked against the latents' levels."""
    if not latent.covariate_names:
        return None
    latent_covariates = units[latent.covariate_names].to_numpy(dtype=float)[unit_index]
    check_cluster_covariates(latent.paths, latent.levels, latent_covariates)
    return latent_covariates


def complete_units(spec: Spec, data: pd.DataFrame) -> tuple[pd.DataFrame, list[str], int]:
    """Check the item, covariate and grouping columns and drop incomplete units (listwise).

    Parameters
    ----------
    spec : Spec
    data : DataFrame
        One row per unit.

    Returns
    -------
    units : DataFrame
        The complete units, with the used columns only.
    items : list of str
        The items of the measurement statements, in order of appearance.
    n_dropped : int
        Units dropped for missing values.

    Raises
    ------
    SpecError
        A regression that is not a direct effect on an item, an item used as
        a grouping column, a ``level:`` residual of a name that is not an item.
    DataError
        A missing or non-numeric item or covariate column, a missing
        grouping column.
    """
    items = list(dict.fromkeys(indicator.name for m in spec.measurements for indicator in m.indicators))
    latents = {m.latent for m in spec.measurements}
    covariates = [
        p.name for r in spec.latent_regressions for p in r.predictors if p.name not in latents
    ]
    for regression in spec.regressions:
        if regression.response.expression not in items or regression.random or regression.offsets:
            raise SpecError(
                f"'{regression.response.label} ~ {regression.fixed}': with measurement statements on wide data, "
                "a regression must have an item on the left (a direct effect, e.g. 'y3 ~ male') and no random terms"
            )
        covariates += sorted(formula_variables(regression.fixed))
    available = ", ".join(map(str, data.columns[:20]))
    for column in items + covariates:
        if column not in data.columns:
            statement = next(
                (f"'{m.latent} =~ ...'" for m in spec.measurements if any(i.name == column for i in m.indicators)),
                None,
            )
            structural = next(
                (f"'{r.latent} ~ ...'" for r in spec.latent_regressions if any(p.name == column for p in r.predictors)),
                None,
            )
            if statement is None and structural is not None:
                raise DataError(
                    f"{column!r} in {structural} is neither a latent variable (defined with '=~') nor a column of "
                    f"the data; define it, or check the spelling; available columns: {available}"
                )
            statement = statement or "a regression"
            raise DataError(f"column {column!r} used in {statement} is not in the data; available columns: {available}")
        if not pd.api.types.is_numeric_dtype(data[column]):
            raise DataError(f"column {column!r} is not numeric (dtype {data[column].dtype}); recode it to numbers before fitting")
    covariates += sorted(auxiliary_columns(spec, data))
    groupings = grouping_columns(spec)
    _check_groupings(spec, data, groupings, items, available)
    refuse_missing_groupings(data, groupings)
    used = list(dict.fromkeys(items + covariates + groupings))
    complete = data[used].notna().all(axis=1).to_numpy()
    if complete.sum() < 2:
        raise DataError(missing_values_message(data, used, unit="units (rows)", at_least=2))
    return data.loc[complete, used].reset_index(drop=True), items, int((~complete).sum())


def _check_groupings(spec: Spec, data: pd.DataFrame, groupings: list[str], items: list[str], available: str) -> None:
    """Grouping columns exist and are not items; ``level:`` residuals are of items."""
    for column in groupings:
        if column not in data.columns:
            raise DataError(
                f"grouping column {column!r} of {_grouping_statement(spec, column)} is not in the data; a level is "
                f"named by the column that identifies its clusters; available columns: {available}"
            )
        if column in items:
            raise SpecError(f"{column!r} is an item of a measurement statement and cannot also be a grouping column")
    for residual in spec.level_residuals:
        if residual.item not in items:
            raise SpecError(
                f"'{residual.item} ~~ {residual.item}' in the 'level: {residual.level}' block: {residual.item!r} is "
                "not an item of a measurement statement"
            )


def _grouping_statement(spec: Spec, column: str) -> str:
    """How ``column`` came into the model, for messages."""
    if column in spec.declared_levels:
        return f"'level: {column}'"
    latent = next(m.latent for m in spec.measurements if m.level == column)
    return f"'{latent}@{column} =~ ...'"


def _item_distributions(
    spec: Spec, items: list[str], family: Family | MixedFamily, item_families: dict[str, int] | None
) -> tuple[np.ndarray, list[tuple[Family, Link]]]:
    """Each item's component of a family per item (zeros otherwise) and its (family, link)."""
    if isinstance(family, MixedFamily):
        missing = [item for item in items if item not in (item_families or {})]
        if missing:
            raise SpecError(f"family is given by item but not for {missing}; give every item a family")
        component = np.array([item_families[item] for item in items])
        return component, [family.components[c] for c in component]
    return np.zeros(len(items), dtype=np.int64), [(family, LINKS[spec.link])] * len(items)


def _item_rows(spec: Spec, units: pd.DataFrame, items: list[str], item_family: list[Family]) -> tuple:
    """(unit, item) rows: responses (ordinal ones recoded), trials, unit and item of each row, and
    the auxiliary design (:func:`glpp.design.auxiliary.build_auxiliary`)."""
    response, trials = _item_responses(units, items, item_family)
    unit_index = np.repeat(np.arange(len(units)), len(items))
    item_index = np.tile(np.arange(len(items)), len(units))
    sets = list(zip(items, item_family))
    response, auxiliary = build_auxiliary(spec, response, units, unit_index, sets, item_index)
    return response, trials, unit_index, item_index, auxiliary


def _item_responses(
    units: pd.DataFrame, items: list[str], item_family: list[Family]
) -> tuple[np.ndarray, np.ndarray | None]:
    """The (unit, item) responses, unit by unit, and their trials; each item checked against its family."""
    if len(units) < 2:
        raise DataError("fewer than two complete units (rows) after dropping rows with missing values")
    values = units[items].to_numpy(dtype=float)
    response = values.ravel()
    trials = np.ones_like(response) if any(f.uses_trials for f in item_family) else None
    for k, item in enumerate(items):
        validate_response(item_family[k], values[:, k], np.ones(len(units)) if item_family[k].uses_trials else None, item)
    return response, trials


def _item_fixed_part(
    spec: Spec,
    units: pd.DataFrame,
    items: list[str],
    unit_index: np.ndarray,
    item_index: np.ndarray,
    intercepts: list[bool],
) -> tuple[np.ndarray, list[str], list[str], set[str]]:
    """Item intercepts (of items whose family has one) and direct effects: matrix, column
    names, parameter names, direct covariates."""
    with_intercept = [k for k, has in enumerate(intercepts) if has]
    fixed = np.eye(len(items))[item_index][:, with_intercept]
    fixed_names = [items[k] for k in with_intercept]
    parameter_names = [f"nu[{items[k]}]" for k in with_intercept]
    direct_covariates: set[str] = set()
    for regression in spec.regressions:
        # a direct effect of covariates on one item (e.g. differential item functioning)
        item = regression.response.expression
        rhs = regression.fixed.replace("1 + ", "0 + ", 1) if regression.fixed.startswith("1 + ") else regression.fixed
        matrix, names = design_matrix(rhs, units, f"direct effect '{item} ~ {regression.fixed}'")
        matrix = matrix[unit_index] * (item_index == items.index(item))[:, None]
        fixed = np.concatenate([fixed, matrix], axis=1)
        fixed_names += [f"{item}~{name}" for name in names]
        parameter_names += [f"path[{item}~{name}]" for name in names]
        direct_covariates.update(names)
    return fixed, fixed_names, parameter_names, direct_covariates


def _dispersion_arrays(items: list[str], item_family: list[Family], item_index: np.ndarray) -> dict:
    """``Design`` fields of the items with a dispersion parameter (gaussian: residual variance)."""
    dispersion_items = [item for item, f in zip(items, item_family) if f.dispersion is not None]
    position = np.array([dispersion_items.index(item) if item in dispersion_items else 0 for item in items])
    return {
        "dispersion_index": position[item_index] if dispersion_items else None,
        "dispersion_names": tuple(dispersion_items),
        "dispersion_labels": tuple(
            f"{f.dispersion}[{item}]" for item, f in zip(items, item_family) if f.dispersion is not None
        ),
    }


def _moment_count(
    items: list[str], item_family: list[Family], levels: list[LevelDesign], observed_covariates: set[str]
) -> int | None:
    """Moments that identify a model of gaussian items (:mod:`glpp.identification`); ``None`` for other items.

    Means, unit-level covariances and one between-cluster covariance matrix
    per grouping level; observed covariates (of latents or direct effects on
    items) are fixed, as lavaan's ``fixed.x``: the items' conditional means
    add one slope per item and covariate.
    """
    if not all(f.has_response_scale for f in item_family):
        return None
    n_items = len(items)
    n_grouping_levels = sum(level.name != "unit" for level in levels)
    n_moments = n_items * (n_items + 3) // 2 + n_grouping_levels * n_items * (n_items + 1) // 2
    return n_moments + n_items * len(observed_covariates)
