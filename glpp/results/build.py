"""``build_result``: the one builder of :class:`~glpp.results.ml.MLResult` (lme4's ``mkMerMod``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from glpp.fitting.robust import robust_covariance, se_clustering
from glpp.results.ml import MLResult, latent_table, variance_components

if TYPE_CHECKING:
    from glpp.fitting.engines import Objective
    from glpp.fitting.ml import MLEstimate

__all__ = ["build_result"]


def build_result(
    objective: Objective, estimate: MLEstimate, *, formula: str = "", se: str | tuple[str, str] = "model"
) -> MLResult:
    """The :class:`MLResult` of an ML estimate, for every engine.

    Parameters
    ----------
    objective : Objective
        The objective that was maximised (:func:`glpp.fitting.engines.make_objective`):
        its model, its quadrature points and the posterior moments of the latents
        (for ``latent()``, computed when asked).
    estimate : MLEstimate
        From :func:`glpp.fitting.ml.maximise_likelihood`.
    formula : str
        The model string, shown by ``summary()``.
    se : "model", "robust" or ("robust", level)
        Inverse observed information, or the sandwich clustered by the top
        level (:mod:`glpp.fitting.robust`).
    """
    design, layout, theta = objective.design, objective.layout, estimate.theta
    clustering = se_clustering(se, [level.name for level in design.levels])
    log_prior = objective.log_prior(theta)
    names = list(layout.natural_names)
    try:
        optimised = np.linalg.inv(-estimate.hessian)
        if clustering is not None:
            optimised = robust_covariance(objective, theta, estimate.hessian)
    except np.linalg.LinAlgError:
        optimised = np.full_like(estimate.hessian, np.nan)
    jacobian = layout.natural_jacobian(theta)
    covariance = jacobian @ optimised @ jacobian.T
    with np.errstate(invalid="ignore"):
        standard_errors = np.sqrt(np.diag(covariance))

    latent, latent_moments = _latent_functions(objective, theta)

    return MLResult(
        params=pd.Series(layout.natural(theta), index=names),
        se=pd.Series(standard_errors, index=names),
        loglik=float(estimate.optimisation.loglik) - log_prior,
        n_params=layout.n_theta,
        n_obs=design.n_rows,
        n_dropped=design.n_dropped,
        converged=estimate.converged,
        nip=objective.nip,
        quadrature=objective.quadrature,
        covariance=pd.DataFrame(covariance, index=names, columns=names),
        variance_components=_variance_components(design, layout, theta),
        n_clusters={level.name: level.n_clusters for level in design.levels},
        family=objective.family.name,
        link=objective.link.name,
        formula=formula,
        nip_path=estimate.nip_path,
        n_iterations=estimate.optimisation.n_iterations,
        fit_seconds=estimate.seconds,
        parameter_kinds=layout.kinds,
        convergence=estimate.convergence,
        notes=design.notes,
        method=objective.method,
        log_prior=log_prior if objective.method == "map" else None,
        priors=objective.prior_lines,
        family_rows="" if design.family_index is None else objective.family.describe(design.family_index),
        n_units=design.n_rows // len(design.item_names) if design.item_names else design.n_rows,
        se_method="model" if clustering is None else f"robust (sandwich, clustered by {clustering})",
        covariance_optimised=pd.DataFrame(optimised, index=names, columns=names),
        latent_residual_variance=None if layout.has_dispersion_regression else objective.family.latent_residual_variance(
            objective.link, layout.residual_sd(theta)
        ),
        _latent=latent,
        _latent_moments=latent_moments,
    )


def _latent_functions(objective: Objective, theta: np.ndarray):
    """``latent()`` (the EB table) and ``latent_moments()`` (posterior moments of ``u``) of a fit,
    the modes computed once, when first asked; ``(None, None)`` for a model without latents."""
    design, layout = objective.design, objective.layout
    if not design.levels:
        return None, None
    computed: dict[str, list] = {}

    def latent_moments() -> list[tuple[np.ndarray, np.ndarray]]:
        if "moments" not in computed:
            computed["moments"] = objective.latent_moments(theta)
        return computed["moments"]

    def latent() -> pd.DataFrame:
        factors = layout.cholesky_factors(theta)
        tables = [
            latent_table(level, mean, posterior_covariance, factors[number])
            for number, (level, (mean, posterior_covariance)) in enumerate(zip(design.levels, latent_moments()))
        ]
        return pd.concat(tables, ignore_index=True)

    return latent, latent_moments


def _variance_components(design, layout, theta: np.ndarray):
    """The random-effects table at ``theta``, with the parameter names of its SDs and correlations."""
    return variance_components(
        design.levels,
        layout.covariances(theta),
        layout.residual_sd(theta),
        names={(level, i, j): name for name, level, i, j in layout.variance_names},
        disturbances=frozenset((p.level, p.row) for p in layout.table if p.kind == "path"),
    )
