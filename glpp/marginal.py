"""Design -> pytensor marginal log-likelihood by adaptive Gauss-Hermite quadrature.

For a two-level model with ``d`` latents per cluster, standardised so that
``u_j ~ N(0, I_d)`` and the latent effects are ``L u_j`` (``L`` the Cholesky
factor of their covariance), row ``r`` of cluster ``j`` has linear predictor

    eta_r = x_r' beta + offset_r + (z_r' L) u_j.

Cluster ``j`` contributes ``log integral prod_r f(y_r | eta_r) phi_d(u) du``.
Adaptive quadrature substitutes ``u = m_j + A_j z`` where ``m_j`` is the mode
of the integrand and ``A_j A_j' `` the inverse of its negative Hessian there,
and sums a standard Gauss-Hermite rule in ``z``.

Two compiled functions share one graph builder (see LIKELIHOOD-NOTES.md):

- ``mode_terms(theta, modes)``: per-cluster log-posterior, its gradient and
  negative Hessian in ``u``; a Newton search with step-halving in numpy
  (:mod:`glpp.optim`) finds the modes, vectorised over clusters.
- ``loglik(theta, modes, rule)``: the quadrature log-likelihood and its exact
  gradient. Inside the graph one Newton step is taken from the (input,
  hence constant) modes: at convergence it does not move them, and it
  carries the implicit derivative ``dm/dtheta``, so the gradient is the total
  derivative of the adaptive approximation.

All derivatives of the family's log-density with respect to ``eta`` come
from pytensor's autodiff of the one definition in :mod:`glpp.families`.
Clusters are summed with one scatter-add; there are no Python loops over
clusters or nodes, only over the (few) latent dimensions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.gradient import zero_grad
from pytensor.tensor import TensorVariable

from glpp.design import Design
from glpp.families import Family, Link
from glpp.params import ParameterLayout

__all__ = ["TwoLevelFunctions", "compile_two_level", "data_arguments", "COMPILE_MODE"]

#: pytensor mode of every compiled likelihood function. The C backend ("CVM")
#: compiles fewer, cached modules than numba here and evaluates faster.
COMPILE_MODE = os.environ.get("GLPP_PYTENSOR_MODE", "CVM")

Matrix = list[list[TensorVariable]]


@dataclass(frozen=True)
class TwoLevelFunctions:
    """Compiled functions of one model structure.

    Data arrays are inputs (not constants), so one compilation serves any
    data set, any number of quadrature nodes and any number of clusters.

    Attributes
    ----------
    mode_terms : callable
        ``(theta, modes, *data) -> (log_posterior[J], score[J, d], neg_hessian[J, d, d])``.
    loglik_and_grad : callable
        ``(theta, modes, nodes, log_weights, signs, *data) -> (loglik, grad, cluster_loglik[J])``.
    posterior_moments : callable
        ``(theta, modes, nodes, log_weights, signs, *data) -> (mean[J, d], covariance[J, d, d])``
        of the standardised latents ``u``.
    n_latents : int
    adaptive : bool
    """

    mode_terms: Callable
    loglik_and_grad: Callable
    posterior_moments: Callable
    n_latents: int
    adaptive: bool


def data_arguments(design: Design) -> list[np.ndarray]:
    """The data inputs of the compiled functions, in order."""
    trials = design.trials if design.trials is not None else np.ones_like(design.response)
    level = design.levels[0]
    return [
        design.response,
        trials,
        design.fixed,
        design.offset,
        level.covariates,
        level.cluster_index,
    ]


def _cholesky(matrix: Matrix, size: int) -> Matrix:
    """Lower Cholesky factor of a batch of small SPD matrices (entries are vectors)."""
    factor: Matrix = [[pt.zeros_like(matrix[0][0]) for _ in range(size)] for _ in range(size)]
    for i in range(size):
        for j in range(i + 1):
            total = matrix[i][j]
            for k in range(j):
                total = total - factor[i][k] * factor[j][k]
            factor[i][j] = pt.sqrt(total) if i == j else total / factor[j][j]
    return factor


def _solve_lower(factor: Matrix, rhs: list[TensorVariable], size: int) -> list[TensorVariable]:
    solution: list[TensorVariable] = []
    for i in range(size):
        total = rhs[i]
        for k in range(i):
            total = total - factor[i][k] * solution[k]
        solution.append(total / factor[i][i])
    return solution


def _solve_upper_transposed(factor: Matrix, rhs: list[TensorVariable], size: int) -> list[TensorVariable]:
    """Solve ``factor' x = rhs`` for lower-triangular ``factor``."""
    solution: list[TensorVariable | None] = [None] * size
    for i in reversed(range(size)):
        total = rhs[i]
        for k in range(i + 1, size):
            total = total - factor[k][i] * solution[k]
        solution[i] = total / factor[i][i]
    return solution  # type: ignore[return-value]


