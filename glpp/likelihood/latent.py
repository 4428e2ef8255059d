"""The latent-distribution seam: where a level's nodes and log-weights are made.

Each latent level of a likelihood graph integrates its latents out by a sum
over nodes: for every cluster (and every context of its ancestors' nodes)

    log integral f(y | u) p(u) du  ~  logsumexp_k [log f(y | u_k) + log w_k(u_k)] + log|A|

The graph computes ``log f(y | u_k)`` at the node values it is given; what
the nodes are, their log-weights and the log-density of the latents belong
to a :class:`LatentLevel`, so the rest of the graph does not know which
distribution a level has:

- :class:`GaussHermiteLevel`: multivariate normal latents ``u ~ N(0, I)``
  (standardised), by a Gauss-Hermite rule (product or sparse,
  :mod:`glpp.likelihood.quadrature`); adaptive: the nodes are centred at each
  cluster's mode and scaled by the Cholesky factor of its curvature there,
  ``u_k = m + A z_k`` with ``A A' = (-H)^{-1}``.
- discrete latents (latent classes, NPML mass points; a later issue): fixed
  or free locations and free log-weights, ``adaptive = False``, no centring
  and no prior density beyond the weights.

The rule's arrays are inputs of the compiled functions (not constants), so
one compilation serves every number of nodes.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import zero_grad
from pytensor.tensor import TensorVariable

from glpp.likelihood.linalg import (
    Matrix,
    Vector,
    lift,
    log_determinant,
    solve_lower_transposed,
)
from glpp.likelihood.quadrature import QuadratureRule

__all__ = ["GaussHermiteLevel", "LatentLevel", "logsumexp_signed", "padded_size", "PADDED_LOG_WEIGHT"]


#: log-weight of a padding node: its exp is exactly 0 next to any real node's, and (unlike
#: -inf) no inf - inf or 0 * inf can arise in the sums and their gradients
PADDED_LOG_WEIGHT = -1e30


def padded_size(n_nodes: int) -> int:
    """The padded number of nodes for the JAX backend: 1 stays 1 (Laplace); otherwise the next
    power of two, at least 16 (``nip="auto"``'s 7, 11, 15 share one program, 21 and 31 another)."""
    if n_nodes <= 1:
        return n_nodes
    return max(16, 1 << (n_nodes - 1).bit_length())


def logsumexp_signed(log_terms: TensorVariable, signs: TensorVariable) -> TensorVariable:
    """``log sum_k signs_k exp(log_terms[..., k])`` over the last axis (signs: sparse rules)."""
    peak = pt.max(log_terms, axis=-1, keepdims=True)
    peak = zero_grad(pt.switch(pt.isfinite(peak), peak, 0.0))
    return pt.log(pt.sum(signs * pt.exp(log_terms - peak), axis=-1)) + peak[..., 0]


class LatentLevel(Protocol):
    """How the latents of one level are integrated out (see the module docstring).

    Attributes
    ----------
    size : int
        Number of latents of the level.
    adaptive : bool
        Whether :meth:`node_values` needs each cluster's mode and curvature.
    rule_inputs : list of TensorVariable
        Symbolic inputs describing the nodes and weights (see :meth:`rule_arguments`).
    """

    size: int
    adaptive: bool
    rule_inputs: list[TensorVariable]

    def rule_arguments(self, rule: QuadratureRule) -> list[np.ndarray]:
        """The values of :attr:`rule_inputs` for ``rule``."""

    def node_values(self, centre: Vector, factor: Matrix | None) -> tuple[Vector, TensorVariable]:
        """Latent values at the nodes, one tensor ``(*batch, K)`` per latent, and ``log|A|`` ``(*batch)``.

        ``centre`` (entries of shape ``batch``) and ``factor`` (the Cholesky factor of the
        negative Hessian of the log-posterior there, entries broadcasting with ``batch``)
        place adaptive nodes; a level that is not adaptive ignores them but for the shape.
        """

    def log_terms(self, conditional: TensorVariable, values: Vector) -> TensorVariable:
        """Log integrand at the nodes: the conditional log-likelihood ``(*batch, K)`` plus log-weights and prior."""

    def integrate(self, log_terms: TensorVariable, log_scale: TensorVariable) -> TensorVariable:
        """The log integral ``(*batch)`` from :meth:`log_terms`."""

    def posterior_weights(self, log_terms: TensorVariable) -> TensorVariable:
        """Posterior probabilities of the nodes (summing to 1 over the last axis)."""


class GaussHermiteLevel:
    """Standardised multivariate normal latents by (adaptive) Gauss-Hermite quadrature.

    Parameters
    ----------
    size : int
        Number of latents.
    adaptive : bool
        Centre and scale the nodes at each cluster's mode (default), or use
        the standard rule for ``N(0, I)``.
    suffix : str
        Appended to the names of the symbolic inputs (one level of several).
    """

    def __init__(self, size: int, adaptive: bool = True, suffix: str = ""):
        self.size = size
        self.adaptive = adaptive
        self.nodes = pt.matrix(f"nodes{suffix}")
        self.log_weights = pt.vector(f"log_weights{suffix}")
        self.signs = pt.vector(f"signs{suffix}")
        self.rule_inputs = [self.nodes, self.log_weights, self.signs]

    @property
    def n_nodes(self) -> TensorVariable:
        return self.nodes.shape[0]

    @staticmethod
    def rule_arguments(rule: QuadratureRule, n_nodes: int | None = None) -> list[np.ndarray]:
        """Nodes ``(K, d)``, ``log(w_k / phi(z_k))`` and the weights' signs of ``rule``.

        ``n_nodes`` (>= the rule's) pads the rule with nodes of weight zero (log-weight
        :data:`PADDED_LOG_WEIGHT`, sign 0) that change no sum: the JAX backend compiles one
        program per shape, and padding to a few sizes saves most of the recompiles of
        ``nip="auto"`` (:func:`padded_size`).
        """
        log_weights, signs = rule.log_weights_over_density()
        arguments = [rule.nodes, log_weights, signs.astype(float)]
        extra = 0 if n_nodes is None else n_nodes - rule.n_nodes
        if extra <= 0:
            return arguments
        nodes, log_weights, signs = arguments
        return [
            np.concatenate([nodes, np.zeros((extra, nodes.shape[1]))]),
            np.concatenate([log_weights, np.full(extra, PADDED_LOG_WEIGHT)]),
            np.concatenate([signs, np.zeros(extra)]),
        ]

    def node_values(self, centre: Vector, factor: Matrix | None) -> tuple[Vector, TensorVariable]:
        batch_ndim = centre[0].ndim
        nodes = [pt.shape_padleft(self.nodes[:, a], batch_ndim) for a in range(self.size)]
        if not self.adaptive or factor is None:
            return [c[..., None] + z for c, z in zip(centre, nodes)], pt.zeros_like(centre[0])
        # u = centre + A z with A = factor^{-T}
        scaled = solve_lower_transposed(lift(factor, (Ellipsis, None)), nodes)
        return [c[..., None] + s for c, s in zip(centre, scaled)], -log_determinant(factor)

    def log_terms(self, conditional: TensorVariable, values: Vector) -> TensorVariable:
        prior = -0.5 * sum(v**2 for v in values) - 0.5 * self.size * np.log(2.0 * np.pi)
        return conditional + prior + self.log_weights

    def integrate(self, log_terms: TensorVariable, log_scale: TensorVariable) -> TensorVariable:
        return logsumexp_signed(log_terms, self.signs) + log_scale

    def posterior_weights(self, log_terms: TensorVariable) -> TensorVariable:
        weights = pt.exp(log_terms - pt.max(log_terms, axis=-1, keepdims=True)) * self.signs
        return weights / weights.sum(axis=-1, keepdims=True)
