"""Latent-variable statements -> the latent part of a Design.

``F =~ y1 + y2`` on wide data (one row per unit) is reshaped to long form:
each (unit, item) pair is a row, the unit is the cluster, items get their own
intercepts (and, for gaussian items, their own residual variances) and each
latent loads on its items with a loading per item. ``F@id =~ item`` on long
data gives ``F`` one loading per level of the categorical column ``item``.
Structural regressions ``F ~ x + G`` become path coefficients; the covariance
blocks of the latents follow lavaan's defaults: exogenous latents correlate
with each other, so do the disturbances of latents that are only outcomes,
and the disturbance of a latent that predicts another latent is on its own;
``F ~~ G`` joins two blocks and ``F ~~ 1*F`` fixes a variance. ``y1 ~~ y5``
between two items of a wide-data model is a residual covariance (gaussian
items with identity link only: the items of a unit are then jointly normal).

Multilevel factor models on wide data: a latent of ``F@g =~ ...`` (or of
``F =~ ...`` in a ``level: g`` block) varies over the clusters of grouping
column ``g``; each level's latents have their own structure (paths and
covariances within a level; latents of different levels are independent).
"""

from __future__ import annotations

import pandas as pd

from glpp.errors import DataError, SpecError
from glpp.ir import Measurement, Spec

__all__ = ["grouping_columns", "loading_entries", "reshape_wide"]


def loading_entries(measurement: Measurement, indicators: list[str], std_lv: bool) -> list[tuple[str, float | None, str | None]]:
    """(indicator, fixed value or None, label) for each indicator of a latent.

    The first loading is fixed at 1 for identification (as lavaan and gllamm
    do) unless ``std_lv``, ``NA*`` or an explicit value says otherwise.
    """
    entries = []
    for position, (indicator, name) in enumerate(zip(measurement.indicators, indicators)):
        if indicator.fixed is not None:
            entries.append((name, indicator.fixed, None))
        elif position == 0 and not std_lv and not indicator.force_free and indicator.label is None:
            entries.append((name, 1.0, None))
        else:
            entries.append((name, None, indicator.label))
    return entries


def _formula_variables(rhs: str) -> set[str]:
    from formulaic import Formula

    return set(Formula(rhs).required_variables)


def grouping_columns(spec: Spec) -> list[str]:
    """Grouping columns of a wide-data measurement model: latents' levels and ``level:`` blocks, in order."""
    columns = [m.level for m in spec.measurements if m.level is not None]
    columns += [residual.level for residual in spec.level_residuals] + list(spec.declared_levels)
    return list(dict.fromkeys(columns))


def _grouping_statement(spec: Spec, column: str) -> str:
    """How ``column`` came into the model, for messages."""
    if column in spec.declared_levels:
        return f"'level: {column}'"
    latent = next(m.latent for m in spec.measurements if m.level == column)
    return f"'{latent}@{column} =~ ...'"


def reshape_wide(spec: Spec, data: pd.DataFrame) -> tuple[pd.DataFrame, list[str], int]:
    """Check the item, covariate and grouping columns and drop incomplete units (listwise)."""
    items: list[str] = []
    for measurement in spec.measurements:
        for indicator in measurement.indicators:
            if indicator.name not in items:
                items.append(indicator.name)
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
        covariates += sorted(_formula_variables(regression.fixed))
    available = ", ".join(map(str, data.columns[:20]))
    for column in items + covariates:
        if column not in data.columns:
            statement = next(
                (f"'{m.latent} =~ ...'" for m in spec.measurements if any(i.name == column for i in m.indicators)),
                "a structural regression",
            )
            raise DataError(f"column {column!r} used in {statement} is not in the data; available columns: {available}")
        if not pd.api.types.is_numeric_dtype(data[column]):
            raise DataError(f"column {column!r} is not numeric (dtype {data[column].dtype}); recode it to numbers before fitting")
    groupings = grouping_columns(spec)
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
    used = list(dict.fromkeys(items + covariates + groupings))
    complete = data[used].notna().all(axis=1).to_numpy()
    return data.loc[complete, used].reset_index(drop=True), items, int((~complete).sum())
