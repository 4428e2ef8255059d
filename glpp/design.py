"""(Spec, DataFrame) -> Design: the numeric arrays a likelihood needs.

All checks of the data against the model happen here, so that every later
stage can trust its input: columns exist, the response is in the family's
support, grouping columns define properly nested clusters, and rows with
missing values in any used column are dropped and counted (never silently).
Fixed-effect and random-effect covariates are built by formulaic.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix

from glpp.errors import DataError, SpecError
from glpp.families import Family, validate_response
from glpp.ir import RandomTerm, Regression, Spec

__all__ = ["CovarianceBlock", "LevelDesign", "Design", "build_design"]


@dataclass(frozen=True)
class CovarianceBlock:
    """Latents of one random term: correlated among themselves only.

    Attributes
    ----------
    term : str
        The term as written, e.g. ``"(1 + days | subject)"``.
    latent_positions : tuple of int
        Positions of the block's latents among its level's latents.
    """

    term: str
    latent_positions: tuple[int, ...]


@dataclass(frozen=True)
class LevelDesign:
    """The latent variables that vary over the clusters of one grouping.

    Attributes
    ----------
    name : str
        Grouping label (``"patient"``, ``"school:class"``).
    cluster_index : ndarray of int, shape (n_rows,)
        Cluster (0..n_clusters-1) of each row.
    cluster_labels : list
        The grouping value(s) of each cluster.
    parent_index : ndarray of int or None, shape (n_clusters,)
        For each cluster, its cluster at the next level up.
    covariates : ndarray, shape (n_rows, n_latents)
        Each row's covariate multiplying each latent (1 for intercepts).
    latent_names : tuple of str
        Model-matrix column names of the latents (``"(Intercept)"``, ``"days"``).
    blocks : tuple of CovarianceBlock
    """

    name: str
    cluster_index: np.ndarray
    cluster_labels: list
    parent_index: np.ndarray | None
    covariates: np.ndarray
    latent_names: tuple[str, ...]
    blocks: tuple[CovarianceBlock, ...]

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_labels)

    @property
    def n_latents(self) -> int:
        return self.covariates.shape[1]


@dataclass(frozen=True)
class Design:
    """Numeric arrays for one regression with nested random effects.

    Attributes
    ----------
    response : ndarray, shape (n_rows,)
    trials : ndarray or None
        Binomial trials (ones for 0/1 responses); ``None`` for other families.
    fixed : ndarray, shape (n_rows, n_fixed)
    fixed_names : tuple of str
    offset : ndarray, shape (n_rows,)
    levels : tuple of LevelDesign
        Lowest level (level 2) first; each nested in the next.
    n_dropped : int
        Rows dropped for missing values in used columns.
    response_label : str
    """

    response: np.ndarray
    trials: np.ndarray | None
    fixed: np.ndarray
    fixed_names: tuple[str, ...]
    offset: np.ndarray
    levels: tuple[LevelDesign, ...]
    n_dropped: int
    response_label: str

    @property
    def n_rows(self) -> int:
        return self.response.shape[0]


def _expression_columns(expression: str, term: str) -> set[str]:
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as error:
        raise SpecError(f"cannot read expression {expression!r} in {term}: {error.msg}") from None
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} - called - {"np", "log", "exp", "sqrt"}


def _formula_columns(rhs: str, term: str) -> set[str]:
    try:
        return set(Formula(rhs).required_variables)
    except Exception as error:  # formulaic raises several parser error types
        raise SpecError(f"cannot read {term}: {error}") from None


def _check_columns(columns: set[str], data: pd.DataFrame, term: str) -> None:
    missing = sorted(columns - set(data.columns))
    if missing:
        available = ", ".join(map(str, data.columns[:20]))
        raise DataError(
            f"column {missing[0]!r} used in {term} is not in the data; available columns: {available}"
        )


def _evaluate(expression: str, data: pd.DataFrame, term: str) -> np.ndarray:
    if expression in data.columns:
        values = data[expression]
    else:
        try:
            values = data.eval(expression, engine="python")
        except Exception as error:
            raise SpecError(f"cannot evaluate {expression!r} in {term}: {error}") from None
    if not pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        raise DataError(
            f"{term}: {expression!r} is not numeric (dtype {values.dtype}); "
            "recode it to numbers (e.g. 0/1) before fitting"
        )
    return np.asarray(values, dtype=float)


def _model_matrix(rhs: str, data: pd.DataFrame, term: str) -> tuple[np.ndarray, tuple[str, ...]]:
    try:
        matrix = model_matrix(rhs, data, na_action="raise")
    except Exception as error:
        raise SpecError(f"cannot build the design matrix of {term}: {error}") from None
    names = tuple("(Intercept)" if name == "Intercept" else str(name) for name in matrix.columns)
    return np.asarray(matrix, dtype=float), names


def _random_term_label(term: RandomTerm) -> str:
    return f"({term.expression} | {term.group_label})"


def _cluster_codes(data: pd.DataFrame, group: tuple[str, ...]) -> tuple[np.ndarray, list]:
    keys = data[list(group)]
    codes, uniques = pd.MultiIndex.from_frame(keys).factorize() if len(group) > 1 else pd.factorize(keys.iloc[:, 0], sort=True)
    labels = list(uniques)
    return np.asarray(codes, dtype=np.int64), labels


def _nest_levels(groups: dict[tuple[str, ...], tuple[np.ndarray, list]]) -> list[tuple[str, ...]]:
    """Order groupings from lowest to highest level and check nesting."""
    order = sorted(groups, key=lambda group: (-len(groups[group][1]), -len(group)))
    for lower, upper in zip(order[:-1], order[1:]):
        lower_codes, lower_labels = groups[lower]
        upper_codes, _ = groups[upper]
        parents = np.full(len(lower_labels), -1, dtype=np.int64)
        parents[lower_codes] = upper_codes
        conflict = parents[lower_codes] != upper_codes
        if np.any(conflict):
            row = int(np.flatnonzero(conflict)[0])
            raise DataError(
                f"grouping {':'.join(lower)!r} is not nested in {':'.join(upper)!r}: "
                f"cluster {lower_labels[lower_codes[row]]!r} appears in more than one "
                f"{':'.join(upper)!r} unit. Crossed random effects are not supported; "
                f"if ids repeat across {':'.join(upper)!r} units, write ({':'.join(upper)}/{lower[-1]})."
            )
    return order


def build_design(spec: Spec, data: pd.DataFrame, family: Family) -> Design:
    """Build the arrays of a single-regression Spec.

    Parameters
    ----------
    spec : Spec
        With exactly one regression.
    data : DataFrame
    family : Family
        Used to validate the response's support.

    Raises
    ------
    DataError
        Missing columns, non-numeric or out-of-support responses, a grouping
        with a single cluster, groupings that are not nested.
    """
    if len(spec.regressions) != 1:
        raise SpecError("this version fits exactly one regression statement (y ~ ...)")
    regression: Regression = spec.regressions[0]
    response_term = f"response {regression.response.label!r}"
    used: set[str] = set()
    response_columns = _expression_columns(regression.response.expression, response_term)
    if regression.response.failures is not None:
        response_columns |= _expression_columns(regression.response.failures, response_term)
    _check_columns(response_columns, data, response_term)
    used |= response_columns
    fixed_term = f"fixed part {regression.fixed!r}"
    fixed_columns = _formula_columns(regression.fixed, fixed_term)
    _check_columns(fixed_columns, data, fixed_term)
    used |= fixed_columns
    for offset in regression.offsets:
        offset_columns = _expression_columns(offset, f"offset({offset})")
        _check_columns(offset_columns, data, f"offset({offset})")
        used |= offset_columns
    for term in regression.random:
        label = f"random term {_random_term_label(term)}"
        term_columns = _formula_columns(term.expression, label) | set(term.group)
        _check_columns(term_columns, data, label)
        used |= term_columns

    used_ordered = [column for column in data.columns if column in used]
    complete = data[used_ordered].notna().all(axis=1).to_numpy()
    n_dropped = int((~complete).sum())
    data = data.loc[complete].reset_index(drop=True)
    if len(data) == 0:
        raise DataError("no rows left after dropping rows with missing values in the used columns")

    response = _evaluate(regression.response.expression, data, response_term)
    trials = None
    if family.name == "binomial":
        if regression.response.failures is not None:
            failures = _evaluate(regression.response.failures, data, response_term)
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
        raise SpecError(f"cbind(successes, failures) is only meaningful for the binomial family, not {family.name!r}")
    validate_response(family, response, trials, regression.response.label)

    fixed, fixed_names = _model_matrix(regression.fixed, data, fixed_term)
    offset = np.zeros(len(data))
    for expression in regression.offsets:
        offset += _evaluate(expression, data, f"offset({expression})")

    groups: dict[tuple[str, ...], tuple[np.ndarray, list]] = {}
    for term in regression.random:
        if term.group not in groups:
            codes, labels = _cluster_codes(data, term.group)
            if len(labels) < 2:
                raise DataError(
                    f"grouping {term.group_label!r} in random term {_random_term_label(term)} has "
                    f"{len(labels)} level; a variance needs at least two clusters"
                )
            groups[term.group] = (codes, labels)
    order = _nest_levels(groups) if groups else []

    levels = []
    for position, group in enumerate(order):
        codes, labels = groups[group]
        covariate_blocks, names, blocks = [], [], []
        for term in regression.random:
            if term.group != group:
                continue
            label = _random_term_label(term)
            matrix, term_names = _model_matrix(term.expression, data, f"random term {label}")
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
        parent_index = None
        if position + 1 < len(order):
            upper_codes, _ = groups[order[position + 1]]
            parent_index = np.zeros(len(labels), dtype=np.int64)
            parent_index[codes] = upper_codes
        levels.append(
            LevelDesign(
                name=":".join(group),
                cluster_index=codes,
                cluster_labels=labels,
                parent_index=parent_index,
                covariates=np.concatenate(covariate_blocks, axis=1),
                latent_names=tuple(names),
                blocks=tuple(blocks),
            )
        )
    return Design(
        response=response,
        trials=trials,
        fixed=fixed,
        fixed_names=fixed_names,
        offset=offset,
        levels=tuple(levels),
        n_dropped=n_dropped,
        response_label=regression.response.label,
    )
