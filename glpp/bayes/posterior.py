"""What is computed from the posterior draws after sampling: the ML ``theta`` of each draw,
each top-level cluster's marginal log-likelihood (``log_likelihood``, for leave-one-cluster-out
``arviz.loo``), the marginal kind's latent effects (``b[<level>]``) and the DataTree's
added groups and attributes."""

from __future__ import annotations

import time

import numpy as np
import pymc as pm
import pytensor
import xarray as xr
from pytensor.graph.traversal import ancestors

from glpp.bayes.build import response_name, compile_mode
from glpp.bayes.marginal import marginal_objective
from glpp.bayes.multilevel import objective_for, uses_ml_objective
from glpp.bayes.nip import DEFAULT_NIP

__all__ = ["cluster_loglik_draws"]

#: importance-sampling proposals per cluster and draw when recovering latents
LATENT_PROPOSALS = 16
#: degrees of freedom of the multivariate-t importance proposal
PROPOSAL_DF = 7.0


def _theta_function(pm_model: pm.Model):
    """Compiled map from the posterior's variables to ML ``theta``."""
    theta = pm_model.glpp_theta
    inputs = [rv for rv in pm_model.free_RVs if rv in ancestors([theta])]
    function = pytensor.function(inputs, theta, on_unused_input="ignore", mode=compile_mode())
    return [rv.name for rv in inputs], function


def _theta_draws(pm_model: pm.Model, posterior: xr.Dataset) -> np.ndarray:
    """(chains, draws, n_theta) ML parameter vectors of the posterior draws."""
    names, function = _theta_function(pm_model)
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    values = [posterior[name].values.reshape(chains * draws, *posterior[name].shape[2:]) for name in names]
    theta = np.stack([function(*(value[s] for value in values)) for s in range(chains * draws)])
    return theta.reshape(chains, draws, -1)


def cluster_loglik_draws(
    model, theta: np.ndarray, nip: int = DEFAULT_NIP, latents: bool = False, rng=None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-cluster marginal log-likelihood at each draw, and optionally latent draws.

    Parameters
    ----------
    theta : ndarray, shape (..., n_theta)
    latents : bool
        Also draw each cluster's latent effects (``L u``) from their
        conditional posterior given the draw: sampling-importance-resampling
        with a multivariate-t proposal at the adaptive-quadrature centre
        and scale (:data:`LATENT_PROPOSALS` proposals); exactly, from the normal
        posterior, for jointly normal items (:func:`glpp.bayes.multilevel.uses_ml_objective`).

    Returns
    -------
    loglik : ndarray, shape (..., J)
        ``J`` top-level clusters.
    effects : ndarray, shape (..., J, d), or None
        None also for latents at several levels (not drawn).
    """
    flat = theta.reshape(-1, theta.shape[-1])
    rng = np.random.default_rng(rng)
    if uses_ml_objective(model):  # the ML objective (several levels; jointly normal items)
        objective = objective_for(model, nip)
        loglik = np.stack([objective.loglik(point)[2] for point in flat])
        one_level = len(model.design.levels) == 1
        effects = np.stack([_normal_latents(objective, point, model, rng) for point in flat]) if latents and one_level else None
    else:
        objective = marginal_objective(model, nip)
        loglik = np.stack([objective.loglik(point)[2] for point in flat])
        effects = np.stack([_draw_latents(objective, objective.functions, point, model, rng) for point in flat]) if latents else None
    shape = theta.shape[:-1]
    return loglik.reshape(*shape, -1), (None if effects is None else effects.reshape(*shape, *effects.shape[1:]))


def _normal_latents(objective, theta, model, rng) -> np.ndarray:
    """One draw of every cluster's latent effects from their (normal) posterior given ``theta``."""
    mean, covariance = objective.latent_moments(theta)[0]
    standard = mean + np.einsum("jab,jb->ja", np.linalg.cholesky(covariance), rng.standard_normal(mean.shape))
    return standard @ model.layout.cholesky_factors(theta)[0].T


def _draw_latents(objective, functions, theta, model, rng) -> np.ndarray:
    modes = objective.modes  # found by the loglik call just before
    data = objective.data
    log_mode, _, neg_hessian = functions.mode_terms(theta, modes, *data)
    n_clusters, d = modes.shape
    scale = np.linalg.cholesky(np.linalg.inv(neg_hessian))  # (J, d, d)
    log_weights = np.empty((LATENT_PROPOSALS, n_clusters))
    proposals = np.empty((LATENT_PROPOSALS, n_clusters, d))
    nu = PROPOSAL_DF
    for m in range(LATENT_PROPOSALS):
        standard = rng.standard_normal((n_clusters, d))
        chi = rng.chisquare(nu, n_clusters) / nu
        t = standard / np.sqrt(chi)[:, None]
        proposals[m] = modes + np.einsum("jab,jb->ja", scale, t)
        log_target = functions.mode_terms(theta, proposals[m], *data)[0]
        log_proposal = -0.5 * (nu + d) * np.log1p(np.sum(t**2, axis=1) / nu)  # up to constants per cluster
        log_weights[m] = log_target - log_proposal
    log_weights -= log_weights.max(axis=0, keepdims=True)
    weights = np.exp(log_weights)
    weights /= weights.sum(axis=0, keepdims=True)
    cumulative = np.cumsum(weights, axis=0)
    pick = np.minimum((cumulative < rng.random(n_clusters)[None, :]).sum(axis=0), LATENT_PROPOSALS - 1)
    standardised = proposals[pick, np.arange(n_clusters)]
    factor = model.layout.cholesky_factors(theta)[0]
    return standardised @ factor.T


def augment_datatree(model, pm_model, idata, kind, nip, random_seed, sampling_seconds):
    """Add to the DataTree of :func:`glpp.bayes.sample` the per-cluster log-likelihoods, the
    marginal kind's latent effects, the observed data and glpp's attributes."""
    started = time.perf_counter()
    posterior = idata["posterior"].to_dataset()
    theta = _theta_draws(pm_model, posterior)
    level = model.design.levels[-1]  # the top level: one log-likelihood per top-level cluster
    loglik, effects = cluster_loglik_draws(model, theta, nip, latents=(kind == "marginal"), rng=random_seed)
    coords = {"chain": posterior["chain"].values, "draw": posterior["draw"].values}
    label = level.name
    log_likelihood = xr.Dataset(
        {response_name(model): (("chain", "draw", label), loglik)},
        coords={**coords, label: [str(c) for c in level.cluster_labels]},
    )
    idata["log_likelihood"] = log_likelihood
    if effects is not None:
        posterior[f"b[{label}]"] = xr.DataArray(
            effects,
            dims=("chain", "draw", label, f"{label}_latent"),
            coords={**coords, label: [str(c) for c in level.cluster_labels], f"{label}_latent": list(level.latent_names)},
        )
        idata["posterior"] = posterior
    if "observed_data" not in idata.children:
        idata["observed_data"] = xr.Dataset(
            {response_name(model): (("row",), model.design.response)},
            coords={"row": np.arange(model.design.n_rows)},
        )
    attrs = idata["posterior"].attrs
    attrs["glpp_kind"] = kind
    attrs["glpp_nip"] = nip
    attrs["sampling_seconds"] = sampling_seconds
    attrs["postprocessing_seconds"] = time.perf_counter() - started
    return idata
