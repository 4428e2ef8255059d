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

This is the fast path of one latent level (see ``benchmarks/bench_toenail.py``;
:mod:`glpp.likelihood.multilevel` integrates any number of levels). Both share
the rows' graph (:class:`glpp.likelihood.predictor.RowPredictor`), the latent
levels' nodes (:mod:`glpp.likelihood.latent`), the small-matrix algebra
(:mod:`glpp.likelihood.linalg`) and the sums within clusters
(:mod:`glpp.likelihood.segments`). All derivatives of the family's log-density
with respect to ``eta`` come from pytensor's autodiff of the one definition in
:mod:`glpp.families`. There are no Python loops over clusters or nodes, only
over the (few) latent dimensions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from glpp.design.build import Design
from glpp.families import Family, Link
from glpp.likelihood.compile_cache import cached_functions, family_key, lazy_cached_function
from glpp.likelihood.latent import GaussHermiteLevel
from glpp.likelihood.linalg import Vector, cholesky, entries, newton_step
from glpp.likelihood.predictor import RowPredictor, optional_row_arrays
from glpp.likelihood.segments import Segments, segment_ends
from glpp.params import ParameterLayout

__all__ = ["TwoLevelFunctions", "OneLevelGraph", "compile_two_level", "data_arguments", "COMPILE_MODE"]

#: pytensor mode of the functions PyMC compiles for sampling (the likelihood functions of
#: ML fits take theirs from :mod:`glpp.likelihood.backend`)
COMPILE_MODE = os.environ.get("GLPP_PYTENSOR_MODE", "CVM")


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
    """The data inputs of the compiled functions, in order (see :attr:`OneLevelGraph.data_inputs`).

    Rows are put in cluster order (stable): the sums within clusters
    (:class:`glpp.likelihood.segments.Segments`) need it, and only
    cluster-level results leave the graph, so the order is invisible outside.
    """
    level = design.levels[0]
    order = np.argsort(level.cluster_index, kind="stable")
    trials = design.trials if design.trials is not None else np.ones_like(design.response)
    cluster_index = level.cluster_index[order]
    arguments = [
        design.response[order],
        trials[order],
        design.fixed[order],
        design.offset[order],
        level.covariates[order],
        cluster_index,
        segment_ends(cluster_index, level.n_clusters),
    ]
    if design.loadings:  # the graph has a loading input when some loading is free or fixed at other than 1
        arguments.append(level.full_loading_index[order] + 1)
    return arguments + optional_row_arrays(design, order)


