"""Sums within clusters, and their transpose (each member gets its cluster's value).

Every likelihood graph sums rows within clusters (and clusters within their
ancestors), at every quadrature node and context: ``values`` of shape
``(N, ...)`` to ``(J, ...)``; and it gives each row its cluster's latent
values, ``(J, ...)`` to ``(N, ...)``, whose gradient is again a sum within
clusters. :class:`Segments` does both with two small ops, each the other's
gradient: :class:`SegmentSum` (numpy's ``add.reduceat`` over the contiguous
segments of sorted members) and :class:`SegmentGather` (``take`` along the
first axis). They run numpy's compiled loops directly on arrays of any number
of axes and need no C module of their own:

- cold start: the scatter-add into a raveled vector that they replace needed
  about a dozen extra C modules on a first fit (index arithmetic, ``ARange``,
  ``Reshape``, the scatter-add and gather for each broadcast pattern), each
  costing ~1 s of g++ with an empty cache (LIKELIHOOD-NOTES, "Cold start");
- safe with extreme values: a cluster's sum holds its own members only, so a
  row log-density of -1e140 at an extreme node (cloglog or log links) leaves
  every other cluster's sum as it is (a difference of cumulative sums over
  the rows would wipe out all later clusters; it needed a floor on the row
  log-densities);
- fast: a sequential sum over contiguous memory, as fast per evaluation as
  the compiled scatter-add on toenail (``benchmarks/bench_toenail.py``).

The members must be sorted by group (rows by cluster; clusters by ancestor),
and no group may be empty: :func:`segment_ends` gives each group's last
member, which also fixes the number of groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.tensor import TensorVariable

__all__ = ["SegmentGather", "SegmentSum", "Segments", "segment_ends", "register_jax"]


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


def _segment_starts(last: np.ndarray) -> np.ndarray:
    starts = np.empty_like(last)
    if len(last):
        starts[0] = 0
        starts[1:] = last[:-1] + 1
    return starts


class _SegmentOp(Op):
    """``(values, index, last) -> result``: the index inputs are data, without gradient."""

    __props__ = ()

    def make_node(self, values, index, last):
        values = pt.as_tensor_variable(values)
        index = pt.as_tensor_variable(index)
        last = pt.as_tensor_variable(last)
        if values.ndim < 1 or index.ndim != 1 or last.ndim != 1:
            raise TypeError("values must have a first axis; index and last must be vectors")
        output = pt.tensor(dtype=values.dtype, shape=(None, *values.type.shape[1:]))
        return Apply(self, [values, index, last], [output])

    def connection_pattern(self, node):
        return [[True], [False], [False]]

    def _grad_of(self, values, index, last, output_gradient):
        raise NotImplementedError

    def pullback(self, inputs, outputs, cotangents):
        values, index, last = inputs
        return [self._grad_of(values, index, last, cotangents[0]), disconnected_type(), disconnected_type()]

    def pushforward(self, inputs, outputs, tangents):
        # linear in ``values``
        if isinstance(tangents[0].type, DisconnectedType):
            return [disconnected_type()]
        return [self(tangents[0], *inputs[1:])]


class SegmentSum(_SegmentOp):
    """Sums of ``values`` (first axis: members sorted by group) within groups: ``(N, ...)`` -> ``(groups, ...)``."""

    def perform(self, node, inputs, output_storage):
        values, _, last = inputs
        if len(last) == 0:
            total = np.zeros((0, *values.shape[1:]), dtype=values.dtype)
        else:
            total = np.add.reduceat(values, _segment_starts(last), axis=0)
        output_storage[0][0] = np.asarray(total, dtype=node.outputs[0].dtype)

    def infer_shape(self, node, shapes):
        values_shape, _, last_shape = shapes
        return [(last_shape[0], *values_shape[1:])]

    def _grad_of(self, values, index, last, output_gradient):
        return segment_gather(output_gradient, index, last)


class SegmentGather(_SegmentOp):
    """Each member's entry of per-group ``values``: ``(groups, ...)`` -> ``(N, ...)``."""

    def perform(self, node, inputs, output_storage):
        values, index, _ = inputs
        output_storage[0][0] = np.take(values, index, axis=0)

    def infer_shape(self, node, shapes):
        values_shape, index_shape, _ = shapes
        return [(index_shape[0], *values_shape[1:])]

    def _grad_of(self, values, index, last, output_gradient):
        return segment_sum(output_gradient, index, last)


segment_sum = SegmentSum()
segment_gather = SegmentGather()


def register_jax() -> None:
    """The two ops in pytensor's JAX backend (``jax.ops.segment_sum`` and ``take``).

    Called by :func:`glpp.likelihood.backend.jax_available` (importing jax costs a second,
    so it is not done at import).
    """
    import jax
    from pytensor.link.jax.dispatch import jax_funcify

    @jax_funcify.register(SegmentSum)
    def _segment_sum_jax(op, node=None, **kwargs):
        def segment_sum_jax(values, index, last):
            return jax.ops.segment_sum(values, index, num_segments=last.shape[0], indices_are_sorted=True)

        return segment_sum_jax

    @jax_funcify.register(SegmentGather)
    def _segment_gather_jax(op, node=None, **kwargs):
        def segment_gather_jax(values, index, last):
            return jax.numpy.take(values, index, axis=0)

        return segment_gather_jax



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

    def sum(self, values: TensorVariable) -> TensorVariable:
        """Sum ``values`` (first axis: the members) within groups: ``(N, ...)`` -> ``(groups, ...)``."""
        return segment_sum(values, self.index, self.last)

    def gather(self, values: TensorVariable) -> TensorVariable:
        """Each member's entry of a per-group ``values``: ``(groups, ...)`` -> ``(N, ...)``."""
        return segment_gather(values, self.index, self.last)
