"""Robust (sandwich) covariance of the estimates, clustered at the top level.

``V = A^-1 B A^-1`` with ``A`` the observed information (minus the Hessian of
the log-likelihood) and ``B = sum_c s_c s_c'`` the outer products of the
top-level clusters' scores ``s_c = d loglik_c / d theta`` (Huber 1967; White
1982; gllamm's ``robust`` option, Stata's ``vce(cluster)``). The scores are
central differences of the per-cluster log-likelihoods, which the
objective computes with the same quadrature as the fit (with the modes
re-found at each shifted parameter), in ``2 * n_theta`` evaluations.

Only the top level can be the clustering unit: the log-likelihood factors
over its clusters and over nothing smaller when a higher level has latents.
"""

from __future__ import annotations

import numpy as np

from glpp.errors import SpecError

__all__ = ["SE_METHODS", "robust_covariance", "se_clustering"]

#: ``fit(se=...)``: model-based or robust (``("robust", level)`` names the clustering level)
SE_METHODS = ("model", "robust")


def se_clustering(se: str | tuple[str, str], levels: list[str]) -> str | None:
    """The level the SEs are clustered by (``None``: model-based SEs), checked against ``levels``
    (the design's latent levels, lowest first; wide data: ``"unit"`` first; none for a GLM,
    whose rows are the clusters: ``"row"``).

    Raises
    ------
    SpecError
        An unknown ``se`` or a clustering level that is not the top level.
    """
    method, level = (se, None) if isinstance(se, str) else (tuple(se) + (None,))[:2]
    if method not in SE_METHODS:
        raise SpecError(f"se={se!r}: use 'model', 'robust' or ('robust', <top level>)")
    if method == "model":
        return None
    top = levels[-1] if levels else "row"  # a GLM: rows are independent (White's HC0)
    if level is not None and level != top:
        raise SpecError(
            f"se=('robust', {level!r}): the robust SEs cluster by the top level {top!r}, the only level "
            f"over whose clusters the log-likelihood is a sum of independent terms; use se='robust'"
        )
    return top


def robust_covariance(objective, theta: np.ndarray, hessian: np.ndarray, relative_step: float = 1e-5) -> np.ndarray:
    """The sandwich covariance of ``theta`` (optimised scale) from per-cluster scores.

    Parameters
    ----------
    objective : Objective
        Whose ``loglik(theta)`` returns the per-top-level-cluster log-likelihoods third.
    theta : ndarray
        The estimate.
    hessian : ndarray
        Hessian of the log-likelihood at ``theta``.
    """
    scores = cluster_scores(objective, theta, relative_step)
    meat = scores.T @ scores
    bread = np.linalg.inv(-hessian)
    return bread @ meat @ bread


def cluster_scores(objective, theta: np.ndarray, relative_step: float = 1e-5) -> np.ndarray:
    """``(n_clusters, n_theta)``: each top-level cluster's score by central differences."""
    columns = []
    for k in range(theta.size):
        step = relative_step * max(1.0, abs(theta[k]))
        shifted = theta.copy()
        shifted[k] = theta[k] + step
        up = np.asarray(objective.loglik(shifted)[2], dtype=float)
        shifted[k] = theta[k] - step
        down = np.asarray(objective.loglik(shifted)[2], dtype=float)
        columns.append((up - down) / (2.0 * step))
    objective.loglik(theta)  # the modes back at the estimate
    return np.column_stack(columns)
