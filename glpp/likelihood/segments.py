"""Sums within clusters, and their transpose (each member gets its cluster's value).

Every likelihood graph sums rows within clusters (and clusters within their
ancestors), at every quadrature node and context: ``values`` of shape
``(N, ...)`` to ``(J, ...)``; and it gives each row its cluster's latent
values, ``(J, ...)`` to ``(N, ...)``, whose gradient is again a sum within
clusters. :class:`Segments` does both by one scatter-add into the raveled
result (``x[flat_index] += values`` on a vector), whose gradient is a gather
from a vector and the other way round:

- safe with extreme values: a cluster's sum holds its own members only, so a
  row log-density of -1e140 at an extreme node (cloglog or log links) leaves
  every other cluster's sum as it is (a difference of cumulative sums over
  the rows would wipe out all later clusters; it needed a floor on the row
  log-densities);
- compiled: pytensor has C code for the scatter-add into a vector (on an
  array of two or more axes it falls back to numpy's ``add.at``, in Python);
- fast: measured on toenail (two levels, 30 nodes) and guImmun (three levels,
  7 x 7 nodes), ms per log-likelihood and gradient evaluation, modes
  included, against the cumulative sums with a floor and the plain
  scatter-add on arrays (see the commit that made this module).

The members must be sorted by group (rows by cluster; clusters by ancestor):
:func:`segment_ends` gives each group's last member, which also fixes the
number of groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

__all__ = ["Segments", "segment_ends"]


def segment_ends(sorted_index: np.ndarray, n_groups: int) -> np.ndarray:
    """Position of the last member of each group (members sorted by group; no group empty).

    Raises
    ------
    ValueError
        If a group has no members (every cluster comes from the data: a design bug).
    """
    counts = np.bincount(sorted_index, minlength=n_groups)
    if np.any(counts == 0):
        raise ValueError("a cluster without rows or child clusters")
    return np.cumsum(counts) - 1


@dataclass(frozen=True)
class Segments:
    """Members (rows, or clusters within their ancestors) grouped by a sorted index.

    Attributes
    ----------
    index : TensorVariable
        ``index[i]``: the group of member ``i`` (int64, non-decreasing).
    last : TensorVariable
        ``last[g]``: the position of group ``g``'s last member (:func:`segment_ends`).
    """

    index: TensorVariable
    last: TensorVariable

    @property
    def n_groups(self) -> TensorVariable:
        return self.last.shape[0]

    def _flat_index(self, trailing: tuple) -> tuple[TensorVariable, TensorVariable]:
        """Positions in the raveled ``(groups, *trailing)`` array of each member's entries, ``(N, width)``."""
        width = trailing[0]
        for size in trailing[1:]:
            width = width * size
        return self.index[:, None] * width + pt.arange(width)[None, :], width

    def sum(self, values: TensorVariable) -> TensorVariable:
        """Sum ``values`` (first axis: the members) within groups: ``(N, ...)`` -> ``(groups, ...)``."""
        if values.ndim == 1:
            return pt.inc_subtensor(pt.zeros((self.n_groups,), dtype=values.dtype)[self.index], values)
        trailing = tuple(values.shape[axis] for axis in range(1, values.ndim))
        flat_index, width = self._flat_index(trailing)
        flat = values.reshape((values.shape[0], width))
        total = pt.inc_subtensor(pt.zeros((self.n_groups * width,), dtype=values.dtype)[flat_index], flat)
        return total.reshape((self.n_groups, *trailing))

    def gather(self, values: TensorVariable) -> TensorVariable:
        """Each member's entry of a per-group ``values``: ``(groups, ...)`` -> ``(N, ...)``."""
        if values.ndim == 1:
            return values[self.index]
        trailing = tuple(values.shape[axis] for axis in range(1, values.ndim))
        flat_index, _ = self._flat_index(trailing)
        return values.reshape((-1,))[flat_index].reshape((self.index.shape[0], *trailing))
