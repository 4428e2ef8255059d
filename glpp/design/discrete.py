"""The arrays of a discrete latent variable: latent classes or NPML mass points.

A discrete latent takes one of ``k`` values (points) per unit of its level; a unit's
rows share its point. Two kinds (``glpp.ir.LatentDistribution``):

- ``C ~~ classes(k)`` with ``C =~ y1 + ... + yJ`` (wide data): each item has an
  intercept per class on its link scale (these replace the items' intercepts);
  class membership is a multinomial logit, on covariates with ``C ~ v1 + v2``
  (the last class is the reference).
- ``F ~~ masspoints(k)``: a latent that would be normal gets a nonparametric
  distribution: free locations and masses, its mean fixed at zero so that the
  fixed intercept stays identified. For an lme4 term the latent is named by its
  grouping: ``(1 | patient)`` with ``patient ~~ masspoints(4)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from glpp.design.arrays import Design, DiscreteDesign
from glpp.design.class_regression import build_class_regression_design, class_regression_statement
from glpp.errors import SpecError
from glpp.ir import LatentDistribution, Spec

__all__ = ["DiscreteDesign", "build_discrete_design", "discrete_distribution"]


def discrete_distribution(spec: Spec) -> LatentDistribution | None:
    """The model's one discrete latent (``None`` for none).

    Raises
    ------
    SpecError
        More than one ``classes()``/``masspoints()`` statement.
    """
    if len(spec.distributions) > 1:
        names = ", ".join(f"'{d.latent} ~~ {d.kind}()'" for d in spec.distributions)
        raise SpecError(f"one discrete latent per model is available; got {names}: keep one")
    return spec.distributions[0] if spec.distributions else None


def _statement(distribution: LatentDistribution) -> str:
    points = '"auto"' if distribution.n_points == 0 else distribution.n_points
    return f"'{distribution.latent} ~~ {distribution.kind}({points})'"


def build_discrete_design(
    spec: Spec, design: Design, distribution: LatentDistribution, data: pd.DataFrame | None = None
) -> DiscreteDesign:
    """The :class:`DiscreteDesign` of ``distribution`` on top of the ordinary ``design``.

    A regression with class terms (``y ~ C + C1:z``) or classes given a level
    (``C@id ~~ classes(2)``) is built by
    :func:`glpp.design.class_regression.build_class_regression_design` (from ``data``).

    Raises
    ------
    SpecError
        A latent that no level carries, a class model on long data, several latents
        at the latent's level, or more classes than distinct response patterns.
    """
    if _is_class_regression(spec, distribution):
        return build_class_regression_design(spec, design, distribution, data)
    if distribution.known is not None or distribution.level is not None:
        raise SpecError(
            f"{class_regression_statement(distribution)}: known= and '@level' are available for classes "
            "in a regression (y ~ C + C1:z on long data) only; not available yet for a measurement model"
        )
    level = _level_of(spec, design, distribution)
    if len(design.levels) > 1:
        others = [other.name for other in design.levels if other is not level]
        raise SpecError(
            f"{_statement(distribution)}: the model has latents at other levels too ({', '.join(others)}); "
            "a discrete latent together with other latents is not available yet"
        )
    if distribution.kind == "masspoints" and level.loading_index is not None:
        raise SpecError(
            f"{_statement(distribution)}: mass points of a factor with loadings are not available yet; "
            "use them for an lme4 term such as (1 | g) with g ~~ masspoints(k)"
        )
    if level.n_latents != 1:
        raise SpecError(
            f"{_statement(distribution)}: the level {level.name!r} has {level.n_latents} latents "
            f"({', '.join(level.latent_names)}); a discrete latent must be the only one of its level"
        )
    membership, membership_names = _membership(spec, design, distribution, level.cluster_index)
    if distribution.kind == "classes":
        return _class_design(spec, design, distribution, level, membership, membership_names)
    covariate = level.covariates[:, 0].astype(float)
    return DiscreteDesign(
        "masspoints", distribution.latent, distribution.n_points, level.cluster_index,
        list(level.cluster_labels), None, (), covariate, tuple(range(design.fixed.shape[1])),
        membership, membership_names,
    )


def _is_class_regression(spec: Spec, distribution: LatentDistribution) -> bool:
    terms = any(term.latent == distribution.latent for r in spec.regressions for term in r.class_terms)
    return terms or distribution.level is not None


def _level_of(spec: Spec, design: Design, distribution: LatentDistribution):
    latent = distribution.latent
    for level in design.levels:
        if latent in level.factors or latent == level.name:
            return level
    available = sorted({f for level in design.levels for f in level.factors} | {lv.name for lv in design.levels})
    raise SpecError(
        f"{_statement(distribution)}: no latent or grouping {latent!r} in the model; "
        f"available: {available}"
    )


def _membership(spec, design, distribution, unit_index) -> tuple[np.ndarray, tuple[str, ...]]:
    """A constant and the covariates of ``C ~ v1 + v2`` (classes only), one row per unit."""
    n_units = int(unit_index.max()) + 1
    first_row = np.zeros(n_units, dtype=np.int64)
    first_row[unit_index[::-1]] = np.arange(len(unit_index))[::-1]
    columns, names = [np.ones(n_units)], ["(Intercept)"]
    for path in design.paths:
        if path.latent != distribution.latent:
            continue
        if path.kind != "covariate" or distribution.kind != "classes":
            raise SpecError(
                f"'{path.latent} ~ {path.predictor}': a discrete latent can be regressed on observed "
                f"covariates only, and only a class model ({_statement(distribution)} is not one)"
            )
        values = design.latent_covariates[:, path.predictor_position]
        columns.append(values[first_row])
        names.append(path.predictor)
    return np.column_stack(columns), tuple(names)


def _class_design(spec, design, distribution, level, membership, membership_names) -> DiscreteDesign:
    if design.item_index is None:
        raise SpecError(
            f"{_statement(distribution)}: latent classes need a measurement statement on wide data, "
            f"e.g. {distribution.latent} =~ y1 + y2 + y3 (one row per unit)"
        )
    intercepts = []
    for item in range(len(design.item_names)):
        dummy = (design.item_index == item).astype(float)
        matches = [j for j in range(design.fixed.shape[1]) if np.array_equal(design.fixed[:, j], dummy)]
        intercepts += matches[:1]
    kept = tuple(j for j in range(design.fixed.shape[1]) if j not in intercepts)
    patterns = _distinct_patterns(design, level.cluster_index)
    if distribution.n_points > patterns:
        raise SpecError(
            f"{_statement(distribution)}: {distribution.n_points} classes but only {patterns} distinct "
            f"response patterns in the data; use at most {patterns} classes"
        )
    return DiscreteDesign(
        "classes", distribution.latent, distribution.n_points, level.cluster_index,
        list(level.cluster_labels), design.item_index, design.item_names, None, kept,
        membership, membership_names,
    )


def _distinct_patterns(design: Design, unit_index: np.ndarray) -> int:
    n_units = int(unit_index.max()) + 1
    table = np.full((n_units, len(design.item_names)), np.nan)
    table[unit_index, design.item_index] = design.response
    return len({row.tobytes() for row in table})
