"""(ParameterLayout, Design) -> exact marginal log-likelihood of jointly normal items.

In a measurement model on wide data whose items are all gaussian with
identity link, the items ``y_j`` of unit ``j`` are multivariate normal:

    y_j ~ N(mu_j, Sigma),
    mu_j  = nu + X_j beta + Lambda (I - B)^{-1} Gamma w_j,
    Sigma = Lambda (I - B)^{-1} Psi (I - B)^{-T} Lambda' + Theta,

with ``Psi = L L'`` the latents' (disturbance) covariance, ``Theta`` the
diagonal of residual variances plus the residual covariances ``y1 ~~ y5``.
The log-likelihood needs no quadrature; it is the same number adaptive
quadrature converges to (one adaptive point is already exact for these
models), and what lavaan maximises.

With latents at the units and at one grouping level above them (a
two-level factor model, ``Design.two_level_normal``) all items of a
cluster's units are jointly normal, and the closed form of
:func:`compile_gaussian_two_level` needs only sums over each cluster's units.

The graph reads ``theta`` through the same :class:`~glpp.params.ParameterLayout`
as the quadrature graph, so parameter names, starting values, standard errors
and the summary are shared. Units are rows of one matrix (no loop over
units); the exact gradient comes from pytensor. The empirical Bayes
moments of the latents are exact too: their posterior is normal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import zero_grad
from pytensor.tensor import TensorVariable

from glpp.likelihood.compile_cache import cached_functions, lazy_cached_function
from glpp.design.build import Design
from glpp.likelihood.segments import Segments
from glpp.params import ParameterLayout

__all__ = [
    "EXACT_DESCRIPTION",
    "GaussianMarginalFunctions",
    "GaussianMarginalGraph",
    "compile_gaussian_marginal",
    "compile_gaussian_two_level",
    "gaussian_data_arguments",
    "two_level_data_arguments",
    "make_gaussian_marginal",
    "multivariate_normal_logp",
]

#: ``MLResult.quadrature`` of a fit by the closed form
EXACT_DESCRIPTION = "exact, multivariate normal"


#: pytensor's ``inv(A) @ B -> solve(A, B)`` rewrite is left out: with (units x items)
#: right-hand sides the solve (scipy, per evaluation) costs far more than multiplying by
#: the small inverse once.
_EXCLUDED_REWRITES = ("inv_to_solve",)


@dataclass(frozen=True)
class GaussianMarginalFunctions:
    """Compiled functions of one jointly normal model structure.

    Attributes
    ----------
    loglik_and_grad : callable
        ``(theta, *data) -> (loglik, grad, unit_loglik[J])``.
    posterior_moments : callable
        ``(theta, *data) -> (mean[J, d], covariance[J, d, d])`` of the
        standardised latents ``u`` given each unit's items (exact: the
        posterior is normal).
    n_latents : int
    """

    loglik_and_grad: Callable
    posterior_moments: Callable
    n_latents: int


@dataclass(frozen=True)
class GaussianMarginalGraph:
    """Symbolic outputs of :func:`make_gaussian_marginal`.

    Attributes
    ----------
    inputs : list of TensorVariable
        ``theta`` and the data inputs, in the order of :func:`gaussian_data_arguments`.
    unit_loglik : TensorVariable
        Log-likelihood of each unit (J).
    posterior_mean, posterior_covariance : TensorVariable
        Of the standardised latents given each unit's items, (J, d) and (J, d, d).
    """

    inputs: list[TensorVariable]
    unit_loglik: TensorVariable
    posterior_mean: TensorVariable
    posterior_covariance: TensorVariable


def gaussian_data_arguments(design: Design) -> list[np.ndarray]:
    """The data inputs of :func:`compile_gaussian_marginal`'s functions, in order.

    ``response[j, k]`` is item ``k`` of unit ``j``; ``cell_rows[j, k]`` the
    design row it came from (fixed part and offset are per row); the
    loadings are per item.

    Raises
    ------
    ValueError
        If the design is not a jointly normal wide design with every item
        observed for every unit (wide designs drop incomplete units).
    """
    if not design.jointly_normal or design.item_index is None:
        raise ValueError("the closed form needs wide data whose items are all gaussian with identity link")
    level = design.levels[0]
    cell_rows = _unit_cells(design)
    first_rows = cell_rows[0]
    arguments = [
        design.response[cell_rows],
        design.fixed,
        design.offset,
        cell_rows,
        level.covariates[first_rows],
        level.full_loading_index[first_rows] + 1,
        _item_dispersion_index(design, first_rows),
    ]
    if design.latent_covariates is not None:
        arguments.append(design.latent_covariates[cell_rows[:, 0]])
    return arguments


def _unit_cells(design: Design) -> np.ndarray:
    """``cell_rows[j, k]``: the design row of item ``k`` of unit ``j`` (units: the clusters of level 0)."""
    units = design.levels[0]
    cell_rows = np.full((units.n_clusters, len(design.item_names)), -1, dtype=np.int64)
    cell_rows[units.cluster_index, design.item_index] = np.arange(design.n_rows)
    if np.any(cell_rows < 0):
        raise ValueError("every unit must have every item (wide designs drop units with a missing item)")
    return cell_rows


def _item_dispersion_index(design: Design, first_rows: np.ndarray) -> np.ndarray:
    """Each item's position among the dispersion parameters (0 with one dispersion)."""
    if design.dispersion_index is None:
        return np.zeros(first_rows.size, dtype=np.int64)
    return design.dispersion_index[first_rows]


