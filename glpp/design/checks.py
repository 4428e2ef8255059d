"""Checks of a data set and a built design that need no fitting.

What lme4 checks before it optimises (the rank of the fixed-effect design),
and what it does not (a random slope of a covariate that never varies within
a cluster): each is found here, from the arrays alone, before any graph is
compiled, and named in the message with what to do about it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.linalg

from glpp.design.arrays import Design, LevelDesign
from glpp.errors import DataError, IdentificationError, IdentificationWarning, SpecError
from glpp.ir import Spec

__all__ = [
    "RANK_TOLERANCE",
    "check_data_frame",
    "check_design",
    "default_notes",
    "missing_values_message",
    "refuse_missing_groupings",
    "require_latents",
]

#: a fixed-effect column whose part orthogonal to the earlier columns has a
#: norm below this fraction of its own norm is a linear combination of them
#: (lme4's ``rankMatrix`` tolerance)
RANK_TOLERANCE = 1e-7


def check_data_frame(data: pd.DataFrame) -> None:
    """Refuse a data frame glpp cannot read unambiguously: no rows, repeated column names.

    Raises
    ------
    DataError
    """
    if len(data) == 0:
        raise DataError("the data frame has no rows")
    repeated = data.columns[data.columns.duplicated()].unique()
    if len(repeated):
        raise DataError(
            f"the data frame has more than one column named {str(repeated[0])!r}; "
            "rename the columns so that every name is unique"
        )


def refuse_missing_groupings(data: pd.DataFrame, groupings: list[str]) -> None:
    """A row without a cluster id cannot be placed in the hierarchy: refuse it instead of dropping it.

    Raises
    ------
    DataError
        Naming the grouping column, how many values are missing and the first row.
    """
    for column in dict.fromkeys(groupings):
        if column in data.columns and data[column].isna().any():
            missing = data[column].isna().to_numpy()
            raise DataError(
                f"grouping column {column!r} has {int(missing.sum())} missing value(s) (first in row "
                f"{data.index[np.flatnonzero(missing)[0]]!r}); a row without a cluster cannot be placed: "
                "give those rows a cluster id or drop them before fitting"
            )


def missing_values_message(data: pd.DataFrame, used: list[str], unit: str = "rows", at_least: int = 1) -> str:
    """Why fewer than ``at_least`` ``unit`` are left: the used columns with missing values, how many each."""
    counts = data[used].isna().sum()
    counts = counts[counts > 0].sort_values(ascending=False)
    wanted = "no" if at_least == 1 else f"fewer than {at_least}"
    if counts.empty:
        return f"{wanted} {unit} in the data; a model needs at least {max(at_least, 2)}"
    described = ", ".join(f"{name!r} ({count} of {len(data)} missing)" for name, count in counts.items())
    return (
        f"{wanted} complete {unit} left after dropping {unit} with missing values in the used columns: "
        f"{described}; fill in or drop those columns, or remove the terms that use them"
    )


def check_design(design: Design) -> None:
    """Identification checks on a built design, before any compilation.

    Raises
    ------
    DataError
        A response (an item, on wide data) that takes a single value.
    IdentificationError
        Fixed-effect columns that are linear combinations of earlier ones (named),
        a random slope of a covariate constant within clusters that takes at
        most two values (not identified apart from the random intercept).

    Warns
    -----
    IdentificationWarning
        A random slope of a covariate constant within clusters that takes
        more values: identified only through differences in variance between
        clusters.
    """
    _check_response_varies(design)
    _check_fixed_rank(design.fixed, design.fixed_names)
    for level in design.levels:
        _check_cluster_constant_slopes(level)


def _check_response_varies(design: Design) -> None:
    """Every response (each item of wide data) takes at least two values (as a proportion of trials)."""
    proportion = design.response if design.trials is None else design.response / np.maximum(design.trials, 1e-300)
    items = design.item_index if design.item_index is not None else np.zeros(design.n_rows, dtype=np.int64)
    names = design.item_names or (design.response_label,)
    for position, name in enumerate(names):
        values = proportion[items == position]
        if values.size and np.all(values == values[0]):
            raise DataError(
                f"response {name!r} takes the single value {values[0]:g} in every used row; there is nothing "
                "to model (its intercept or variance would run to the boundary): check the column, or leave it out"
            )


def _check_fixed_rank(fixed: np.ndarray, names: tuple[str, ...]) -> None:
    """Name the fixed-effect columns that are linear combinations of the columns before them."""
    if fixed.shape[1] == 0:
        return
    upper = scipy.linalg.qr(fixed, mode="r", check_finite=False)[0]
    diagonal = np.abs(np.diag(upper[: fixed.shape[1]]))
    if diagonal.size < fixed.shape[1]:  # fewer rows than columns
        diagonal = np.concatenate([diagonal, np.zeros(fixed.shape[1] - diagonal.size)])
    norms = np.linalg.norm(fixed, axis=0)
    dependent = [
        name for name, residual, norm in zip(names, diagonal, norms) if residual <= RANK_TOLERANCE * max(norm, 1e-300)
    ]
    if dependent:
        raise IdentificationError(
            f"the fixed part is rank deficient: {', '.join(repr(name) for name in dependent)} "
            f"{'is a linear combination' if len(dependent) == 1 else 'are linear combinations'} of the "
            "columns before it (or constant zero); remove "
            f"{'it' if len(dependent) == 1 else 'them'} from the fixed part (lme4 would drop "
            f"{'it' if len(dependent) == 1 else 'them'})"
        )


def _check_cluster_constant_slopes(level: LevelDesign) -> None:
    """A random slope in a block with a random intercept, of a covariate constant within every cluster."""
    covariates = level.covariates
    order = np.argsort(level.cluster_index, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(level.cluster_index[order]) != 0])
    minimum = np.minimum.reduceat(covariates[order], starts, axis=0)
    maximum = np.maximum.reduceat(covariates[order], starts, axis=0)
    constant = np.all(np.isclose(maximum, minimum, rtol=0.0, atol=1e-12), axis=0)
    ones = np.all(covariates == 1.0, axis=0)
    for block in level.blocks:
        positions = [p for p in block.latent_positions if level.latent_names[p] not in level.factors]
        if not any(ones[p] for p in positions):
            continue
        for position in positions:
            if ones[position] or not constant[position]:
                continue
            name = level.latent_names[position]
            n_values = np.unique(minimum[:, position]).size
            advice = (
                f"'{name}' does not vary within any cluster of '{level.name}', so its random slope in "
                f"{block.term} is a random intercept that differs between clusters with different "
                f"'{name}'"
            )
            if n_values <= 2:
                raise IdentificationError(
                    f"{advice}: with {n_values} distinct value(s) of '{name}' the slope's variance and its "
                    f"correlation with the intercept are not identified; remove '{name}' from the random "
                    f"term (keep it in the fixed part), or give it its own uncorrelated term "
                    f"(0 + {name} | {level.name}) for a variance that differs by '{name}'"
                )
            warnings.warn(
                f"{advice}: its variance is identified only through differences in the random intercept's "
                f"variance between clusters with different '{name}' ({n_values} distinct values); "
                "consider removing it from the random term",
                IdentificationWarning,
                stacklevel=4,
            )


def default_notes(spec: Spec, std_lv: bool) -> tuple[str, ...]:
    """The defaults a summary should state: a first loading freed because ``F ~~ 1*F`` fixes the scale.

    glpp's rule (documented in the user guide): a latent's scale comes from its
    first loading fixed at 1, unless its variance is fixed (``F ~~ 1*F`` or
    ``std_lv=True``), which then sets the scale and frees that loading. An
    explicit ``1*y1`` keeps the loading fixed as well (lavaan keeps the marker
    unless ``NA*`` frees it).
    """
    if std_lv:
        return ()
    fixed_variance = {c.left for c in spec.covariances if c.left == c.right and c.fixed is not None}
    notes = []
    for measurement in spec.measurements:
        first = measurement.indicators[0]
        if measurement.latent not in fixed_variance or first.fixed is not None or first.label or first.force_free:
            continue
        loading = (
            f"lambda[{measurement.latent},{first.name}]" if measurement.level is None or len(measurement.indicators) > 1
            else f"the loading of {measurement.latent}'s first level of '{first.name}'"
        )
        notes.append(
            f"{loading} is free: '{measurement.latent} ~~ 1*{measurement.latent}' fixes {measurement.latent}'s "
            f"scale instead; write '{measurement.latent} =~ 1*{first.name} + ...' to fix the loading as well"
        )
    return tuple(notes)


def require_latents(design: Design, what: str) -> None:
    """Refuse ``what`` (a Bayesian path) for a model without latent variables (a GLM)."""
    if not design.levels and design.discrete is None:
        raise SpecError(
            f"{what} is not available for a model without latent variables (a GLM) yet; fit it by "
            "maximum likelihood: model.fit()"
        )