class _Graph:
    """Symbolic pieces shared by the compiled functions of one structure."""

    def __init__(self, layout: ParameterLayout, family: Family, link: Link):
        self.family = family
        self.link = link
        self.n_latents = layout.level_sizes[0]
        self.theta = pt.vector("theta")
        self.modes = pt.matrix("modes")
        self.response = pt.vector("response")
        self.trials = pt.vector("trials")
        self.fixed = pt.matrix("fixed")
        self.offset = pt.vector("offset")
        self.covariates = pt.matrix("covariates")
        self.cluster_index = pt.vector("cluster_index", dtype="int64")
        self.nodes = pt.matrix("nodes")
        self.log_weights = pt.vector("log_weights")
        self.signs = pt.vector("signs")
        beta, factors, self.log_dispersion = layout.unpack(self.theta)
        self.fixed_eta = pt.dot(self.fixed, beta) + self.offset
        # loadings of the standardised latents on each row: z_r' L
        self.loadings = pt.dot(self.covariates, factors[0])
        self.n_clusters = self.modes.shape[0]

    @property
    def data_inputs(self) -> list[TensorVariable]:
        return [self.response, self.trials, self.fixed, self.offset, self.covariates, self.cluster_index]

    def row_logp(self, eta: TensorVariable, response, trials) -> TensorVariable:
        return self.family.logp(response, eta, self.link, self.log_dispersion, trials)

    def cluster_sum(self, values: TensorVariable) -> TensorVariable:
        """Sum rows (first axis) within clusters."""
        shape = (self.n_clusters,) + tuple(values.shape[i] for i in range(1, values.ndim))
        return pt.inc_subtensor(pt.zeros(shape)[self.cluster_index], values)

    def mode_terms(self, modes_list: list[TensorVariable]):
        """Log-posterior, score and negative Hessian of each cluster at ``modes``."""
        d = self.n_latents
        latent_part = sum(self.loadings[:, a] * modes_list[a][self.cluster_index] for a in range(d))
        eta = self.fixed_eta + latent_part
        row_logp = self.row_logp(eta, self.response, self.trials)
        first = pt.grad(row_logp.sum(), eta)
        second = pt.grad(first.sum(), eta)
        weight = -second
        columns = [first[:, None] * self.loadings]
        pairs = [(a, b) for a in range(d) for b in range(a + 1)]
        columns.append(pt.stack([weight * self.loadings[:, a] * self.loadings[:, b] for a, b in pairs], axis=1))
        columns.append(row_logp[:, None])
        sums = self.cluster_sum(pt.concatenate(columns, axis=1))
        score = [sums[:, a] - modes_list[a] for a in range(d)]
        neg_hessian: Matrix = [[None] * d for _ in range(d)]  # type: ignore[list-item]
        for position, (a, b) in enumerate(pairs):
            value = sums[:, d + position] + (1.0 if a == b else 0.0)
            neg_hessian[a][b] = value
            neg_hessian[b][a] = value
        log_posterior = sums[:, -1] - 0.5 * sum(mode**2 for mode in modes_list)
        return log_posterior, score, neg_hessian

    def node_values(self, adaptive: bool):
        """Latent values at the nodes, ``u[a]`` of shape (J, K), and log|A_j|."""
        d = self.n_latents
        modes_list = [self.modes[:, a] for a in range(d)]
        if not adaptive:
            ones = pt.ones((self.n_clusters, 1))
            return [ones * self.nodes[:, a][None, :] for a in range(d)], pt.zeros((self.n_clusters,))
        _, score, neg_hessian = self.mode_terms(modes_list)
        factor = _cholesky(neg_hessian, d)
        step = _solve_upper_transposed(factor, _solve_lower(factor, score, d), d)
        centre = [modes_list[a] + step[a] for a in range(d)]
        _, _, neg_hessian_at_centre = self.mode_terms(centre)
        factor = _cholesky(neg_hessian_at_centre, d)
        # u = centre + A z with A = factor^{-T}
        scaled = _solve_upper_transposed(
            [[entry[:, None] for entry in row] for row in factor],
            [self.nodes[:, a][None, :] for a in range(d)],
            d,
        )
        values = [centre[a][:, None] + scaled[a] for a in range(d)]
        log_scale = -sum(pt.log(factor[a][a]) for a in range(d))
        return values, log_scale

    def node_log_integrand(self, adaptive: bool):
        """``log(w_k / phi(z_k)) + log f(y_j | u_jk) + log phi(u_jk)`` (J, K), log|A| (J), u."""
        d = self.n_latents
        values, log_scale = self.node_values(adaptive)
        latent_part = sum(self.loadings[:, a][:, None] * values[a][self.cluster_index] for a in range(d))
        eta = self.fixed_eta[:, None] + latent_part
        row_logp = self.row_logp(eta, self.response[:, None], self.trials[:, None])
        conditional = self.cluster_sum(row_logp)
        prior = -0.5 * sum(value**2 for value in values) - 0.5 * d * np.log(2.0 * np.pi)
        return conditional + prior + self.log_weights[None, :], log_scale, values

    def cluster_loglik(self, adaptive: bool) -> TensorVariable:
        log_terms, log_scale, _ = self.node_log_integrand(adaptive)
        peak = pt.max(log_terms, axis=1, keepdims=True)
        peak = pt.switch(pt.isfinite(peak), peak, 0.0)
        total = pt.sum(self.signs[None, :] * pt.exp(log_terms - zero_grad(peak)), axis=1)
        return pt.log(total) + zero_grad(peak[:, 0]) + log_scale

    def posterior_moments(self, adaptive: bool):
        log_terms, _, values = self.node_log_integrand(adaptive)
        weights = pt.exp(log_terms - pt.max(log_terms, axis=1, keepdims=True)) * self.signs[None, :]
        weights = weights / weights.sum(axis=1, keepdims=True)
        d = self.n_latents
        mean = [pt.sum(weights * values[a], axis=1) for a in range(d)]
        covariance = pt.stack(
            [
                pt.stack([pt.sum(weights * (values[a] - mean[a][:, None]) * (values[b] - mean[b][:, None]), axis=1) for b in range(d)], axis=1)
                for a in range(d)
            ],
            axis=1,
        )
        return pt.stack(mean, axis=1), covariance