def _residual_variances(log_dispersion: TensorVariable, item_dispersion_index: TensorVariable) -> TensorVariable:
    """Diagonal matrix of the items' residual variances (an SD per item, or one for all items)."""
    if log_dispersion.ndim == 1:
        log_sigma = log_dispersion[item_dispersion_index]
    else:
        log_sigma = pt.zeros(item_dispersion_index.shape) + log_dispersion
    return pt.eye(item_dispersion_index.shape[0]) * pt.exp(2.0 * log_sigma)[None, :]


def _correlation_scale(covariance: TensorVariable) -> tuple[TensorVariable, TensorVariable]:
    """``(1 / sd, correlation matrix)`` of a covariance matrix."""
    inverse_sd = 1.0 / pt.sqrt(pt.diagonal(covariance))
    return inverse_sd, covariance * inverse_sd[:, None] * inverse_sd[None, :]


def _precision(covariance: TensorVariable) -> TensorVariable:
    """``covariance^{-1}``, inverted on the correlation scale (better conditioned)."""
    inverse_sd, correlation = _correlation_scale(covariance)
    return pt.linalg.inv(correlation) * inverse_sd[:, None] * inverse_sd[None, :]


def multivariate_normal_logp(residuals: TensorVariable, covariance: TensorVariable) -> TensorVariable:
    """Log-density of each row of ``residuals`` (J, p) under ``N(0, covariance)``.

    ``-inf`` where ``covariance`` is not positive definite. This is the
    marginal distribution of a unit's items, which exists in closed form for
    jointly normal items only (the densities of :mod:`glpp.families` are of
    one response given the latents). The log determinant is that of the
    correlation matrix (in (0, 1]: no overflow) plus the log variances. The
    inverse and determinant are numpy LAPACK calls whose gradients are
    matrix products; the Cholesky route's gradient needs scipy triangular
    solves, which made one evaluation of the Holzinger CFA ~10 times slower.
    """
    n_items = residuals.shape[1]
    inverse_sd, correlation = _correlation_scale(covariance)
    log_determinant = -2.0 * pt.sum(pt.log(inverse_sd)) + pt.log(pt.linalg.det(correlation))
    quadratic = pt.sum(pt.dot(residuals, _precision(covariance)) * residuals, axis=1)
    logp = -0.5 * (n_items * np.log(2.0 * np.pi) + log_determinant + quadratic)
    # det > 0 does not make a matrix positive definite: a Cholesky factor (no gradient needed) does
    factor = pt.linalg.cholesky(zero_grad(covariance), lower=True, on_error="nan")
    return pt.switch(pt.any(pt.isnan(factor)), -np.inf, logp)