class OneLevelGraph:
    """Symbolic pieces shared by the compiled functions of one structure with one latent level.

    Attributes
    ----------
    rows : RowPredictor
        Parameters, row data, linear predictors and row log-densities.
    latent : GaussHermiteLevel
        The level's nodes and weights.
    theta, modes : TensorVariable
        Parameters; each cluster's mode ``(J, d)`` of the standardised latents.
    """

    def __init__(self, layout: ParameterLayout, family: Family, link: Link, adaptive: bool = True):
        self.rows = RowPredictor(layout, family, link)
        self.n_latents = layout.level_sizes[0]
        self.latent = GaussHermiteLevel(self.n_latents, adaptive)
        self.theta = self.rows.theta
        self.modes = pt.matrix("modes")
        self.clusters = Segments(pt.vector("cluster_index", dtype="int64"), pt.vector("cluster_last", dtype="int64"))
        self.fixed_eta = self.rows.fixed_eta
        # loadings of the standardised latents on each row: z_r' L
        self.loadings = self.rows.loadings[0]
        self.row_log_dispersion = self.rows.row_log_dispersion

    @property
    def data_inputs(self) -> list[TensorVariable]:
        rows = self.rows
        return [
            rows.response, rows.trials, rows.fixed, rows.offset, rows.covariates[0],
            self.clusters.index, self.clusters.last, *rows.loading_inputs, *rows.optional_inputs,
        ]

    @property
    def rule_inputs(self) -> list[TensorVariable]:
        return self.latent.rule_inputs

    def mode_terms(self, modes: TensorVariable):
        """Log-posterior (J), score (J, d) and negative Hessian (J, d, d) of each cluster at ``modes``."""
        d = self.n_latents
        eta = self.fixed_eta + pt.sum(self.loadings * self.clusters.gather(modes), axis=1)
        row_logp = self.rows.row_logp(eta, self.rows.response, self.rows.trials)
        first = pt.grad(row_logp.sum(), eta)
        score = self.clusters.sum(first[:, None] * self.loadings) - modes
        products = pt.stack(self.rows.curvature_products(first, eta, self.loadings, d), axis=1)
        outer = products[:, :, None] * self.loadings[:, None, :]
        neg_hessian = self.clusters.sum(outer) + pt.eye(d)[None, :, :]
        log_posterior = self.clusters.sum(row_logp) - 0.5 * pt.sum(modes**2, axis=1)
        return log_posterior, score, neg_hessian

    def newton_step(self, modes: TensorVariable) -> tuple[TensorVariable, TensorVariable]:
        """One Newton step of every cluster's mode search: (new modes, score at ``modes``).

        From the (constant, converged) input modes it carries ``dm/dtheta``; the
        marginal PyMC model also iterates it from a warm start.
        """
        d = self.n_latents
        _, score, neg_hessian = self.mode_terms(modes)
        columns = [score[:, a] for a in range(d)]
        step = newton_step([modes[:, a] for a in range(d)], columns, entries(neg_hessian, d))
        return pt.stack(step, axis=1), score

    def node_values(self) -> tuple[Vector, TensorVariable]:
        """Latent values at the nodes, one (J, K) tensor per latent, and log|A_j| (J)."""
        d = self.n_latents
        if not self.latent.adaptive:
            zeros = pt.zeros((self.modes.shape[0],))
            return self.latent.node_values([zeros] * d, None)
        centre, _ = self.newton_step(self.modes)
        _, _, neg_hessian = self.mode_terms(centre)
        return self.latent.node_values([centre[:, a] for a in range(d)], cholesky(entries(neg_hessian, d)))

    def node_log_integrand(self) -> tuple[TensorVariable, TensorVariable, Vector]:
        """The log integrand at the nodes (J, K), log|A| (J) and the node values."""
        values, log_scale = self.node_values()
        latent_eta = sum(self.loadings[:, a][:, None] * self.clusters.gather(values[a]) for a in range(self.n_latents))
        eta = self.fixed_eta[:, None] + latent_eta
        row_logp = self.rows.row_logp(eta, self.rows.response[:, None], self.rows.trials[:, None])
        return self.latent.log_terms(self.clusters.sum(row_logp), values), log_scale, values

    def cluster_loglik(self) -> TensorVariable:
        log_terms, log_scale, _ = self.node_log_integrand()
        return self.latent.integrate(log_terms, log_scale)

    def posterior_moments(self) -> tuple[TensorVariable, TensorVariable]:
        log_terms, _, values = self.node_log_integrand()
        weights = self.latent.posterior_weights(log_terms)
        stacked = pt.stack(values, axis=1)  # (J, d, K)
        mean = pt.sum(weights[:, None, :] * stacked, axis=2)
        centred = stacked - mean[:, :, None]
        covariance = pt.sum(weights[:, None, None, :] * centred[:, :, None, :] * centred[:, None, :, :], axis=3)
        return mean, covariance


def compile_two_level(layout: ParameterLayout, family: Family, link: Link, adaptive: bool = True) -> TwoLevelFunctions:
    """Compile the functions of a two-level model with ``layout``'s structure (cached on disk)."""
    key = ("two_level", layout.structure_key, family_key(family, link), adaptive)

    def quadrature_inputs(graph: OneLevelGraph) -> list[TensorVariable]:
        return [graph.theta, graph.modes, *graph.rule_inputs, *graph.data_inputs]

    def build():
        graph = OneLevelGraph(layout, family, link, adaptive)
        cluster_loglik = graph.cluster_loglik()
        total = cluster_loglik.sum()
        return {
            "mode_terms": ([graph.theta, graph.modes, *graph.data_inputs], list(graph.mode_terms(graph.modes))),
            "loglik_and_grad": (quadrature_inputs(graph), [total, pt.grad(total, graph.theta), cluster_loglik]),
        }

    def build_moments():
        graph = OneLevelGraph(layout, family, link, adaptive)
        return {"posterior_moments": (quadrature_inputs(graph), list(graph.posterior_moments()))}

    functions = cached_functions(key, build)
    # compiled on first use: only EB predictions need it
    posterior_moments = lazy_cached_function(key + ("moments",), build_moments)

    n_latents = layout.level_sizes[0]
    return TwoLevelFunctions(functions["mode_terms"], functions["loglik_and_grad"], posterior_moments, n_latents, adaptive)
