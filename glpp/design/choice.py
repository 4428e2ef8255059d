"""Expanded choice data -> Design: the rows of each choice set, contiguous, and their checks.

A choice family (:mod:`glpp.families.choice`) reads long data in which each
row is one alternative of one choice situation (gllamm's ``expanded()``
layout), and ``choice_set="column"`` names the column whose value identifies
the situation (a choice set, or for ``family="ranking"`` the set of
alternatives ranked together). The family turns the data into choice sets
(:attr:`~glpp.families.choice.ChoiceFamily.expand_sets`: as given, or a
ranking into its successive choices); the regression's design is then built
from the expanded rows as for any long data, and :attr:`Design.choice_start`
marks each set's first row.

Checks, each naming the column: the choice-set column exists; sets with a
missing value in any used column are dropped whole (counted in
``n_dropped``), since dropping one alternative would change the choice;
choice sets lie within the clusters of the random effects; a fixed-effect
column or a random effect whose covariate is constant within every set
cancels out of the choice probabilities and is refused (``0 +`` drops the
intercept).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from glpp.design.arrays import Design, LevelDesign
from glpp.design.columns import check_columns
from glpp.design.long import _used_columns, build_long_design
from glpp.errors import DataError, SpecError
from glpp.families import Family
from glpp.ir import Spec

__all__ = ["build_choice_design", "expand_nominal"]


def build_choice_design(
    spec: Spec, data: pd.DataFrame, family: Family, choice_set: str | None, *, std_lv: bool
) -> Design:
    """Build the design of a choice family on expanded (one row per alternative) data.

    Parameters
    ----------
    spec : Spec
        One regression ``chosen ~ ... + (... | g)`` (no intercept: ``0 + ...``).
    data : DataFrame
        One row per alternative of each choice set (ranking).
    family : Family
        A choice family (``multinomial`` or ``ranking``).
    choice_set : str
        The column identifying each row's choice set.
    std_lv : bool

    Raises
    ------
    SpecError
        No ``choice_set`` for a choice family, or one for another family; a
        measurement model on wide data; terms that are constant within every
        choice set.
    DataError
        Missing columns, responses that are not choices or rankings (the
        family's checks), choice sets that cross clusters of the lowest level.
    """
    expand_sets = getattr(family, "expand_sets", None)
    if expand_sets is None:
        raise SpecError(f"choice_set={choice_set!r} is for the choice families ('multinomial', 'ranking'), not {family.name!r}")
    if choice_set is None:
        raise SpecError(f"family {family.name!r} needs choice_set='column': the column identifying each row's choice set")
    if len(spec.regressions) != 1 or (spec.measurements and not all(m.level for m in spec.measurements)):
        raise SpecError(f"family {family.name!r} fits one regression on long (expanded) data: 'chosen ~ ... + (... | g)'")
    regression = spec.regressions[0]
    response = regression.response.expression
    check_columns({response, choice_set}, data, f"family {family.name!r}")
    used = sorted(_used_columns(spec, regression, data) | {choice_set})
    incomplete_sets = data.loc[data[used].isna().any(axis=1), choice_set].unique()
    keep = ~data[choice_set].isin(incomplete_sets).to_numpy()
    kept = np.flatnonzero(keep)
    if kept.size == 0:
        raise DataError("no choice sets left after dropping those with missing values in the used columns")
    values = pd.to_numeric(data[response].iloc[kept], errors="coerce").to_numpy(dtype=float)
    if np.any(np.isnan(values)):
        raise DataError(f"response {response!r} must be numeric (1 for the chosen alternative, or ranks)")
    codes = data[choice_set].to_numpy()[kept]
    rows, chosen, set_number = expand_sets(values, codes, response)
    expanded = data.iloc[kept[rows]].reset_index(drop=True)
    expanded[response] = chosen
    design = build_long_design(spec, expanded, family, std_lv=std_lv)
    choice_start = np.concatenate([[1], (np.diff(set_number) != 0).astype(np.int64)])
    _check_levels(design, choice_start, choice_set, expanded[choice_set].to_numpy())
    _check_varies_within_sets(design, choice_start)
    situation = pd.factorize(codes)[0][rows]
    return replace(design, choice_start=choice_start, n_dropped=int((~keep).sum()), choice_rows=kept[rows],
                   choice_situation=situation)


def _set_spread(values: np.ndarray, choice_start: np.ndarray) -> np.ndarray:
    """Largest minus smallest of ``values`` (rows, ...) within each set."""
    starts = np.flatnonzero(choice_start)
    return np.maximum.reduceat(values, starts, axis=0) - np.minimum.reduceat(values, starts, axis=0)


def _check_levels(design: Design, choice_start: np.ndarray, choice_set: str, codes: np.ndarray) -> None:
    """Each choice set lies within one cluster of the lowest level (hence of every level)."""
    level = design.levels[0]
    crossing = _set_spread(level.cluster_index, choice_start) > 0
    if np.any(crossing):
        code = codes[np.flatnonzero(choice_start)[np.flatnonzero(crossing)[0]]]
        code = code.item() if isinstance(code, np.generic) else code
        raise DataError(
            f"choice set {code!r} of column {choice_set!r} has rows in two clusters of {level.name!r}; "
            "each choice set must lie within one cluster"
        )


def _check_varies_within_sets(design: Design, choice_start: np.ndarray) -> None:
    """Refuse fixed effects and random effects that cancel out of every choice probability."""
    constant = np.all(_set_spread(design.fixed, choice_start) == 0, axis=0)
    if np.any(constant):
        name = design.fixed_names[int(np.flatnonzero(constant)[0])]
        raise SpecError(
            f"fixed-effect column {name!r} is constant within every choice set, so it cancels out of the "
            "choice probabilities; remove it (write '0 + ...' to drop the intercept) or let it vary by alternative"
        )
    for level in design.levels:
        _check_level_varies(level, choice_start)


def _check_level_varies(level: LevelDesign, choice_start: np.ndarray) -> None:
    loadings = level.full_loading_index
    constant = np.all(_set_spread(level.covariates, choice_start) == 0, axis=0)
    constant &= np.all(loadings == loadings[:1], axis=0)
    if np.any(constant):
        name = level.latent_names[int(np.flatnonzero(constant)[0])]
        raise SpecError(
            f"random effect {name!r} of {level.name!r} is constant within every choice set, so it cancels out "
            "of the choice probabilities; give it a covariate that varies by alternative, e.g. "
            f"'(0 + alt2 + alt3 | {level.name})' with indicators of the non-reference alternatives"
        )


def expand_nominal(
    data: pd.DataFrame, response: str, covariates: tuple[str, ...] | list[str] = (), *, reference=None
) -> pd.DataFrame:
    """A nominal response on wide data (one row per unit) as expanded choice data.

    Each row becomes one row per category of ``response`` (sorted; the first,
    or ``reference``, is the reference category, as in gllamm and ``nnet``),
    with columns ``chosen`` (1 on the observed category), ``choice_set`` (the
    unit's row number), ``alternative`` (the category), an indicator
    ``{response}_{k}`` of each non-reference category ``k`` and, for each of
    ``covariates``, its category-specific column ``{x}_{k}`` (``x`` on the
    rows of category ``k``, else 0). Then
    ``chosen ~ 0 + y_2 + y_3 + x_2 + x_3 + (0 + y_2 + y_3 | g)`` with
    ``family="multinomial", choice_set="choice_set"`` is the multinomial logit
    with category-specific intercepts and effects of ``x`` (``beta[x_2]``: the
    effect of ``x`` on the log-odds of category 2 against the reference) and
    correlated random intercepts of the non-reference categories.

    Raises
    ------
    DataError
        A missing column, or a response with fewer than two observed categories.

    Examples
    --------
    >>> wide = pd.DataFrame({"y": ["a", "b", "c", "a"], "x": [0.1, 0.2, 0.3, 0.4]})
    >>> expand_nominal(wide, "y", ["x"]).columns.tolist()
    ['y', 'x', 'choice_set', 'alternative', 'chosen', 'y_b', 'x_b', 'y_c', 'x_c']
    """
    check_columns({response, *covariates}, data, f"expand_nominal({response!r})")
    observed = data[response].dropna()
    categories = sorted(observed.unique())
    if len(categories) < 2:
        raise DataError(f"response {response!r} has a single category ({categories}); a multinomial response needs two or more")
    if reference is not None:
        if reference not in categories:
            raise DataError(f"reference {reference!r} is not a category of {response!r}: {categories}")
        categories.remove(reference)
        categories.insert(0, reference)
    n_categories = len(categories)
    long = data.loc[data.index.repeat(n_categories)].reset_index(drop=True)
    long["choice_set"] = np.repeat(np.arange(len(data)), n_categories)
    long["alternative"] = np.tile(np.array(categories, dtype=object), len(data))
    long["chosen"] = (long[response] == long["alternative"]).astype(int)
    if long[response].isna().any():
        long["chosen"] = long["chosen"].where(long[response].notna())
    for category in categories[1:]:
        is_category = (long["alternative"] == category).to_numpy(dtype=float)
        long[f"{response}_{category}"] = is_category
        for covariate in covariates:
            long[f"{covariate}_{category}"] = is_category * long[covariate].to_numpy(dtype=float)
    return long
