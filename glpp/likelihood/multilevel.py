"""Design -> pytensor marginal log-likelihood for any number of nested levels.

Latent levels are numbered ``l = 0 .. T-1`` from the lowest (``Design.levels``
order; ``T = 2`` for a three-level model). Cluster ``j`` of level ``l`` has
standardised latents ``u_j ~ N(0, I)`` with effects ``L_l u_j``, and row ``r``
has linear predictor ``x_r' beta + offset_r + sum_l (z_r^(l)' L_l) u^(l)``.
As in :mod:`glpp.likelihood.two_level`, ``z_r^(l)`` is the row's covariate times its
factor loading, through the level's structural model
(:meth:`glpp.params.ParameterLayout.latent_loadings`: the same definition),
and the family's dispersion may be per item (``Design.dispersion_index``).

Integration is recursive, from the lowest level up (GLLAMM's scheme): for
every cluster of level ``l`` and every combination of quadrature nodes of its
ancestors (its *context*, ``C_l = prod_{m > l} K_m`` combinations, flattened
with the highest level varying slowest), the level-``l`` integral is computed by
adaptive quadrature; the results are multiplied within the parent cluster at
each of the parent's nodes and integrated at the next level. Level-``l``
quantities have shape ``(J_l, C_l, K_l)``; there are Python loops only over
levels and latent dimensions.

Centring and scaling of the nodes (deterministic functions of ``theta``, so
the objective is smooth and its gradient exact):

- top level: the joint posterior mode of all latents of a top-level cluster,
  scaled by the Schur complement of the joint negative Hessian (the curvature
  of the profile over the lower levels);
- lowest level (when ``T >= 2``): the exact conditional mode and curvature
  of each cluster given each context (vectorised Newton in numpy);
- intermediate levels (``T >= 3``): the conditional mode predicted linearly
  from the joint mode (Pinheiro & Chao 2006) and the Schur-complemented
  curvature.

With one node per level this is the Laplace approximation of the joint
integral (lme4's ``nAGQ = 1``). As in :mod:`glpp.likelihood.two_level`, the modes enter
the quadrature graph as inputs, and one Newton step from them inside the graph
carries the implicit derivative of the modes with respect to ``theta``.

The joint Newton step is solved by block elimination over the tree of
clusters (lowest level first), so its cost is linear in the number of rows.

Inside the compiled functions rows and clusters are in :class:`ClusterOrder`
(clusters sorted by their ancestors, rows by cluster), so that every sum over
a cluster's rows or over the clusters within an ancestor is a sum over a
contiguous segment (:class:`glpp.likelihood.segments.Segments`). The rows'
graph (:class:`glpp.likelihood.predictor.RowPredictor`), the nodes of each
level (:mod:`glpp.likelihood.latent`) and the small-matrix algebra
(:mod:`glpp.likelihood.linalg`) are those of :mod:`glpp.likelihood.two_level`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from glpp.design.build import Design
from glpp.families import Family, Link
from glpp.likelihood.compile_cache import cached_functions, family_key, lazy_cached_function
from glpp.likelihood.latent import GaussHermiteLevel
from glpp.likelihood.linalg import Matrix, cholesky, lift, newton_step, solve
from glpp.likelihood.predictor import RowPredictor, optional_row_arrays
from glpp.likelihood.segments import Segments, segment_ends
from glpp.params import ParameterLayout

__all__ = ["MultilevelFunctions", "compile_multilevel", "multilevel_data", "ancestor_indices"]


@dataclass(frozen=True)
class MultilevelFunctions:
    """Compiled functions of one multilevel model structure.

    ``joint = [modes_0, ..., modes_{T-1}]`` (shapes ``(J_l, d_l)``),
    ``conditional`` the lowest-level conditional modes ``(J_0, C_0, d_0)``
    (ignored when ``T == 1``), ``rules = [nodes_l, log_weights_l, signs_l]``
    for each level, ``data = multilevel_data(design)``.

    Attributes
    ----------
    joint_terms : callable
        ``(theta, *joint, *data) -> (log_posterior[J_top], *scores, *steps)``:
        joint log-posterior per top cluster, score and Newton step per level.
    conditional_terms : callable or None
        ``(theta, *joint, conditional, *rules, *data) -> (log_posterior[J0, C0],
        score[J0, C0, d0], neg_hessian[J0, C0, d0, d0])``.
    loglik_and_grad : callable
        ``(theta, *joint, conditional, *rules, *data) -> (loglik, grad, top_loglik[J_top])``.
    posterior_moments : callable
        Same inputs; ``(mean_0, cov_0, ..., mean_{T-1}, cov_{T-1})`` of the
        standardised latents of every cluster of every level.
    level_sizes : tuple of int
    """

    joint_terms: Callable
    conditional_terms: Callable | None
    loglik_and_grad: Callable
    posterior_moments: Callable
    level_sizes: tuple[int, ...]


def ancestor_indices(design: Design) -> list[list[np.ndarray | None]]:
    """``anc[l][m]``: the level-``m`` cluster of each level-``l`` cluster (``m > l``)."""
    n_levels = len(design.levels)
    anc: list[list[np.ndarray | None]] = [[None] * n_levels for _ in range(n_levels)]
    for low in reversed(range(n_levels - 1)):  # ancestors of the level above first
        anc[low][low + 1] = design.levels[low].parent_index
        for high in range(low + 2, n_levels):
            anc[low][high] = anc[low + 1][high][anc[low][low + 1]]
    return anc


@dataclass(frozen=True)
class ClusterOrder:
    """The order of rows and clusters inside the compiled functions.

    Clusters of each level are sorted by their ancestors (top level first)
    and rows by their lowest-level cluster, so that the rows of a cluster,
    and the clusters within an ancestor, are contiguous
    (:class:`glpp.likelihood.segments.Segments`: sums over nearby memory).

    Attributes
    ----------
    rows : ndarray of int
        ``rows[i]``: the design row at position ``i``.
    clusters : list of ndarray of int
        ``clusters[l][j]``: the design cluster of level ``l`` at position ``j``
        (the top level keeps its order).
    """

    rows: np.ndarray
    clusters: list[np.ndarray]

    @classmethod
    def of(cls, design: Design) -> "ClusterOrder":
        anc = ancestor_indices(design)
        n_levels = len(design.levels)
        clusters: list = [None] * n_levels
        clusters[-1] = np.arange(design.levels[-1].n_clusters)
        for low in range(n_levels - 1):
            # lexicographic: top ancestor slowest, then each level down, then the cluster
            keys = [np.arange(design.levels[low].n_clusters)]
            keys += [anc[low][high] for high in range(low + 1, n_levels)]
            clusters[low] = np.lexsort(keys)
        rank = np.empty_like(clusters[0])
        rank[clusters[0]] = np.arange(rank.size)
        rows = np.argsort(rank[design.levels[0].cluster_index], kind="stable")
        return cls(rows, clusters)


def multilevel_data(design: Design, order: ClusterOrder | None = None) -> list[np.ndarray]:
    """The data inputs of the compiled functions, in order (see ``_Graph.data_inputs``).

    Rows and clusters are in ``order`` (:class:`ClusterOrder`); cluster
    numbers are positions in that order.
    """
    order = ClusterOrder.of(design) if order is None else order
    rows = order.rows
    trials = design.trials if design.trials is not None else np.ones_like(design.response)
    arrays = [design.response[rows], trials[rows], design.fixed[rows], design.offset[rows]]
    rank = []
    for clusters in order.clusters:
        inverse = np.empty_like(clusters)
        inverse[clusters] = np.arange(clusters.size)
        rank.append(inverse)
    for level_number, level in enumerate(design.levels):
        index = rank[level_number][level.cluster_index[rows]]
        arrays += [level.covariates[rows], index, segment_ends(index, level.n_clusters)]
    anc = ancestor_indices(design)
    n_levels = len(design.levels)
    for low in range(n_levels - 1):
        for high in range(low + 1, n_levels):
            index = rank[high][anc[low][high][order.clusters[low]]]
            arrays += [index, segment_ends(index, design.levels[high].n_clusters)]
    # the optional inputs, in the order of ``RowPredictor.loading_inputs`` and ``.optional_inputs``
    if design.loadings:
        for level in design.levels:
            arrays.append(level.full_loading_index[rows] + 1)
    return arrays + optional_row_arrays(design, rows)


class _Graph:
    """Symbolic pieces shared by the compiled functions of one structure."""

    def __init__(self, layout: ParameterLayout, family: Family, link: Link):
        self.rows = RowPredictor(layout, family, link)
        self.sizes = layout.level_sizes
        n_levels = self.n_levels = len(self.sizes)
        self.theta = self.rows.theta
        self.joint = [pt.matrix(f"joint_{level_number}") for level_number in range(n_levels)]
        self.conditional = pt.tensor3("conditional")
        self.latents = [GaussHermiteLevel(size, suffix=f"_{level_number}") for level_number, size in enumerate(self.sizes)]
        self.nodes = [latent.nodes for latent in self.latents]
        index = lambda name: pt.vector(name, dtype="int64")  # noqa: E731
        # rows within the clusters of each level; clusters[l][m]: level-l clusters within
        # their level-m ancestors (m > l)
        self.row_clusters = [Segments(index(f"cluster_index_{level_number}"), index(f"row_last_{level_number}")) for level_number in range(n_levels)]
        self.clusters: list[list] = [[None] * n_levels for _ in range(n_levels)]
        for low in range(n_levels - 1):
            for high in range(low + 1, n_levels):
                self.clusters[low][high] = Segments(index(f"ancestor_{low}_{high}"), index(f"child_last_{low}_{high}"))
        self.fixed_eta = self.rows.fixed_eta
        self.loadings = self.rows.loadings
        self.response = self.rows.response
        self.trials = self.rows.trials

    @property
    def data_inputs(self) -> list[TensorVariable]:
        rows = self.rows
        inputs = [rows.response, rows.trials, rows.fixed, rows.offset]
        for level_number in range(self.n_levels):
            inputs += [rows.covariates[level_number], self.row_clusters[level_number].index, self.row_clusters[level_number].last]
        for low in range(self.n_levels - 1):
            for high in range(low + 1, self.n_levels):
                inputs += [self.clusters[low][high].index, self.clusters[low][high].last]
        return inputs + rows.loading_inputs + rows.optional_inputs

    @property
    def rule_inputs(self) -> list[TensorVariable]:
        return [x for latent in self.latents for x in latent.rule_inputs]

    def row_logp(self, eta: TensorVariable, response: TensorVariable, trials: TensorVariable) -> TensorVariable:
        return self.rows.row_logp(eta, response, trials)

    def row_sum(self, values: TensorVariable, level: int) -> TensorVariable:
        """Sum rows (first axis) within the clusters of ``level``."""
        return self.row_clusters[level].sum(values)

    def to_rows(self, values: TensorVariable, level: int) -> TensorVariable:
        """Each row's entry of a per-cluster ``values`` of ``level``."""
        return self.row_clusters[level].gather(values)

    def child_sum(self, values: TensorVariable, low: int, high: int) -> TensorVariable:
        """Sum level-``low`` clusters (first axis) within their level-``high`` ancestors."""
        return self.clusters[low][high].sum(values)

    def to_children(self, values: TensorVariable, low: int, high: int) -> TensorVariable:
        """Each level-``low`` cluster's entry of a per-cluster ``values`` of level ``high``."""
        return self.clusters[low][high].gather(values)

    # ------------------------------------------------------------ joint mode
    def joint_system(self, modes: list[TensorVariable]):
        """Joint log-posterior per top cluster, scores and Hessian blocks.

        ``hessian[l][m]`` (``l <= m``) is the (negative) Hessian block between a
        level-``l`` cluster and its level-``m`` ancestor, indexed by the
        level-``l`` cluster: a ``d_l x d_m`` list of ``(J_l,)`` vectors.
        """
        n_levels, sizes = self.n_levels, self.sizes
        eta = self.fixed_eta + sum(
            self.loadings[level_number][:, a] * self.to_rows(modes[level_number][:, a], level_number)
            for level_number in range(n_levels)
            for a in range(sizes[level_number])
        )
        row_logp = self.row_logp(eta, self.response, self.trials)
        first = pt.grad(row_logp.sum(), eta)
        score, hessian = [], [[None] * n_levels for _ in range(n_levels)]
        for level_number in range(n_levels):
            products = self.rows.curvature_products(first, eta, self.loadings[level_number], sizes[level_number])
            columns = [first[:, None] * self.loadings[level_number]]
            pairs = []
            for m in range(level_number, n_levels):
                for a in range(sizes[level_number]):
                    for b in range(sizes[m]):
                        pairs.append((m, a, b))
                        columns.append((products[a] * self.loadings[m][:, b])[:, None])
            sums = self.row_sum(pt.concatenate(columns, axis=1), level_number)
            score.append([sums[:, a] - modes[level_number][:, a] for a in range(sizes[level_number])])
            for m in range(level_number, n_levels):
                hessian[level_number][m] = [[None] * sizes[m] for _ in range(sizes[level_number])]
            for position, (m, a, b) in enumerate(pairs, start=sizes[level_number]):
                value = sums[:, position]
                hessian[level_number][m][a][b] = value + 1.0 if (m == level_number and a == b) else value
        top = n_levels - 1
        log_posterior = self.row_sum(row_logp, top)
        for level_number in range(n_levels):
            prior = -0.5 * pt.sum(modes[level_number] ** 2, axis=1)
            log_posterior = log_posterior + (prior if level_number == top else self.child_sum(prior, level_number, top))
        return log_posterior, score, hessian

    def eliminate(self, score, hessian):
        """Block elimination, lowest level first.

        Returns the Newton step per level, and per level the Cholesky factor
        of its Schur-complemented diagonal block and ``A^{-1} B_m`` (the
        linear prediction of its conditional mode from its ancestors).
        """
        n_levels, sizes = self.n_levels, self.sizes
        score = [list(s) for s in score]
        hessian = [[None if block is None else [list(row) for row in block] for block in row] for row in hessian]
        factors, predictors, solved_scores = [], [], []
        for level_number in range(n_levels):
            factor = cholesky(hessian[level_number][level_number])
            factors.append(factor)
            solved_scores.append(solve(factor, score[level_number]))
            predictors.append({})
            for m in range(level_number + 1, n_levels):
                # A^{-1} B_m as a d_l x d_m list
                solved_columns = [solve(factor, [hessian[level_number][m][a][b] for a in range(sizes[level_number])]) for b in range(sizes[m])]
                predictors[level_number][m] = [[solved_columns[b][a] for b in range(sizes[m])] for a in range(sizes[level_number])]
            for m in range(level_number + 1, n_levels):
                block = hessian[level_number][m]
                # score update: g_m -= B_m' A^{-1} g_l
                update = [sum(block[a][b] * solved_scores[level_number][a] for a in range(sizes[level_number])) for b in range(sizes[m])]
                entries = list(update)
                for m2 in range(m, n_levels):
                    for b in range(sizes[m]):
                        for c in range(sizes[m2]):
                            entries.append(sum(block[a][b] * predictors[level_number][m2][a][c] for a in range(sizes[level_number])))
                sums = self.child_sum(pt.stack(entries, axis=1), level_number, m)
                score[m] = [score[m][b] - sums[:, b] for b in range(sizes[m])]
                position = sizes[m]
                for m2 in range(m, n_levels):
                    for b in range(sizes[m]):
                        for c in range(sizes[m2]):
                            hessian[m][m2][b][c] = hessian[m][m2][b][c] - sums[:, position]
                            position += 1
        steps: list = [None] * n_levels
        for level_number in reversed(range(n_levels)):
            step = list(solved_scores[level_number])
            for m in range(level_number + 1, n_levels):
                ancestor_step = [self.to_children(s, level_number, m) for s in steps[m]]
                for a in range(sizes[level_number]):
                    step[a] = step[a] - sum(predictors[level_number][m][a][c] * ancestor_step[c] for c in range(sizes[m]))
            steps[level_number] = step
        return steps, factors, predictors

    def joint_centre(self):
        """Joint modes after one in-graph Newton step, with factors and predictors there."""
        _, score, hessian = self.joint_system(self.joint)
        steps, _, _ = self.eliminate(score, hessian)
        centre = [pt.stack([self.joint[level_number][:, a] + steps[level_number][a] for a in range(self.sizes[level_number])], axis=1)
                  for level_number in range(self.n_levels)]
        _, score, hessian = self.joint_system(centre)
        _, factors, predictors = self.eliminate(score, hessian)
        return centre, factors, predictors

    # ---------------------------------------------------------- node values
    def expand(self, values: TensorVariable, from_level: int, to_level: int) -> TensorVariable:
        """Level-``from_level`` node values ``(X, C_f, K_f)`` -> context axis ``C_to`` ``(X, C_to)``."""
        flat = values.reshape((values.shape[0], -1))
        repeat = 1
        for m in range(to_level + 1, from_level):
            repeat = repeat * self.nodes[m].shape[0]
        return pt.repeat(flat, repeat, axis=1) if from_level - to_level > 1 else flat

    def upper_values(self):
        """Node values ``V_l[a]`` (J_l, C_l, K_l) and ``log|A_l|`` (J_l, 1) of the levels
        centred on the joint mode: the top, and the intermediate levels; the
        lowest level is left ``None`` when ``T >= 2``."""
        n_levels, sizes = self.n_levels, self.sizes
        centre, factors, predictors = self.joint_centre()
        values: list = [None] * n_levels
        log_scale: list = [None] * n_levels
        for level_number in reversed(range(1 if n_levels > 1 else 0, n_levels)):
            d = sizes[level_number]
            mean = [centre[level_number][:, a][:, None] for a in range(d)]  # (J, 1), then (J, C_l)
            for m in range(level_number + 1, n_levels):
                for c in range(sizes[m]):
                    deviation = self.to_children(self.expand(values[m][c], m, level_number) - centre[m][:, c][:, None], level_number, m)
                    mean = [mean[a] - predictors[level_number][m][a][c][:, None] * deviation for a in range(d)]
            values[level_number], log_scale[level_number] = self.latents[level_number].node_values(mean, lift(factors[level_number], (slice(None), None)))
        return values, log_scale

    def node_values(self):
        """Node values ``V_l[a]`` (J_l, C_l, K_l) and ``log|A|`` of every level."""
        values, log_scale = self.upper_values()
        if self.n_levels > 1:
            modes, factor = self.conditional_centre(values, self.conditional)
            values[0], log_scale[0] = self.latents[0].node_values(modes, factor)
        return values, log_scale

    def context_eta(self, values) -> TensorVariable:
        """Contribution of the latents above the lowest level to each row, (N, C_0)."""
        total = 0.0
        for m in range(1, self.n_levels):
            for c in range(self.sizes[m]):
                expanded = self.to_rows(self.expand(values[m][c], m, 0), m)
                total = total + self.loadings[m][:, c][:, None] * expanded
        return total

    def conditional_system(self, context_eta, modes: list):
        """Lowest-level conditional log-posterior, score, negative Hessian given each context."""
        d = self.sizes[0]
        eta = self.fixed_eta[:, None] + context_eta + sum(
            self.loadings[0][:, a][:, None] * self.to_rows(modes[a], 0) for a in range(d)
        )
        row_logp = self.row_logp(eta, self.response[:, None], self.trials[:, None])
        first = pt.grad(row_logp.sum(), eta)
        products = self.rows.curvature_products(first, eta, self.loadings[0], d)
        pairs = [(a, b) for a in range(d) for b in range(a + 1)]
        columns = [row_logp] + [first * self.loadings[0][:, a][:, None] for a in range(d)]
        columns += [products[a] * self.loadings[0][:, b][:, None] for a, b in pairs]
        sums = self.row_sum(pt.stack(columns, axis=2), 0)
        score = [sums[:, :, 1 + a] - modes[a] for a in range(d)]
        neg_hessian: Matrix = [[None] * d for _ in range(d)]  # type: ignore[list-item]
        for position, (a, b) in enumerate(pairs, start=1 + d):
            value = sums[:, :, position] + (1.0 if a == b else 0.0)
            neg_hessian[a][b] = value
            neg_hessian[b][a] = value
        log_posterior = sums[:, :, 0] - 0.5 * sum(mode**2 for mode in modes)
        return log_posterior, score, neg_hessian

    def conditional_centre(self, values, conditional):
        d = self.sizes[0]
        context_eta = self.context_eta(values)
        modes = [conditional[:, :, a] for a in range(d)]
        _, score, neg_hessian = self.conditional_system(context_eta, modes)
        centre = newton_step(modes, score, neg_hessian)
        _, _, neg_hessian = self.conditional_system(context_eta, centre)
        return centre, cholesky(neg_hessian)

    # ------------------------------------------------------------ integral
    def level_log_terms(self):
        """Per level: log integrand at the nodes (J_l, C_l, K_l); also values, log scales."""
        n_levels, sizes = self.n_levels, self.sizes
        values, log_scale = self.node_values()
        latent = sum(
            self.loadings[0][:, a][:, None, None] * self.to_rows(values[0][a], 0) for a in range(sizes[0])
        )
        context = self.context_eta(values) if n_levels > 1 else 0.0
        eta = self.fixed_eta[:, None, None] + (context[:, :, None] if n_levels > 1 else 0.0) + latent
        row_logp = self.row_logp(eta, self.response[:, None, None], self.trials[:, None, None])
        below = self.row_sum(row_logp, 0)
        log_terms = []
        for level_number in range(n_levels):
            terms = self.latents[level_number].log_terms(below, values[level_number])
            log_terms.append(terms)
            integral = self.latents[level_number].integrate(terms, log_scale[level_number])  # (J_l, C_l)
            if level_number + 1 < n_levels:
                shaped = integral.reshape((integral.shape[0], -1, self.nodes[level_number + 1].shape[0]))
                below = self.child_sum(shaped, level_number, level_number + 1)
        return integral[:, 0], log_terms, values

    def posterior_moments(self):
        """Posterior means and covariances of the standardised latents of every level."""
        _, log_terms, values = self.level_log_terms()
        outputs = []
        context_weight = None
        for level_number in reversed(range(self.n_levels)):
            weights = self.latents[level_number].posterior_weights(log_terms[level_number])
            if context_weight is not None:
                weights = weights * self.to_children(context_weight, level_number, level_number + 1).reshape((weights.shape[0], -1))[:, :, None]
            context_weight = weights
            d = self.sizes[level_number]
            mean = [pt.sum(weights * values[level_number][a], axis=(1, 2)) for a in range(d)]
            covariance = pt.stack(
                [pt.stack([pt.sum(weights * values[level_number][a] * values[level_number][b], axis=(1, 2)) - mean[a] * mean[b]
                           for b in range(d)], axis=1) for a in range(d)],
                axis=1,
            )
            outputs = [pt.stack(mean, axis=1), covariance] + outputs
        return outputs


