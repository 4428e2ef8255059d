"""The levels of latent variables of a measurement model on wide data.

The units (rows of the wide data) are the lowest level: latents of
``F =~ y1 + ...`` vary over them. A latent of ``F@g =~ ...`` (or of
``F =~ ...`` in a ``level: g`` block), and the between-level residual of an
item of a ``level: g`` block, varies over the clusters of grouping column
``g``; the groupings are nested, lowest first, and each level's latents have
their own structure (:mod:`glpp.design.structure`). Each latent loads on its
items; the first loading is fixed at 1 unless ``std_lv`` or the model string
says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from glpp.design.arrays import CovarianceBlock, LevelDesign, LoadingEntry, PathEntry
from glpp.design.clusters import Clusters, cluster_codes, nest_levels, parent_index
from glpp.design.structure import latent_structure, resolve_higher_paths
from glpp.errors import DataError, SpecError
from glpp.ir import Measurement, Spec

__all__ = ["WideLevels", "grouping_columns", "loading_entries", "wide_levels"]


@dataclass(frozen=True)
class WideLevels:
    """The latent part of a wide-data design.

    Attributes
    ----------
    levels : list of LevelDesign
        Levels with latents, lowest (``"unit"``) first, each with its clusters
        and parent clusters.
    paths : list of PathEntry
        Structural paths, those from higher levels resolved.
    loadings : list of LoadingEntry
    covariate_names : list of str
        Observed predictors of latents, in order of first appearance.
    scaled : set of str
        Latents with a loading fixed at a non-zero value.
    unit_variance : set of str
        Latents whose variance ``F ~~ 1*F`` fixes at 1.
    """

    levels: list[LevelDesign]
    paths: list[PathEntry]
    loadings: list[LoadingEntry]
    covariate_names: list[str]
    scaled: set[str]
    unit_variance: set[str]


def grouping_columns(spec: Spec) -> list[str]:
    """Grouping columns of a wide-data measurement model: latents' levels and ``level:`` blocks, in order."""
    columns = [m.level for m in spec.measurements if m.level is not None]
    columns += [residual.level for residual in spec.level_residuals] + list(spec.declared_levels)
    return list(dict.fromkeys(columns))


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


def wide_levels(
    spec: Spec, units: pd.DataFrame, items: list[str], unit_index: np.ndarray, item_index: np.ndarray, std_lv: bool
) -> WideLevels:
    """The levels of latents of a wide-data model: the units, then each grouping column's clusters.

    Parameters
    ----------
    spec : Spec
    units : DataFrame
        The complete units, one row each.
    items : list of str
        The items, in design order.
    unit_index, item_index : ndarray of int, shape (n_units * n_items,)
        Unit and item of each (unit, item) row.
    std_lv : bool
        Fix every latent's variance at 1 and free all loadings.

    Raises
    ------
    DataError
        A grouping with fewer than two clusters, groupings that are not nested.
    SpecError
        A latent defined twice, a structural statement that does not fit the
        levels (:func:`glpp.design.structure.latent_structure`).

    Notes
    -----
    A level without latents (neither factors nor item residuals) is left out.
    """
    latents = [m.latent for m in spec.measurements]
    if len(set(latents)) != len(latents):
        raise SpecError("a latent variable is defined by two '=~' statements; list all its items in one")
    clusterings: list[tuple[str | None, np.ndarray, list]] = [(None, np.arange(len(units)), list(range(len(units))))]
    clusterings += _wide_groupings(spec, units)
    level_names = {column: "unit" if column is None else column for column, _, _ in clusterings}
    level_of = {m.latent: level_names[m.level] for m in spec.measurements}
    level_rank = {level_names[column]: rank for rank, (column, _, _) in enumerate(clusterings)}
    loadings: list[LoadingEntry] = []
    paths: list[PathEntry] = []
    covariate_names: list[str] = []
    scaled: set[str] = set()
    unit_variance: set[str] = set()
    levels: list[LevelDesign] = []
    kept: list[Clusters] = []
    for column, codes, labels in clusterings:
        factors = [m for m in spec.measurements if m.level == column]
        residual_items = [residual.item for residual in spec.level_residuals if residual.level == column]
        if not factors and not residual_items:
            continue
        elsewhere = {latent: level for latent, level in level_of.items() if level != level_names[column]}
        higher = {latent for latent, level in level_of.items() if level_rank[level] > level_rank[level_names[column]]}
        level, level_paths, level_unit_variance = _wide_level(
            spec, factors, residual_items, items, item_index, std_lv, elsewhere, higher, len(levels),
            loadings, covariate_names, scaled,
        )
        levels.append(replace(level, name=level_names[column], cluster_index=codes[unit_index], cluster_labels=labels))
        kept.append((codes, labels))
        paths += level_paths
        unit_variance |= level_unit_variance
    for number in range(len(levels) - 1):
        # cluster -> its cluster one level up (nesting checked by _wide_groupings)
        levels[number] = replace(levels[number], parent_index=parent_index(kept[number], kept[number + 1][0]))
    return WideLevels(levels, resolve_higher_paths(paths, levels), loadings, covariate_names, scaled, unit_variance)