def make_gaussian_marginal(layout: ParameterLayout) -> tuple[TensorVariable, GaussianMarginalGraph]:
    """Symbolic ``theta`` and the unit log-likelihoods and posterior moments of the latents."""
    n_latents = layout.level_sizes[0]
    theta = pt.vector("theta")
    response = pt.matrix("response")  # (J, p)
    fixed = pt.matrix("fixed")  # (rows, n_fixed)
    offset = pt.vector("offset")  # (rows,)
    cell_rows = pt.matrix("cell_rows", dtype="int64")  # (J, p)
    item_covariates = pt.matrix("item_covariates")  # (p, d): 1 where the item loads on the latent
    item_loading_index = pt.matrix("item_loading_index", dtype="int64")  # (p, d): 0 is the constant 1
    item_dispersion_index = pt.vector("item_dispersion_index", dtype="int64")  # (p,)
    inputs = [theta, response, fixed, offset, cell_rows]
    inputs += [item_covariates, item_loading_index, item_dispersion_index]

    beta, factors, log_dispersion = layout.unpack(theta)
    # item loadings on the latents' disturbances: eta = (I - B)^{-1} (Gamma w + zeta)
    loadings, covariate_paths = layout.latent_loadings(theta, item_covariates, item_loading_index)
    mean = (pt.dot(fixed, beta) + offset)[cell_rows]
    if covariate_paths is not None:
        unit_covariates = pt.matrix("unit_covariates")  # (J, q)
        inputs.append(unit_covariates)
        mean = mean + pt.dot(pt.dot(unit_covariates, covariate_paths.T), loadings.T)
    # loadings of the standardised latents u ~ N(0, I): y = mu + A u + e
    scaled_loadings = pt.dot(loadings, factors[0])  # (p, d)
    residual = _residual_variances(log_dispersion, item_dispersion_index)
    for left, right, value in layout.unpack_residual_covariances(theta):
        residual = pt.set_subtensor(residual[left, right], value)
        residual = pt.set_subtensor(residual[right, left], value)
    covariance = pt.dot(scaled_loadings, scaled_loadings.T) + residual
    unit_loglik = multivariate_normal_logp(response - mean, covariance)
    # u | y_j ~ N(A' Sigma^{-1} (y_j - mu_j), I - A' Sigma^{-1} A)
    precision_loadings = pt.dot(_precision(covariance), scaled_loadings)  # (p, d)
    posterior_mean = pt.dot(response - mean, precision_loadings)  # (J, d)
    posterior_covariance = pt.eye(n_latents) - pt.dot(scaled_loadings.T, precision_loadings)
    posterior_covariance = pt.ones((posterior_mean.shape[0], 1, 1)) * posterior_covariance[None, :, :]
    return theta, GaussianMarginalGraph(inputs, unit_loglik, posterior_mean, posterior_covariance)


# ------------------------------------------------------------------ two levels
# Units i = 1..n_j of cluster j with residuals r_ij = y_ij - mu_ij: r_ij = A0 u_ij + A1 v_j + e_ij
# (u, v standardised latents of the units and the cluster), so a cluster's stacked items have
# covariance I_n (x) W + J_n (x) B with W = A0 A0' + Theta, B = A1 A1'. Its eigen-blocks are W + n B
# (the cluster mean's direction) and W (the n - 1 deviations), which gives
#   log L_j = -1/2 [n p log 2 pi + (n - 1) log|W| + log|W + n B|
#                   + sum_i r_ij' W^-1 r_ij - s_j' W^-1 s_j / n + s_j' (W + n B)^-1 s_j / n],
# s_j = sum_i r_ij: the cost is linear in the units, with one p x p inverse per distinct cluster size.


def two_level_data_arguments(design: Design) -> tuple[list[np.ndarray], np.ndarray]:
    """The data inputs of :func:`compile_gaussian_two_level`'s functions, and the unit order they use.

    Units are sorted by cluster (stable); ``order[k]`` is the unit in
    position ``k``, which puts the units' posterior moments back in design
    order. Loadings and covariates are per item and level.

    Raises
    ------
    ValueError
        If the design is not a two-level jointly normal wide design.
    """
    if not design.two_level_normal:
        raise ValueError("the two-level closed form needs wide data, gaussian items with identity link, latents at the units and one grouping level")
    cluster_level = design.levels[1]
    cell_rows = _unit_cells(design)
    unit_cluster = cluster_level.cluster_index[cell_rows[:, 0]]
    order = np.argsort(unit_cluster, kind="stable")
    cell_rows, unit_cluster = cell_rows[order], unit_cluster[order]
    sizes = np.bincount(unit_cluster, minlength=cluster_level.n_clusters)
    distinct_sizes, size_index = np.unique(sizes, return_inverse=True)
    first_rows = cell_rows[0]
    arguments = [design.response[cell_rows], design.fixed, design.offset, cell_rows]
    for level in design.levels:
        arguments += [level.covariates[first_rows], level.full_loading_index[first_rows] + 1]
    arguments += [
        _item_dispersion_index(design, first_rows),
        unit_cluster,
        np.cumsum(sizes) - 1,
        sizes.astype(float),
        distinct_sizes.astype(float),
        size_index.astype(np.int64),
    ]
    if design.latent_covariates is not None:
        arguments.append(design.latent_covariates[cell_rows[:, 0]])
    return arguments, order


