"""Long data mixing equations: a family per row, and latents shared by equations with a loading each.

``Model(..., family="fam")`` with a column ``fam`` of family names
(:func:`glpp.families.resolve.resolve_families`) gives each row of the data
its component of a :class:`~glpp.families.MixedFamily`. :func:`row_family_fields`
makes the complete rows' components the design's ``family_index``, checks each
row's response against its own family and gives each family with an auxiliary
parameter one (``sigma`` for the gaussian rows, ``size`` for negative binomial
rows, ...), shared by all its rows (``Design.dispersion_index``), named after
the parameter alone (``sigma``), or ``sigma[gaussian]`` where two families'
parameters share a name.

:func:`column_loadings` reads ``F@id =~ z1 + z2`` with numeric columns (gllamm's
``eqs()``): ``F`` enters each row through its one nonzero column, with a loading
per column, so equations of different types share a latent (a random slope in
the outcome rows, a free loading in the dropout rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from glpp.design.arrays import LoadingEntry
from glpp.design.columns import evaluate
from glpp.errors import DataError
from glpp.families import Family, MixedFamily, validate_response
from glpp.ir import Measurement

__all__ = ["column_loadings", "row_family_fields"]


def row_family_fields(
    family: MixedFamily, components: np.ndarray, response: np.ndarray, trials: np.ndarray | None, label: str
) -> dict:
    """``Design`` fields of a family per row: ``family_index`` and the auxiliary parameters.

    Parameters
    ----------
    family : MixedFamily
    components : ndarray of int, shape (n_rows,)
        Each complete row's component of ``family``.
    response, trials : ndarray
        The rows' responses (and trials, or ``None``).
    label : str
        The response, for messages.

    Raises
    ------
    DataError
        A family of the column without complete rows, a response outside its row's family.
    """
    for position, (member, link) in enumerate(family.components):
        rows = components == position
        if not np.any(rows):
            raise DataError(
                f"no complete rows of family {member.name!r} (link {link.name!r}) in column "
                f"{family.column!r} after dropping rows with missing values"
            )
        member_trials = None
        if member.uses_trials:
            member_trials = trials[rows] if trials is not None else np.ones(int(rows.sum()))
        validate_response(member, response[rows], member_trials, f"{label} (rows of family {member.name})")
    owners = _aux_owners(family)
    position = {name: k for k, name in enumerate(owners)}
    member_names = [member.name for member, _ in family.components]
    dispersion_index = np.array([position.get(member_names[c], 0) for c in components], dtype=np.int64)
    return {
        "family_index": components,
        "dispersion_index": dispersion_index if owners else None,
        "dispersion_names": tuple(owners),
        "dispersion_labels": tuple(owners.values()),
    }


def _aux_owners(family: MixedFamily) -> dict[str, str]:
    """Family name -> the name of its auxiliary parameter, for the families that have one."""
    members: dict[str, Family] = {}
    for member, _ in family.components:
        if member.aux is not None:
            members.setdefault(member.name, member)
    names = [member.aux.name for member in members.values()]
    return {
        name: member.aux.name if names.count(member.aux.name) == 1 else f"{member.aux.name}[{name}]"
        for name, member in members.items()
    }


def column_loadings(
    measurement: Measurement, data: pd.DataFrame, standardised: bool, loadings: list[LoadingEntry]
) -> tuple[np.ndarray, np.ndarray]:
    """Covariate and loading of each row for ``F@id =~ z1 + z2 + ...`` with numeric columns (long data).

    A row's coefficient of ``F`` is ``lambda_k * z_k`` for the one column
    ``z_k`` that is not zero in that row (gllamm's ``eqs()``): equations of
    different response types share ``F`` with a loading each, e.g.
    ``S@id =~ t_y + d_drop`` is a random slope of time in the outcome rows
    (``t_y`` = time there, 0 elsewhere) with a free loading in the dropout rows
    (``d_drop`` = 1 there). The first loading is fixed at 1 unless ``standardised``
    or ``NA*z1``; ``c*z`` fixes a loading at ``c``, ``a*z`` labels it. Appends the
    free loadings to ``loadings``.

    Returns
    -------
    covariate : ndarray, shape (n_rows,)
        Each row's value of its nonzero column (times a fixed loading), 0 where all are 0.
    loading_index : ndarray of int, shape (n_rows,)
        Position of the row's free loading in ``loadings``, -1 where it is fixed.

    Raises
    ------
    DataError
        A row with two nonzero columns, a column that is zero everywhere.
    """
    statement = f"'{measurement.latent}@{measurement.level} =~ ...'"
    values = np.column_stack([evaluate(i.name, data, statement) for i in measurement.indicators])
    nonzero = values != 0
    shared = np.flatnonzero(nonzero.sum(axis=1) > 1)
    if shared.size:
        both = [i.name for i, hit in zip(measurement.indicators, nonzero[shared[0]]) if hit]
        raise DataError(
            f"{statement}: row {int(shared[0])} is nonzero in {both}; with several loading columns each row "
            "may be nonzero in one of them (e.g. interactions with equation dummies)"
        )
    covariate = values.sum(axis=1)
    loading_index = np.full(len(data), -1, dtype=np.int64)
    for k, indicator in enumerate(measurement.indicators):
        rows = nonzero[:, k]
        if not rows.any():
            raise DataError(f"{statement}: column {indicator.name!r} is zero in every row; it loads on nothing")
        if indicator.fixed is not None or (k == 0 and not standardised and not indicator.force_free):
            covariate[rows] *= 1.0 if indicator.fixed is None else indicator.fixed
            continue
        loading_index[rows] = len(loadings)
        loadings.append(LoadingEntry(measurement.latent, indicator.name, label=indicator.label))
    return covariate, loading_index
