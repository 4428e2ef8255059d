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
  (:mod:`glpp.fitting.optim`) finds the modes, vectorised over clusters.
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
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import zero_grad
from pytensor.tensor import TensorVariable

from glpp.design.build import Design
from glpp.likelihood.compile_cache import cached_functions, family_key, lazy_cached_function
from glpp.families import Family, Link, MixedFamily
from glpp.params import ParameterLayout

__all__ = ["TwoLevelFunctions", "compile_two_level", "data_arguments", "COMPILE_MODE"]

#: pytensor mode of every compiled likelihood function. The C backend ("CVM")
#: compiles fewer, cached modules than numba here and evaluates faster.
COMPILE_MODE = os.environ.get("GLPP_PYTENSOR_MODE", "CVM")
# The likelihood's matrix products are tiny (design x coefficients); without
# a BLAS pytensor still computes them correctly, so its advice is noise here.
warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS installation")



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
    """The data inputs of the compiled functions, in order (see ``_Graph.data_inputs``).

    Rows are put in cluster order (stable), which keeps the scatter-adds
    and gathers over clusters cache-friendly; only cluster-level results
    leave the graph, so the order is invisible outside.
    """
    level = design.levels[0]
    order = np.argsort(level.cluster_index, kind="stable")
    trials = design.trials if design.trials is not None else np.ones_like(design.response)
    arguments = [
        design.response[order],
        trials[order],
        design.fixed[order],
        design.offset[order],
        level.covariates[order],
        level.cluster_index[order],
    ]
    if level.loading_index is not None:
        arguments.append(level.loading_index[order] + 1)
    return arguments + optional_row_arrays(design, order)


def optional_row_arrays(design: Design, rows: np.ndarray) -> list[np.ndarray]:
    """The per-row inputs only some models have, in the graphs' order, for the rows ``rows``:
    latent covariates, dispersion index (per-item dispersions), family index (a family per item)."""
    optional = (design.latent_covariates, design.dispersion_index, design.family_index)
    return [values[rows] for values in optional if values is not None]


def _cholesky(matrix: TensorVariable, size: int) -> list[list[TensorVariable]]:
    """Lower Cholesky factor of a batch (J, d, d) of small SPD matrices.

    Unrolled over the (few) dimensions into element-wise operations on
    vectors of length J: compiled C code, no per-cluster Python loop.
    """
    factor: list[list[TensorVariable]] = [[None] * size for _ in range(size)]  # type: ignore[list-item]
    for i in range(size):
        for j in range(i + 1):
            total = matrix[:, i, j]
            for k in range(j):
                total = total - factor[i][k] * factor[j][k]
            factor[i][j] = pt.sqrt(total) if i == j else total / factor[j][j]
    return factor


def _solve_lower(factor: list[list[TensorVariable]], rhs: list[TensorVariable]) -> list[TensorVariable]:
    """Solve ``factor x = rhs`` (forward substitution); entries broadcast with ``rhs``."""
    solution: list[TensorVariable] = []
    for i in range(len(rhs)):
        total = rhs[i]
        for k in range(i):
            total = total - factor[i][k] * solution[k]
        solution.append(total / factor[i][i])
    return solution


