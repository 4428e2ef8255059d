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

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import pandas as pd

from glpp.errors import DataError, IdentificationError, SpecError
from glpp.ir import Covariance, LatentRegression, Measurement, Spec

__all__ = [
    "LatentStructure",
    "latent_structure",
    "residual_covariances",
    "identify",
    "grouping_columns",
    "RESIDUAL_COVARIANCE_SCOPE",
]

#: where ``y1 ~~ y5`` between observed variables is a model term, and why only there (for messages)
RESIDUAL_COVARIANCE_SCOPE = (
    "a covariance between observed variables ('y1 ~~ y5') is a residual covariance of two items of a "
    "measurement model on wide data ('F =~ y1 + y2 + ...', one row per unit), and needs gaussian items with "
    "identity link: there a unit's items are jointly normal. Elsewhere responses are independent given the "
    "latents"
)


@dataclass(frozen=True)
class LatentStructure:
    """Blocks and paths of the latents of one level.

    Attributes
    ----------
    blocks : list of (tuple of latent positions, unit_variance)
    paths : list of (dependent position, predictor name, kind, predictor position, label)
        ``kind`` is ``"latent"`` (position among the level's latents),
        ``"covariate"`` (position among the level's observed predictors, in
        order of appearance) or
        ``"higher"``: a latent of a higher level (position ``-1``, resolved by
        the caller, which knows the other levels' latents).
    """

    blocks: list[tuple[tuple[int, ...], bool]]
    paths: list[tuple[int, str, str, int, str | None]]


def latent_structure(
    spec: Spec,
    latents: list[str],
    items: Collection[str] = (),
    elsewhere: Mapping[str, str] | None = None,
    higher: Collection[str] = (),
) -> LatentStructure:
    """Resolve structural regressions and covariances among ``latents`` (the latents of one level).

    Covariances between two of ``items`` (wide data) are residual
    covariances, resolved by :func:`residual_covariances`, and skipped here.
    ``elsewhere`` maps the latents of the model's other levels to their
    level's name: their statements are resolved with their own level. Of
    those, the latents of ``higher`` levels may predict a latent of this
    level (a path ``"higher"``); a path from a lower level, or a covariance
    between levels, is an error.
    """
    elsewhere = elsewhere or {}
    position = {name: i for i, name in enumerate(latents)}
    predicts_latent: set[str] = set()
    endogenous: set[str] = set()
    paths: list[tuple[int, str, str, int, str | None]] = []
    covariates: list[str] = []
    regressions = []
    for regression in spec.latent_regressions:
        if regression.latent in elsewhere:
            continue
        regressions.append(regression)
        for predictor in regression.predictors:
            if predictor.name in elsewhere and predictor.name not in higher:
                raise SpecError(
                    f"structural regression '{regression.latent} ~ {predictor.name}': {predictor.name!r} varies at "
                    f"level {elsewhere[predictor.name]!r}, below the level of {regression.latent!r}; a latent can "
                    "depend only on latents of its own or a higher level (a cluster's latent cannot depend on "
                    "latents that vary within the cluster)"
                )
    for regression in regressions:
        if regression.latent not in position:
            raise SpecError(f"structural regression '{regression.latent} ~ ...': {regression.latent!r} is not a latent variable of this model")
        endogenous.add(regression.latent)
        for predictor in regression.predictors:
            if predictor.fixed is not None:
                raise SpecError(
                    f"fixed path coefficients ({predictor.fixed:g}*{predictor.name}) are not supported in "
                    f"'{regression.latent} ~ ...'; leave the coefficient free"
                )
            if predictor.name in higher:
                paths.append((position[regression.latent], predictor.name, "higher", -1, predictor.label))
            elif predictor.name in position:
                predicts_latent.add(predictor.name)
                paths.append((position[regression.latent], predictor.name, "latent", position[predictor.name], predictor.label))
            else:
                if predictor.name not in covariates:
                    covariates.append(predictor.name)
                paths.append((position[regression.latent], predictor.name, "covariate", covariates.index(predictor.name), predictor.label))
    _check_acyclic(tuple(regressions), position)

    exogenous = [name for name in latents if name not in endogenous]
    outcomes = [name for name in latents if name in endogenous and name not in predicts_latent]
    groups: list[list[str]] = [group for group in (exogenous, outcomes) if group]
    groups += [[name] for name in latents if name in endogenous and name in predicts_latent]
    fixed_variances: dict[str, float] = {}
    for covariance in spec.covariances:
        if covariance.left in items and covariance.right in items:
            continue
        names = (covariance.left, covariance.right)
        if any(name in elsewhere for name in names):
            if not any(name in position for name in names):
                continue  # resolved with the level of its latents
            raise SpecError(
                f"{_covariance_text(covariance)}: {covariance.left!r} and {covariance.right!r} vary at different "
                "levels; latents of different levels are independent"
            )
        for name in (covariance.left, covariance.right):
            if name not in position:
                raise SpecError(f"{_covariance_text(covariance)}: {name!r} is not a latent variable; {RESIDUAL_COVARIANCE_SCOPE}")
        if covariance.left == covariance.right:
            if covariance.fixed is not None:
                if covariance.fixed != 1.0:
                    raise SpecError(f"'{covariance.left} ~~ {covariance.fixed:g}*{covariance.left}': only a variance fixed at 1 is supported")
                fixed_variances[covariance.left] = covariance.fixed
            continue
        if covariance.fixed is not None:
            raise SpecError(f"'{covariance.left} ~~ {covariance.fixed:g}*{covariance.right}': fixed covariances are not supported yet")
        first = next(g for g in groups if covariance.left in g)
        second = next(g for g in groups if covariance.right in g)
        if first is not second:
            first.extend(second)
            groups.remove(second)
    blocks = []
    for group in groups:
        fixed = [name in fixed_variances for name in group]
        if any(fixed) and not all(fixed):
            raise SpecError(
                f"the variances of correlated latents {group} must be all free or all fixed at 1 "
                f"(fixed: {[n for n, f in zip(group, fixed) if f]})"
            )
        blocks.append((tuple(sorted(position[name] for name in group)), all(fixed)))
    return LatentStructure(blocks, paths)


