"""The arrays of a regression whose coefficients depend on a latent class: CACE, growth mixtures.

``y ~ x + C + C1:z`` with ``C ~~ classes(2)`` on long data: ``C`` gives each class its
own intercept (the fixed intercept is dropped), ``C:x`` each class its own slope of
``x``, ``C1`` and ``C1:z`` a coefficient in class 1 only (0 in the others). Row ``r``
of unit ``i`` in class ``c`` has the linear predictor

    eta_rc = x_r' beta + w_r' gamma_c (+ z_r * sd * u_ic),

``w_r`` the class columns and ``gamma_c`` class ``c``'s coefficients. The classes vary
over the rows, or with ``C@id ~~ classes(k)`` over the clusters of ``id``; with a random
term ``(1 | id)`` at the same grouping the model is a growth mixture: a normal random
effect ``u_ic`` within each class (its SD the same in every class).

``classes(k, known = col)``: ``col`` holds each unit's class (``1..k``) where it is
observed and is missing (NaN) where it is not; a unit whose class is known contributes
only that class's term ``pi_c f(y | c)`` (the complier average causal effect: compliance
observed in the treated arm, latent in the control arm).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from glpp.design.arrays import Design, DiscreteDesign
from glpp.design.clusters import cluster_codes
from glpp.design.columns import design_matrix
from glpp.design.long import complete_rows
from glpp.errors import DataError, SpecError
from glpp.ir import LatentDistribution, Spec

__all__ = ["build_class_regression_design", "class_regression_statement", "code_class_columns", "known_classes"]


def class_regression_statement(distribution: LatentDistribution) -> str:
    """The statement as written, for messages (``'C@id ~~ classes(2, known = c)'``)."""
    latent = distribution.latent if distribution.level is None else f"{distribution.latent}@{distribution.level}"
    known = "" if distribution.known is None else f", known = {distribution.known}"
    return f"'{latent} ~~ {distribution.kind}({distribution.n_points}{known})'"


def build_class_regression_design(spec: Spec, design: Design, distribution: LatentDistribution, data: pd.DataFrame):
    """The :class:`~glpp.design.discrete.DiscreteDesign` of a regression with class terms.

    Parameters
    ----------
    spec : Spec
        One regression on long data with class terms (:class:`glpp.ir.ClassTerm`).
    design : Design
        Its ordinary design (the class terms left out).
    distribution : LatentDistribution
        ``C ~~ classes(k)``, ``C@id ~~ classes(k)``, optionally ``known = col``.
    data : DataFrame
        The data the design was built from (all rows).

    Returns
    -------
    DiscreteDesign

    Raises
    ------
    SpecError
        Mass points, a class level that is not the random effects' grouping, random
        effects beyond one latent at that grouping, a class term that repeats another or a
        fixed term, a ``known=`` column that is missing, not numeric, outside ``1..k`` or
        not constant within a unit.
    """
    statement = class_regression_statement(distribution)
    if distribution.kind != "classes" or len(spec.regressions) != 1:
        raise SpecError(f"{statement}: class terms (y ~ C + C:x) need classes() and one regression on long data")
    complete, _ = complete_rows(spec, spec.regressions[0], data)
    unit_index, unit_labels, random = _units(design, distribution, complete, statement)
    columns, names, mask = code_class_columns(spec, distribution, complete, statement)
    fixed_columns = _fixed_columns(design, names, mask, statement)
    known = known_classes(distribution, complete, unit_index, len(unit_labels), statement)
    membership, membership_names = _membership(spec, distribution, complete, unit_index, len(unit_labels))
    random_covariate, random_name = random if random is not None else (None, "")
    return DiscreteDesign(
        "classes", distribution.latent, distribution.n_points, unit_index, unit_labels, None, (), None,
        fixed_columns, membership, membership_names, class_columns=columns, class_column_names=names,
        class_mask=mask, known_class=known, random_covariate=random_covariate, random_name=random_name,
    )


def _units(design: Design, distribution: LatentDistribution, complete: pd.DataFrame, statement: str):
    """Each row's unit, the units' labels and, for a growth mixture, the random effect's covariate and name."""
    level = distribution.level
    if not design.levels:
        if level is None:
            return np.arange(len(complete)), list(range(len(complete))), None
        codes, labels = cluster_codes(complete, (level,))
        return codes, list(labels), None
    names = [lv.name for lv in design.levels]
    if level is None or len(design.levels) > 1 or names[0] != level:
        example = f"{distribution.latent}@{names[0]} ~~ classes({distribution.n_points})"
        raise SpecError(
            f"{statement}: with random effects over {', '.join(repr(n) for n in names)} the classes must vary at "
            f"the level of one grouping with random effects, e.g. '{example}' with (1 | {names[0]}); "
            "other combinations of discrete and continuous latents are not available yet"
        )
    random_level = design.levels[0]
    if random_level.n_latents != 1 or random_level.loading_index is not None:
        raise SpecError(
            f"{statement}: a growth mixture takes one random effect within class, e.g. (1 | {level}); "
            f"the grouping {level!r} has {', '.join(random_level.latent_names)}: not available yet"
        )
    latent_name = random_level.latent_names[0]
    name = f"sd[{level}]" if latent_name == "(Intercept)" else f"sd[{level}:{latent_name}]"
    covariate = random_level.covariates[:, 0].astype(float)
    return random_level.cluster_index, list(random_level.cluster_labels), (covariate, name)