def compile_two_level(layout: ParameterLayout, family: Family, link: Link, adaptive: bool = True) -> TwoLevelFunctions:
    """Compile the functions of a two-level model with ``layout``'s structure."""
    graph = _Graph(layout, family, link)
    d = graph.n_latents
    modes_list = [graph.modes[:, a] for a in range(d)]
    log_posterior, score, neg_hessian = graph.mode_terms(modes_list)
    mode_terms = pytensor.function(
        [graph.theta, graph.modes, *graph.data_inputs],
        [
            log_posterior,
            pt.stack(score, axis=1),
            pt.stack([pt.stack(row, axis=1) for row in neg_hessian], axis=1),
        ],
        on_unused_input="ignore",
        mode=COMPILE_MODE,
    )
    quadrature_inputs = [graph.theta, graph.modes, graph.nodes, graph.log_weights, graph.signs, *graph.data_inputs]
    cluster_loglik = graph.cluster_loglik(adaptive)
    total = cluster_loglik.sum()
    loglik_and_grad = pytensor.function(
        quadrature_inputs,
        [total, pt.grad(total, graph.theta), cluster_loglik],
        on_unused_input="ignore",
        mode=COMPILE_MODE,
    )

    def posterior_moments(*arguments):
        # compiled on first use: only EB predictions need it
        if not compiled_moments:
            mean, covariance = graph.posterior_moments(adaptive)
            compiled_moments.append(
                pytensor.function(quadrature_inputs, [mean, covariance], on_unused_input="ignore", mode=COMPILE_MODE)
            )
        return compiled_moments[0](*arguments)

    compiled_moments: list[Callable] = []
    return TwoLevelFunctions(mode_terms, loglik_and_grad, posterior_moments, d, adaptive)
