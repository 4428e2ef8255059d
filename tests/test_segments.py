"""Sums within clusters (glpp.likelihood.segments) against numpy."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt

from glpp.likelihood.segments import Segments, segment_ends
from glpp.likelihood.two_level import COMPILE_MODE

#: float64 sums of a handful of terms
TOLERANCE = 1e-12


def _segments_function(values_ndim: int):
    index = pt.vector("index", dtype="int64")
    last = pt.vector("last", dtype="int64")
    values = pt.tensor("values", shape=(None,) * values_ndim)
    groups = Segments(index, last)
    total = groups.sum(values)
    spread = groups.gather(total)
    outputs = [total, spread, pt.grad(pt.sum(total**2), values), pt.grad(pt.sum(spread**3), values)]
    return pytensor.function([values, index, last], outputs, mode=COMPILE_MODE)


def test_sum_and_gather_match_numpy():
    """Sums and gathers of vectors and of arrays with trailing axes (nodes, contexts), with
    their gradients, are those of numpy's add.at and indexing."""
    index = np.array([0, 0, 1, 2, 2, 2, 3])
    last = segment_ends(index, 4)
    rng = np.random.default_rng(0)
    for shape in [(7,), (7, 3), (7, 2, 5)]:
        function = _segments_function(len(shape))
        data = rng.standard_normal(shape)
        expected = np.zeros((4,) + shape[1:])
        np.add.at(expected, index, data)
        total, spread, gradient_sum, gradient_gather = function(data, index, last)
        np.testing.assert_allclose(total, expected, atol=TOLERANCE)
        np.testing.assert_allclose(spread, expected[index], atol=TOLERANCE)
        np.testing.assert_allclose(gradient_sum, 2 * expected[index], atol=TOLERANCE)
        summed_cubes = np.zeros_like(expected)
        np.add.at(summed_cubes, index, 3 * expected[index] ** 2)
        np.testing.assert_allclose(gradient_gather, summed_cubes[index], rtol=1e-12)


def test_an_extreme_value_stays_in_its_cluster():
    """A row log-density of -1e140 (an extreme node with a cloglog or log link) must not
    change any other cluster's sum."""
    index = np.array([0, 0, 1, 1, 2, 2])
    last = segment_ends(index, 3)
    data = np.array([[-1.0, -2.0], [-3.0, -1e140], [-0.5, -0.25], [-1.5, -0.75], [-2.0, -4.0], [-1.0, -1.0]])
    total = _segments_function(2)(data, index, last)[0]
    np.testing.assert_array_equal(total[1:], [[-2.0, -1.0], [-3.0, -5.0]])
    assert total[0, 0] == -4.0 and total[0, 1] < -1e139


def test_segment_ends():
    np.testing.assert_array_equal(segment_ends(np.array([0, 0, 1, 2, 2]), 3), [1, 2, 4])