def make_gaussian_two_level(layout: ParameterLayout) -> tuple[TensorVariable, list[TensorVariable], TensorVariable, list[TensorVariable]]:
    """Symbolic ``theta``, inputs, each cluster's log-likelihood and the posterior moments
    ``[mean_units, cov_units, mean_clusters, cov_clusters]`` of the standardised latents."""
    theta = pt.vector("theta")
    response = pt.matrix("response")  # (N, p), units sorted by cluster
    fixed = pt.matrix("fixed")
    offset = pt.vector("offset")
    cell_rows = pt.matrix("cell_rows", dtype="int64")
    item_covariates = [pt.matrix(f"item_covariates_{level_number}") for level_number in range(2)]
    item_loading_index = [pt.matrix(f"item_loading_index_{level_number}", dtype="int64") for level_number in range(2)]
    item_dispersion_index = pt.vector("item_dispersion_index", dtype="int64")
    unit_cluster = pt.vector("unit_cluster", dtype="int64")  # (N,)
    cluster_last = pt.vector("cluster_last", dtype="int64")  # (J,) last unit of each cluster
    cluster_size = pt.vector("cluster_size")  # (J,)
    distinct_size = pt.vector("distinct_size")  # (K,)
    size_index = pt.vector("size_index", dtype="int64")  # (J,) position in distinct_size
    inputs = [theta, response, fixed, offset, cell_rows]
    for pair in zip(item_covariates, item_loading_index):
        inputs += list(pair)
    inputs += [item_dispersion_index, unit_cluster, cluster_last, cluster_size, distinct_size, size_index]

    beta, factors, log_dispersion = layout.unpack(theta)
    mean = (pt.dot(fixed, beta) + offset)[cell_rows]
    level_loadings = layout.level_loadings(theta, item_covariates, item_loading_index)
    if any(paths is not None for _, paths in level_loadings):
        unit_covariates = pt.matrix("unit_covariates")  # (N, q)
        inputs.append(unit_covariates)
        for loadings, covariate_paths in level_loadings:
            if covariate_paths is not None:
                mean = mean + pt.dot(pt.dot(unit_covariates, covariate_paths.T), loadings.T)
    unit_loadings, cluster_loadings = (pt.dot(loadings, factor) for (loadings, _), factor in zip(level_loadings, factors))
    n_items = item_dispersion_index.shape[0]
    within = pt.dot(unit_loadings, unit_loadings.T) + _residual_variances(log_dispersion, item_dispersion_index)
    between = pt.dot(cluster_loadings, cluster_loadings.T)
    residuals = response - mean
    within_precision = _precision(within)
    unit_quadratic = pt.sum(pt.dot(residuals, within_precision) * residuals, axis=1)
    sums = Segments(unit_cluster, cluster_last).sum(residuals)  # (J, p)
    # W + n B for each distinct cluster size n (positive definite: W is, B is a Gram matrix)
    combined = within[None, :, :] + distinct_size[:, None, None] * between[None, :, :]
    combined_precision = pt.linalg.inv(combined)[size_index]  # (J, p, p)
    combined_sums = pt.sum(combined_precision * sums[:, None, :], axis=2)  # (W + n B)^-1 s_j
    inverse_sd, correlation = _correlation_scale(within)
    log_det_within = -2.0 * pt.sum(pt.log(inverse_sd)) + pt.log(pt.linalg.det(correlation))
    quadratic = (
        Segments(unit_cluster, cluster_last).sum(unit_quadratic)
        + (pt.sum(combined_sums * sums, axis=1) - pt.sum(pt.dot(sums, within_precision) * sums, axis=1)) / cluster_size
    )
    cluster_loglik = -0.5 * (
        cluster_size * n_items * np.log(2.0 * np.pi)
        + (cluster_size - 1.0) * log_det_within
        + pt.log(pt.linalg.det(combined))[size_index]
        + quadratic
    )
    # v_j | data ~ N(A1' (W + n B)^-1 s_j, I - n A1' (W + n B)^-1 A1)
    cluster_mean = pt.dot(combined_sums, cluster_loadings)
    precision_loadings = pt.tensordot(combined_precision, cluster_loadings, axes=[[2], [0]])  # (J, p, d1)
    cluster_covariance = pt.eye(cluster_loadings.shape[1])[None, :, :] - cluster_size[:, None, None] * pt.tensordot(
        precision_loadings, cluster_loadings, axes=[[1], [0]]
    ).dimshuffle(0, 2, 1)
    # u_ij | data, v_j ~ N(G (r_ij - A1 v_j), I - G A0) with G = A0' W^-1; then average over v_j
    gain = pt.dot(unit_loadings.T, within_precision)  # (d0, p)
    unit_mean = pt.dot(residuals - pt.dot(cluster_mean, cluster_loadings.T)[unit_cluster], gain.T)
    spill = pt.dot(gain, cluster_loadings)  # (d0, d1)
    unit_covariance = (pt.eye(unit_loadings.shape[1]) - pt.dot(gain, unit_loadings))[None, :, :] + pt.tensordot(
        pt.tensordot(cluster_covariance, spill, axes=[[2], [1]]), spill, axes=[[1], [1]]
    ).dimshuffle(0, 2, 1)[unit_cluster]
    moments = [unit_mean, unit_covariance, cluster_mean, cluster_covariance]
    return theta, inputs, cluster_loglik, moments