def _wide_groupings(spec: Spec, units: pd.DataFrame) -> list[tuple[str, np.ndarray, list]]:
    """``(column, cluster of each unit, cluster labels)`` of each grouping column, lowest level first.

    Raises
    ------
    DataError
        A grouping with fewer than two clusters, or groupings that are not
        nested (a cluster of one inside two clusters of another).
    """
    groups: dict[tuple[str, ...], Clusters] = {}
    for column in grouping_columns(spec):
        codes, labels = cluster_codes(units, (column,))
        if len(labels) < 2:
            raise DataError(
                f"grouping column {column!r} has {len(labels)} cluster; a latent varying over its clusters needs "
                "at least two"
            )
        groups[(column,)] = (codes, labels)
    order = nest_levels(groups, wide=True) if len(groups) > 1 else list(groups)
    return [(group[0], *groups[group]) for group in order]


def _wide_level(
    spec: Spec,
    factors: list[Measurement],
    residual_items: list[str],
    items: list[str],
    item_index: np.ndarray,
    std_lv: bool,
    elsewhere: dict[str, str],
    higher: set[str],
    level_number: int,
    loadings: list[LoadingEntry],
    covariate_names: list[str],
    scaled: set[str],
) -> tuple[LevelDesign, list[PathEntry], set[str]]:
    """The latents of one level of a wide-data measurement model: its factors, then its item residuals.

    Appends the level's loadings to ``loadings``, its observed latent
    predictors to ``covariate_names`` and its latents with a fixed loading
    to ``scaled``. Returns the level (clusters still unset), its paths and
    its latents with a unit variance.
    """
    names = [m.latent for m in factors]
    structure = latent_structure(spec, names, items=set(items), elsewhere=elsewhere, higher=higher)
    unit_variance = {names[p] for positions, unit in structure.blocks if unit for p in positions}
    covariates = np.zeros((len(item_index), len(names) + len(residual_items)))
    loading_index = np.full(covariates.shape, -1, dtype=np.int64)
    for a, measurement in enumerate(factors):
        indicators = [indicator.name for indicator in measurement.indicators]
        standardised = std_lv or measurement.latent in unit_variance
        for item, fixed, label in loading_entries(measurement, indicators, standardised):
            rows = item_index == items.index(item)
            covariates[rows, a] = 1.0
            if fixed not in (None, 0.0):
                scaled.add(measurement.latent)
            if fixed == 1.0:
                continue
            loading_index[rows, a] = len(loadings)
            loadings.append(LoadingEntry(measurement.latent, item, fixed, label))
    for b, item in enumerate(residual_items):
        covariates[item_index == items.index(item), len(names) + b] = 1.0
    blocks = [
        CovarianceBlock(f"({', '.join(names[p] for p in positions)})", positions, unit or std_lv)
        for positions, unit in structure.blocks
    ]
    blocks += [CovarianceBlock(f"({item})", (len(names) + b,)) for b, item in enumerate(residual_items)]
    paths = []
    for dependent, predictor_name, kind, predictor, path_label in structure.paths:
        if kind == "covariate":
            if predictor_name not in covariate_names:
                covariate_names.append(predictor_name)
            predictor = covariate_names.index(predictor_name)
        paths.append(PathEntry(names[dependent], predictor_name, kind, dependent, predictor, path_label, level_number))
    level = LevelDesign(
        name="",
        cluster_index=item_index,
        cluster_labels=[],
        parent_index=None,
        covariates=covariates,
        latent_names=tuple(names + residual_items),
        blocks=tuple(blocks),
        loading_index=loading_index,
        factors=tuple(names),
    )
    return level, paths, unit_variance