def code_class_columns(spec: Spec, distribution: LatentDistribution, complete: pd.DataFrame, statement: str):
    """The class columns, their names and which classes have a coefficient of each."""
    n_classes = distribution.n_points
    blocks, names, masks = [], [], []
    for term in spec.regressions[0].class_terms:
        if term.latent != distribution.latent:
            continue
        if term.expression == "1":
            values, term_names = np.ones((len(complete), 1)), ("(Intercept)",)
        else:
            matrix, matrix_names = design_matrix(f"1 + {term.expression}", complete, f"class term '{term.label}'")
            keep = [k for k, name in enumerate(matrix_names) if name != "(Intercept)"]
            values, term_names = matrix[:, keep], tuple(matrix_names[k] for k in keep)
        row = np.ones(n_classes, bool) if term.class_number is None else np.arange(1, n_classes + 1) == term.class_number
        for k, name in enumerate(term_names):
            if name in names:
                position = names.index(name)
                if np.any(masks[position] & row):
                    raise SpecError(f"{statement}: the class term '{term.label}' repeats another class term of {name!r}")
                masks[position] = masks[position] | row
                continue
            blocks.append(values[:, k])
            names.append(name)
            masks.append(row)
    if not names:
        raise SpecError(f"{statement}: no class term in the regression; add e.g. {distribution.latent} or "
                        f"{distribution.latent}:x to its right-hand side")
    return np.column_stack(blocks), tuple(names), np.vstack(masks)


def _fixed_columns(design: Design, names: tuple[str, ...], mask: np.ndarray, statement: str) -> tuple[int, ...]:
    """The fixed columns that stay class-invariant: all but the intercept where every class has its own."""
    kept = []
    for j, name in enumerate(design.fixed_names):
        if name in names and mask[names.index(name)].all():
            if name == "(Intercept)":
                continue
            raise SpecError(
                f"{statement}: {name!r} is both a fixed term and a class term with a coefficient in every class "
                "(they are not identified together); keep one of them"
            )
        kept.append(j)
    return tuple(kept)


def known_classes(
    distribution: LatentDistribution, complete: pd.DataFrame, unit_index: np.ndarray, n_units: int, statement: str
) -> np.ndarray | None:
    """Each unit's known class, 0-based, and -1 where it is missing (``None`` without ``known=``).

    Raises
    ------
    SpecError
        The column is missing, not numeric, holds values outside ``1..k`` or differs within a unit.
    """
    column = distribution.known
    if column is None:
        return None
    if column not in complete.columns:
        raise SpecError(
            f"{statement}: no column {column!r} in the data for known=; give the column that holds each unit's "
            f"class (1 to {distribution.n_points}, missing where it is not known)"
        )
    values = pd.to_numeric(complete[column], errors="coerce").to_numpy(dtype=float)
    unreadable = complete[column].notna().to_numpy() & np.isnan(values)
    valid = np.isnan(values) | np.isin(values, np.arange(1, distribution.n_points + 1))
    if unreadable.any() or not valid.all():
        bad = sorted({str(v) for v in complete[column][unreadable | ~valid]})[:5]
        raise SpecError(
            f"{statement}: column {column!r} holds {', '.join(bad)}; known= takes the class numbers "
            f"1 to {distribution.n_points} (missing, NaN, where the class is not known)"
        )
    low, high = np.full(n_units, np.inf), np.full(n_units, -np.inf)
    observed = ~np.isnan(values)
    np.minimum.at(low, unit_index[observed], values[observed])
    np.maximum.at(high, unit_index[observed], values[observed])
    if np.any(np.isfinite(low) & (low != high)):
        raise SpecError(f"{statement}: column {column!r} gives different classes to rows of one unit; "
                        "a unit has one class")
    return np.where(np.isfinite(low), low - 1, -1).astype(np.int64)


def _membership(spec, distribution, complete, unit_index, n_units) -> tuple[np.ndarray, tuple[str, ...]]:
    """A constant and the covariates of ``C ~ v1 + v2``, one row per unit (constant within units)."""
    first_row = np.zeros(n_units, dtype=np.int64)
    first_row[unit_index[::-1]] = np.arange(len(unit_index))[::-1]
    columns, names = [np.ones(n_units)], ["(Intercept)"]
    for regression in spec.latent_regressions:
        if regression.latent != distribution.latent:
            continue
        for predictor in regression.predictors:
            values = pd.to_numeric(complete[predictor.name], errors="coerce").to_numpy(dtype=float)
            if np.any(values != values[first_row][unit_index]):
                raise DataError(f"'{distribution.latent} ~ {predictor.name}': {predictor.name!r} varies within "
                                "the units of the classes; class membership takes unit-level covariates")
            columns.append(values[first_row])
            names.append(predictor.name)
    return np.column_stack(columns), tuple(names)