def compile_gaussian_two_level(layout: ParameterLayout) -> GaussianMarginalFunctions:
    """Compile the exact log-likelihood of a two-level jointly normal model with ``layout``'s structure.

    ``loglik_and_grad(theta, *data) -> (loglik, grad, cluster_loglik[J])``;
    ``posterior_moments(theta, *data)`` gives the means and covariances of
    the units' standardised latents (in the data's sorted unit order) and
    of the clusters'. ``data`` is the first result of
    :func:`two_level_data_arguments`.
    """
    key = ("gaussian_two_level", layout.structure_key)

    def build():
        theta, inputs, cluster_loglik, _ = make_gaussian_two_level(layout)
        total = cluster_loglik.sum()
        return {"loglik_and_grad": (inputs, [total, pt.grad(total, theta), cluster_loglik])}

    def build_moments():
        _, inputs, _, moments = make_gaussian_two_level(layout)
        return {"posterior_moments": (inputs, moments)}

    loglik_and_grad = cached_functions(key, build, _EXCLUDED_REWRITES)["loglik_and_grad"]
    posterior_moments = lazy_cached_function(key + ("moments",), build_moments, _EXCLUDED_REWRITES)
    return GaussianMarginalFunctions(loglik_and_grad, posterior_moments, layout.level_sizes[0])


def compile_gaussian_marginal(layout: ParameterLayout) -> GaussianMarginalFunctions:
    """Compile the exact log-likelihood (and gradient) of a jointly normal model with ``layout``'s structure.

    Data are inputs, so one compilation serves every data set of the same
    structure.

    Examples
    --------
    >>> model = glpp.Model("visual =~ x1 + x2 + x3", holzinger)
    >>> functions = compile_gaussian_marginal(model.layout)
    >>> loglik, gradient, per_unit = functions.loglik_and_grad(theta, *gaussian_data_arguments(model.design))
    """
    key = ("gaussian_marginal", layout.structure_key)

    def build():
        theta, graph = make_gaussian_marginal(layout)
        total = graph.unit_loglik.sum()
        return {"loglik_and_grad": (graph.inputs, [total, pt.grad(total, theta), graph.unit_loglik])}

    def build_moments():
        _, graph = make_gaussian_marginal(layout)
        return {"posterior_moments": (graph.inputs, [graph.posterior_mean, graph.posterior_covariance])}

    loglik_and_grad = cached_functions(key, build, _EXCLUDED_REWRITES)["loglik_and_grad"]
    # compiled on first use: only EB predictions need it
    posterior_moments = lazy_cached_function(key + ("moments",), build_moments, _EXCLUDED_REWRITES)

    return GaussianMarginalFunctions(loglik_and_grad, posterior_moments, layout.level_sizes[0])
