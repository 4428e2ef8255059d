"""The latent structure of a level: covariance blocks, structural paths, residual covariances.

Structural regressions ``F ~ x + G`` become path coefficients; the
covariance blocks of the latents follow lavaan's defaults: exogenous latents
correlate with each other, so do the disturbances of latents that are only
outcomes, and the disturbance of a latent that predicts another latent is on
its own; ``F ~~ G`` joins two blocks and ``F ~~ 1*F`` fixes a variance.
``y1 ~~ y5`` between two items of a wide-data model is a residual covariance
(gaussian items with identity link only: the items of a unit are then
jointly normal). Each level's latents have their own structure; a latent may
depend on latents of a higher level, and latents of different levels are
independent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from glpp.design.arrays import LevelDesign, PathEntry
from glpp.errors import DataError, IdentificationError, SpecError
from glpp.ir import Covariance, LatentRegression, Spec

__all__ = [
    "LatentStructure",
    "RESIDUAL_COVARIANCE_SCOPE",
    "check_cluster_covariates",
    "identify",
    "latent_structure",
    "residual_covariances",
    "resolve_higher_paths",
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

    Parameters
    ----------
    spec : Spec
    latents : list of str
        The latents of this level, in design order.
    items : collection of str
        Items of a wide-data model: covariances between two of them are
        residual covariances, resolved by :func:`residual_covariances`, and
        skipped here.
    elsewhere : mapping of str to str
        The latents of the model's other levels and their level's name:
        their statements are resolved with their own level.
    higher : collection of str
        The latents of ``elsewhere`` at higher levels: they may predict a
        latent of this level (a path ``"higher"``).

    Raises
    ------
    SpecError
        A path from a lower level, a covariance between levels, a statement
        about a name that is not a latent, a fixed path coefficient, a cycle,
        or a fixed variance or covariance that is not supported.
    """
    elsewhere = elsewhere or {}
    position = {name: i for i, name in enumerate(latents)}
    regressions = _level_regressions(spec, elsewhere, higher)
    paths, endogenous, predicts_latent = _structural_paths(regressions, position, higher)
    _check_acyclic(tuple(regressions), position)
    exogenous = [name for name in latents if name not in endogenous]
    outcomes = [name for name in latents if name in endogenous and name not in predicts_latent]
    groups: list[list[str]] = [group for group in (exogenous, outcomes) if group]
    groups += [[name] for name in latents if name in endogenous and name in predicts_latent]
    fixed_variances = _join_covariances(spec, items, elsewhere, position, groups)
    return LatentStructure(_covariance_blocks(groups, fixed_variances, position), paths)


def _level_regressions(
    spec: Spec, elsewhere: Mapping[str, str], higher: Collection[str]
) -> list[LatentRegression]:
    """The structural regressions of this level's latents; a predictor from a lower level is an error."""
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
    return regressions


def _structural_paths(
    regressions: list[LatentRegression], position: dict[str, int], higher: Collection[str]
) -> tuple[list[tuple[int, str, str, int, str | None]], set[str], set[str]]:
    """The paths of ``regressions`` (as :attr:`LatentStructure.paths`), the dependent latents and the latent predictors."""
    predicts_latent: set[str] = set()
    endogenous: set[str] = set()
    paths: list[tuple[int, str, str, int, str | None]] = []
    covariates: list[str] = []
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
    return paths, endogenous, predicts_latent


def _join_covariances(
    spec: Spec,
    items: Collection[str],
    elsewhere: Mapping[str, str],
    position: dict[str, int],
    groups: list[list[str]],
) -> dict[str, float]:
    """Apply this level's ``F ~~ G`` (joins the groups of ``F`` and ``G``, in place) and ``F ~~ 1*F``.

    Returns the latents whose variance is fixed, with the value.
    """
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
        if covariance.label is not None:
            raise SpecError(
                f"{_covariance_text(covariance)}: labels (equality constraints) on latent variances and "
                "covariances are not supported; remove the label (labels work on loadings, 'F =~ a*y2 + a*y3', "
                "and on residual covariances of items)"
            )
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
    return fixed_variances


def _covariance_blocks(
    groups: list[list[str]], fixed_variances: dict[str, float], position: dict[str, int]
) -> list[tuple[tuple[int, ...], bool]]:
    """Each group of correlated latents as (sorted positions, unit variance)."""
    blocks = []
    for group in groups:
        fixed = [name in fixed_variances for name in group]
        if any(fixed) and not all(fixed):
            raise SpecError(
                f"the variances of correlated latents {group} must be all free or all fixed at 1 "
                f"(fixed: {[n for n, f in zip(group, fixed) if f]})"
            )
        blocks.append((tuple(sorted(position[name] for name in group)), all(fixed)))
    return blocks


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


def resolve_higher_paths(paths: list[PathEntry], levels: list[LevelDesign]) -> list[PathEntry]:
    """Paths from latents of higher levels (kind ``"higher"``) as latent paths with the predictor's level.

    Parameters
    ----------
    paths : list of PathEntry
    levels : list of LevelDesign
        All levels of the design, lowest first: where each latent is.

    Returns
    -------
    list of PathEntry
        ``paths``, each ``"higher"`` one with kind ``"latent"``, its
        predictor's position among its level's latents and that level.
    """
    where = {name: (number, position) for number, level in enumerate(levels) for position, name in enumerate(level.latent_names)}
    resolved = []
    for path in paths:
        if path.kind == "higher":
            number, position = where[path.predictor]
            path = replace(path, kind="latent", predictor_position=position, predictor_level=number)
        resolved.append(path)
    return resolved


def check_cluster_covariates(
    paths: list[PathEntry],
    levels: list[LevelDesign],
    latent_covariates: np.ndarray,
    rows_are_units: bool = True,
) -> None:
    """A latent varying over clusters can depend only on covariates constant within its clusters.

    Parameters
    ----------
    paths : list of PathEntry
    levels : list of LevelDesign
    latent_covariates : ndarray, shape (n_rows, n_covariates)
        The observed predictors of latents (``Design.latent_covariates``).
    rows_are_units : bool
        Wide data: the unit level's latents vary by row and need no check.

    Raises
    ------
    DataError
        A covariate of a cluster-level latent varies within one of its clusters.
    """
    for path in paths:
        level = levels[path.level]
        if path.kind != "covariate" or (rows_are_units and level.name == "unit"):
            continue
        values = latent_covariates[:, path.predictor_position]
        varies = pd.Series(values).groupby(level.cluster_index).nunique() > 1
        if varies.any():
            cluster = level.cluster_labels[int(varies.index[varies.to_numpy()][0])]
            raise DataError(
                f"structural regression '{path.latent} ~ {path.predictor}': {path.latent!r} varies over the clusters "
                f"of {level.name!r} but {path.predictor!r} varies within them (e.g. in cluster {cluster!r}); a "
                "cluster-level latent can only depend on cluster-level covariates"
            )