def compile_multilevel(layout: ParameterLayout, family: Family, link: Link) -> MultilevelFunctions:
    """Compile the functions of a model with ``layout``'s levels (any number; cached on disk)."""
    key = ("multilevel", layout.structure_key, family_key(family, link))

    def inputs_of(graph: _Graph) -> list:
        return [graph.theta, *graph.joint, graph.conditional, *graph.rule_inputs, *graph.data_inputs]

    def build():
        graph = _Graph(layout, family, link)
        log_posterior, score, hessian = graph.joint_system(graph.joint)
        steps, _, _ = graph.eliminate(score, hessian)
        specs = {
            "joint_terms": (
                [graph.theta, *graph.joint, *graph.data_inputs],
                [log_posterior] + [pt.stack(s, axis=1) for s in score] + [pt.stack(s, axis=1) for s in steps],
            )
        }
        if graph.n_levels > 1:
            upper, _ = graph.upper_values()
            modes = [graph.conditional[:, :, a] for a in range(graph.sizes[0])]
            c_log_posterior, c_score, c_hessian = graph.conditional_system(graph.context_eta(upper), modes)
            specs["conditional_terms"] = (
                inputs_of(graph),
                [c_log_posterior, pt.stack(c_score, axis=2), pt.stack([pt.stack(row, axis=2) for row in c_hessian], axis=2)],
            )
        top_loglik, _, _ = graph.level_log_terms()
        total = top_loglik.sum()
        specs["loglik_and_grad"] = (inputs_of(graph), [total, pt.grad(total, graph.theta), top_loglik])
        return specs

    def build_moments():
        graph = _Graph(layout, family, link)
        return {"posterior_moments": (inputs_of(graph), graph.posterior_moments())}

    # C even on a first fit: the point counts of the levels change independently (nip="auto",
    # EB moments), and JAX would compile one program per combination (glpp.likelihood.backend)
    functions = cached_functions(key, build, jax_first=False)
    # compiled on first use: only EB predictions need it
    posterior_moments = lazy_cached_function(key + ("moments",), build_moments, jax_first=False)

    return MultilevelFunctions(
        functions["joint_terms"],
        functions.get("conditional_terms"),
        functions["loglik_and_grad"],
        posterior_moments,
        layout.level_sizes,
    )
