"""Gauss-Hermite quadrature rules for integrals against N(0, I_d).

A rule approximates ``E[f(z)] = sum_k weights[k] * f(nodes[k])`` for
``z ~ N(0, I_d)``. The likelihood code centres and scales the nodes at each
cluster's posterior mode and curvature (adaptive quadrature); the rules here
are the standard ones.

- :func:`gauss_hermite`: one dimension, probabilists' Hermite nodes.
- :func:`product_rule`: tensor product, ``n ** d`` nodes.
- :func:`sparse_rule`: Smolyak sparse grid built from Gauss-Hermite rules of
  1, 3, 5, ... nodes; far fewer nodes for d >= 2 and exact for polynomials of
  total degree up to ``2 * level - 1``; some weights are negative.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["QuadratureRule", "gauss_hermite", "product_rule", "sparse_rule", "make_rule"]


@dataclass(frozen=True)
class QuadratureRule:
    """Nodes and weights for integrals against the standard normal density.

    Attributes
    ----------
    nodes : ndarray, shape (n_nodes, n_dims)
    weights : ndarray, shape (n_nodes,)
        Sum to one. Negative for some nodes of a sparse rule.
    kind : str
        ``"product"`` or ``"sparse"``.
    n_points : int
        Points per dimension (product) or level (sparse) the rule was made for.
    """

    nodes: np.ndarray
    weights: np.ndarray
    kind: str
    n_points: int

    @property
    def n_nodes(self) -> int:
        return self.nodes.shape[0]

    @property
    def n_dims(self) -> int:
        return self.nodes.shape[1]

    def log_weights_over_density(self) -> tuple[np.ndarray, np.ndarray]:
        """``log|w_k| - log phi_d(z_k)`` and ``sign(w_k)``.

        ``E_q[f(z)] ~ sum_k w_k f(z_k)``; for an integral of ``g(u)`` du with
        ``u = m + A z`` this is ``|A| sum_k [w_k / phi_d(z_k)] g(m + A z_k)``.
        """
        squared_norm = np.sum(self.nodes**2, axis=1)
        log_density = -0.5 * squared_norm - 0.5 * self.n_dims * math.log(2.0 * math.pi)
        return np.log(np.abs(self.weights)) - log_density, np.sign(self.weights)


@lru_cache(maxsize=None)
def _gauss_hermite_cached(n_points: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_points)
    weights = weights / math.sqrt(2.0 * math.pi)
    return nodes, weights / weights.sum()


def gauss_hermite(n_points: int) -> QuadratureRule:
    """One-dimensional Gauss-Hermite rule for N(0, 1) with ``n_points`` nodes."""
    if n_points < 1:
        raise ValueError("n_points must be at least 1")
    nodes, weights = _gauss_hermite_cached(n_points)
    return QuadratureRule(nodes[:, None].copy(), weights.copy(), "product", n_points)


def product_rule(n_points: int, n_dims: int) -> QuadratureRule:
    """Tensor-product Gauss-Hermite rule with ``n_points ** n_dims`` nodes."""
    nodes_1d, weights_1d = _gauss_hermite_cached(n_points)
    grids = np.meshgrid(*([nodes_1d] * n_dims), indexing="ij")
    weight_grids = np.meshgrid(*([weights_1d] * n_dims), indexing="ij")
    nodes = np.stack([grid.ravel() for grid in grids], axis=1)
    weights = np.prod(np.stack([grid.ravel() for grid in weight_grids], axis=1), axis=1)
    return QuadratureRule(nodes, weights, "product", n_points)


def sparse_rule(level: int, n_dims: int) -> QuadratureRule:
    """Smolyak sparse-grid rule of accuracy ``level`` (>= 1) in ``n_dims``.

    Combination technique over Gauss-Hermite rules with ``2 i - 1`` nodes at
    one-dimensional level ``i``; coincident nodes are merged.
    """
    if level < 1:
        raise ValueError("level must be at least 1")
    total = level + n_dims - 1
    merged: dict[tuple[float, ...], float] = {}
    for levels in itertools.product(range(1, level + 1), repeat=n_dims):
        norm = sum(levels)
        if not (total - n_dims + 1 <= norm <= total):
            continue
        coefficient = (-1) ** (total - norm) * math.comb(n_dims - 1, total - norm)
        rules = [_gauss_hermite_cached(2 * i - 1) for i in levels]
        for combination in itertools.product(*[range(len(rule[0])) for rule in rules]):
            node = tuple(round(float(rules[k][0][j]), 12) for k, j in enumerate(combination))
            weight = coefficient * math.prod(float(rules[k][1][j]) for k, j in enumerate(combination))
            merged[node] = merged.get(node, 0.0) + weight
    kept = {node: weight for node, weight in merged.items() if abs(weight) > 1e-15}
    nodes = np.array(list(kept.keys()), dtype=float)
    weights = np.array(list(kept.values()), dtype=float)
    return QuadratureRule(nodes, weights, "sparse", level)


def make_rule(n_points: int, n_dims: int, kind: str = "product") -> QuadratureRule:
    """A rule of the given kind; ``n_points`` is the level for sparse rules."""
    if kind == "product":
        return product_rule(n_points, n_dims)
    if kind == "sparse":
        return sparse_rule(n_points, n_dims)
    raise ValueError(f"unknown quadrature rule {kind!r}; use 'product' or 'sparse'")