def _covariance_text(covariance: Covariance) -> str:
    right = covariance.right
    if covariance.fixed is not None:
        right = f"{covariance.fixed:g}*{right}"
    elif covariance.label is not None:
        right = f"{covariance.label}*{right}"
    return f"'{covariance.left} ~~ {right}'"


def residual_covariances(
    spec: Spec, items: list[str], item_distributions: list[str], linear_gaussian: list[bool]
) -> list[tuple[int, int, str | None]]:
    """Residual covariances ``y1 ~~ y5`` between items of a wide-data measurement model.

    Parameters
    ----------
    spec : Spec
    items : list of str
        The items, in design order.
    item_distributions : list of str
        Each item's ``family/link``, for messages.
    linear_gaussian : list of bool
        Whether each item is gaussian with identity link (jointly normal items).

    Returns
    -------
    list of (left position, right position, label)
        Item positions with ``left < right``; equal labels are one parameter.
        ``y1 ~~ y1`` (a residual variance, free by default) adds nothing.

    Raises
    ------
    SpecError
        A covariance between an item and a latent, a fixed residual
        (co)variance, the same pair twice, or a model whose items are not
        all gaussian with identity link.
    """
    latents = {m.latent for m in spec.measurements}
    position = {item: k for k, item in enumerate(items)}
    entries: list[tuple[int, int, str | None]] = []
    seen: dict[tuple[int, int], str] = {}
    for covariance in spec.covariances:
        names = (covariance.left, covariance.right)
        term = _covariance_text(covariance)
        if not any(name in position for name in names):
            continue
        for name in names:
            if name not in position:
                kind = "a latent variable" if name in latents else "not an item of a measurement statement"
                raise SpecError(
                    f"{term}: {name!r} is {kind}; a covariance with an observed item is a residual covariance "
                    "and needs two items (e.g. 'y1 ~~ y5')"
                )
        if covariance.fixed is not None:
            what = "variance" if covariance.left == covariance.right else "covariance"
            raise SpecError(
                f"{term}: fixed residual {what}s are not supported; residual variances are free and items "
                "are uncorrelated given the latents unless a free 'y1 ~~ y5' says otherwise"
            )
        if covariance.left == covariance.right:
            continue
        other = [
            f"{items[k]} ({distribution})"
            for k, (distribution, normal) in enumerate(zip(item_distributions, linear_gaussian))
            if not normal
        ]
        if other:
            raise SpecError(
                f"{term}: residual covariances need every item gaussian with identity link (the items of a unit "
                f"are then jointly normal and glpp uses the exact multivariate normal likelihood); not so for "
                f"{', '.join(other)}"
            )
        pair = tuple(sorted((position[covariance.left], position[covariance.right])))
        if pair in seen:
            raise SpecError(f"{term}: the residual covariance of {covariance.left} and {covariance.right} is already given by {seen[pair]}")
        seen[pair] = term
        entries.append((pair[0], pair[1], covariance.label))
    return entries


def _check_acyclic(regressions: tuple[LatentRegression, ...], position: dict[str, int]) -> None:
    graph = {r.latent: {p.name for p in r.predictors if p.name in position} for r in regressions}
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 1:
            cycle = trail[trail.index(name):] + [name]
            raise SpecError(f"the structural model has a cycle: {' <- '.join(cycle)}; latent regressions must be recursive")
        if state.get(name) == 2:
            return
        state[name] = 1
        for predictor in graph.get(name, ()):
            visit(predictor, trail + [name])
        state[name] = 2

    for name in graph:
        visit(name, [])


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


def identify(latents: list[str], scaled: set[str], unit_variance: set[str]) -> None:
    """Raise :class:`IdentificationError` for a latent without a scale.

    Parameters
    ----------
    latents : list of str
    scaled : set of str
        Latents with a loading fixed at a non-zero value.
    unit_variance : set of str
        Latents whose (disturbance) variance is fixed at 1.
    """
    for latent in latents:
        if latent not in scaled and latent not in unit_variance:
            raise IdentificationError(
                f"latent variable {latent!r} has no fixed scale: all its loadings are free and its variance is "
                f"free. Fix one loading (e.g. '{latent} =~ 1*item + ...'), fix its variance ('{latent} ~~ 1*{latent}'), "
                "or fit with std_lv=True"
            )


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
