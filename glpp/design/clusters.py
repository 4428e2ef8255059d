"""Clusters of grouping columns: codes per row, nesting order of the groupings, parent clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd

from glpp.errors import DataError

__all__ = ["Clusters", "cluster_codes", "nest_levels", "parent_index"]

#: a grouping's cluster (0..n_clusters-1) of each row, and the grouping value(s) of each cluster
Clusters = tuple[np.ndarray, list]


def cluster_codes(data: pd.DataFrame, group: tuple[str, ...]) -> Clusters:
    """Each row's cluster of the grouping ``group`` (one column, or several joined: ``a:b``).

    Parameters
    ----------
    data : DataFrame
    group : tuple of str
        The grouping columns.

    Returns
    -------
    codes : ndarray of int, shape (n_rows,)
    labels : list
        The grouping value(s) of each cluster (sorted for one column, in
        order of appearance for several).
    """
    keys = data[list(group)]
    codes, uniques = pd.MultiIndex.from_frame(keys).factorize() if len(group) > 1 else pd.factorize(keys.iloc[:, 0], sort=True)
    labels = list(uniques)
    return np.asarray(codes, dtype=np.int64), labels


def nest_levels(groups: dict[tuple[str, ...], Clusters], wide: bool = False) -> list[tuple[str, ...]]:
    """Order groupings from lowest to highest level and check nesting.

    Parameters
    ----------
    groups : dict
        The clusters of each grouping.
    wide : bool
        The groupings are columns of a wide-data measurement model (the
        remedy for ids that repeat across clusters is different).

    Returns
    -------
    list of tuple of str
        The groupings, most clusters (lowest level) first.

    Raises
    ------
    DataError
        A cluster of one grouping lies in two clusters of the next.
    """
    order = sorted(groups, key=lambda group: (-len(groups[group][1]), -len(group)))
    for lower, upper in zip(order[:-1], order[1:]):
        lower_codes, lower_labels = groups[lower]
        upper_codes, _ = groups[upper]
        parents = np.full(len(lower_labels), -1, dtype=np.int64)
        parents[lower_codes] = upper_codes
        conflict = parents[lower_codes] != upper_codes
        if np.any(conflict):
            row = int(np.flatnonzero(conflict)[0])
            remedy = (
                f"give the {':'.join(lower)!r} clusters ids that are unique across {':'.join(upper)!r} "
                f"(e.g. join the two columns' values)"
                if wide
                else f"write ({':'.join(upper)}/{lower[-1]})"
            )
            raise DataError(
                f"grouping {':'.join(lower)!r} is not nested in {':'.join(upper)!r}: "
                f"cluster {lower_labels[lower_codes[row]]!r} appears in more than one "
                f"{':'.join(upper)!r} unit. Crossed random effects are not supported; "
                f"if ids repeat across {':'.join(upper)!r} units, {remedy}."
            )
    return order


def parent_index(lower: Clusters, upper_codes: np.ndarray) -> np.ndarray:
    """For each cluster of a grouping, its cluster in the grouping one level up (nesting checked).

    Parameters
    ----------
    lower : (codes, labels)
        The lower grouping's clusters.
    upper_codes : ndarray of int, shape (n_rows,)
        Each row's cluster of the upper grouping.
    """
    codes, labels = lower
    parents = np.zeros(len(labels), dtype=np.int64)
    parents[codes] = upper_codes
    return parents