def _solve_lower_transposed(factor: list[list[TensorVariable]], rhs: list[TensorVariable]) -> list[TensorVariable]:
    """Solve ``factor' x = rhs`` (back substitution) for lower-triangular ``factor``."""
    size = len(rhs)
    solution: list[TensorVariable] = [None] * size  # type: ignore[list-item]
    for i in reversed(range(size)):
        total = rhs[i]
        for k in range(i + 1, size):
            total = total - factor[k][i] * solution[k]
        solution[i] = total / factor[i][i]
    return solution


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
        self.extra_inputs: list[TensorVariable] = []
        self.loading_index = None
        if layout.has_loadings:
            self.loading_index = pt.matrix("loading_index", dtype="int64")
            self.extra_inputs.append(self.loading_index)
        # each row's loading on each latent's disturbance: covariate (1 for intercepts) x factor loading,
        # through the structural model eta = (I - B)^-1 (Gamma w + L u)
        row_loadings, covariate_paths = layout.latent_loadings(self.theta, self.covariates, self.loading_index)
        self.fixed_eta = pt.dot(self.fixed, beta) + self.offset
        if covariate_paths is not None:
            self.latent_covariates = pt.matrix("latent_covariates")
            self.extra_inputs.append(self.latent_covariates)
            latent_means = pt.dot(self.latent_covariates, covariate_paths.T)
            self.fixed_eta = self.fixed_eta + pt.sum(row_loadings * latent_means, axis=1)
        self.row_log_dispersion = self.log_dispersion
        if layout.has_item_dispersions:
            self.dispersion_index = pt.vector("dispersion_index", dtype="int64")
            self.extra_inputs.append(self.dispersion_index)
            self.row_log_dispersion = self.log_dispersion[self.dispersion_index]
        self.family_index = None
        if isinstance(family, MixedFamily):
            self.family_index = pt.vector("family_index", dtype="int64")
            self.extra_inputs.append(self.family_index)
        # loadings of the standardised latents on each row: z_r' L
        self.loadings = pt.dot(row_loadings, factors[0])
        self.n_clusters = self.modes.shape[0]

    @property
    def data_inputs(self) -> list[TensorVariable]:
        return [
            self.response,
            self.trials,
            self.fixed,
            self.offset,
            self.covariates,
            self.cluster_index,
            *self.extra_inputs,
        ]

    def row_logp(self, eta: TensorVariable, response, trials) -> TensorVariable:
        """Conditional log-density of each row; ``eta`` may carry a node axis."""
        log_dispersion = self.row_log_dispersion
        if log_dispersion is not None and log_dispersion.ndim == 1 and eta.ndim == 2:
            log_dispersion = log_dispersion[:, None]
        if self.family_index is None:
            return self.family.logp(response, eta, self.link, log_dispersion, trials)
        family_index = self.family_index[:, None] if eta.ndim == 2 else self.family_index
        return self.family.logp(response, eta, self.link, log_dispersion, trials, family_index=family_index)

    def cluster_sum(self, values: TensorVariable) -> TensorVariable:
        """Sum rows (first axis) within clusters by a scatter-add.

        Not by differences of cumulative sums: at extreme quadrature nodes a
        row's log-density can be -1e140 (cloglog, log links), and a running
        total would then wipe out every later cluster's sum.
        """
        shape = (self.n_clusters,) + tuple(values.shape[i] for i in range(1, values.ndim))
        return pt.inc_subtensor(pt.zeros(shape)[self.cluster_index], values)

    def mode_terms(self, modes: TensorVariable):
        """Log-posterior (J), score (J, d) and negative Hessian (J, d, d) of each cluster at ``modes``."""
        d = self.n_latents
        eta = self.fixed_eta + pt.sum(self.loadings * modes[self.cluster_index], axis=1)
        row_logp = self.row_logp(eta, self.response, self.trials)
        first = pt.grad(row_logp.sum(), eta)
        second = pt.grad(first.sum(), eta)
        score = self.cluster_sum(first[:, None] * self.loadings) - modes
        outer = (-second)[:, None, None] * self.loadings[:, :, None] * self.loadings[:, None, :]
        neg_hessian = self.cluster_sum(outer) + pt.eye(d)[None, :, :]
        log_posterior = self.cluster_sum(row_logp) - 0.5 * pt.sum(modes**2, axis=1)
        return log_posterior, score, neg_hessian

    def node_values(self, adaptive: bool):
        """Latent values at the nodes, shape (J, d, K), and log|A_j| (J)."""
        nodes = self.nodes.T  # (d, K)
        if not adaptive:
            return pt.ones((self.n_clusters, 1, 1)) * nodes[None, :, :], pt.zeros((self.n_clusters,))
        d = self.n_latents
        _, score, neg_hessian = self.mode_terms(self.modes)
        # one Newton step from the (constant) converged modes: carries dm/dtheta
        factor = _cholesky(neg_hessian, d)
        step = _solve_lower_transposed(factor, _solve_lower(factor, [score[:, a] for a in range(d)]))
        centre = self.modes + pt.stack(step, axis=1)
        _, _, neg_hessian_at_centre = self.mode_terms(centre)
        factor = _cholesky(neg_hessian_at_centre, d)
        # u = centre + A z with A = factor^{-T}
        scaled = _solve_lower_transposed(
            [[None if entry is None else entry[:, None] for entry in row] for row in factor],
            [nodes[a][None, :] for a in range(d)],
        )
        log_scale = -sum(pt.log(factor[a][a]) for a in range(d))
        return centre[:, :, None] + pt.stack(scaled, axis=1), log_scale

    def node_log_integrand(self, adaptive: bool):
        """``log(w_k / phi(z_k)) + log f(y_j | u_jk) + log phi(u_jk)`` (J, K), log|A| (J), u (J, d, K)."""
        d = self.n_latents
        values, log_scale = self.node_values(adaptive)
        eta = self.fixed_eta[:, None] + pt.sum(self.loadings[:, :, None] * values[self.cluster_index], axis=1)
        row_logp = self.row_logp(eta, self.response[:, None], self.trials[:, None])
        conditional = self.cluster_sum(row_logp)
        prior = -0.5 * pt.sum(values**2, axis=1) - 0.5 * d * np.log(2.0 * np.pi)
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
        mean = pt.sum(weights[:, None, :] * values, axis=2)
        centred = values - mean[:, :, None]
        covariance = pt.sum(weights[:, None, None, :] * centred[:, :, None, :] * centred[:, None, :, :], axis=3)
        return mean, covariance


def compile_two_level(layout: ParameterLayout, family: Family, link: Link, adaptive: bool = True) -> TwoLevelFunctions:
    """Compile the functions of a two-level model with ``layout``'s structure (cached on disk)."""
    key = ("two_level", layout.structure_key, family_key(family, link), adaptive)

    def build():
        graph = _Graph(layout, family, link)
        quadrature_inputs = [graph.theta, graph.modes, graph.nodes, graph.log_weights, graph.signs, *graph.data_inputs]
        cluster_loglik = graph.cluster_loglik(adaptive)
        total = cluster_loglik.sum()
        return {
            "mode_terms": ([graph.theta, graph.modes, *graph.data_inputs], list(graph.mode_terms(graph.modes))),
            "loglik_and_grad": (quadrature_inputs, [total, pt.grad(total, graph.theta), cluster_loglik]),
        }

    def build_moments():
        graph = _Graph(layout, family, link)
        quadrature_inputs = [graph.theta, graph.modes, graph.nodes, graph.log_weights, graph.signs, *graph.data_inputs]
        return {"posterior_moments": (quadrature_inputs, list(graph.posterior_moments(adaptive)))}

    functions = cached_functions(key, build, COMPILE_MODE)
    # compiled on first use: only EB predictions need it
    posterior_moments = lazy_cached_function(key + ("moments",), build_moments, COMPILE_MODE)

    n_latents = layout.level_sizes[0]
    return TwoLevelFunctions(functions["mode_terms"], functions["loglik_and_grad"], posterior_moments, n_latents, adaptive)
