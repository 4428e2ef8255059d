"""Label switching: each posterior draw of exchangeable classes relabelled to the ML estimate.

A latent class model's likelihood and its default prior are the same under every
permutation of the class labels, so its posterior has ``K!`` copies of each mode and a
chain may visit several (label switching). glpp answers with *pivotal reordering*
(Marin, Mengersen & Robert 2005): the ML estimate, classes ordered by size as
:func:`glpp.fitting.discrete.canonical_order` orders them, is the pivot, and each draw
gets the permutation of its labels closest to it,

    min over permutations s of  sum_c sum_j ((theta_draw[j, s(c)] - theta_ML[j, c]) / se_ML[j, c])^2,

``j`` running over the class-specific parameters (item intercepts, class terms or a mass
point's location, and the
membership log-odds of every class against their mean over classes, which makes the sum
separable by class: an assignment problem, solved by
:func:`scipy.optimize.linear_sum_assignment`). The relabelled draws are draws from the
posterior restricted to the region of the ML labelling; R-hat and ESS are computed on
them. :func:`relabel_draws` reports how many draws of each chain changed labels: zero
when the chains stayed in the ML labelling (starts at the ML estimate and classes
separated by the data), a count that says the chains switched otherwise.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from glpp.fitting.discrete import permute_points
from glpp.params.discrete import DiscreteLayout

__all__ = ["class_features", "mass_point_locations", "relabel_draws"]


def mass_point_locations(layout: DiscreteLayout, theta: np.ndarray) -> np.ndarray:
    """Mass points: all ``K`` locations, the last one from the zero mean (no membership covariates)."""
    logits = np.append(np.asarray(theta)[layout.block("class_logodds")], 0.0)
    weights = np.exp(logits - logits.max())
    free = np.asarray(theta)[layout.block("location")]
    return np.append(free, -np.sum(weights[:-1] * free) / weights[-1])


def class_features(layout: DiscreteLayout, theta: np.ndarray, *, regression: bool) -> np.ndarray:
    """``(K, n)``: each class's parameters (mass points: its location), the membership log-odds
    centred over classes."""
    n_points = layout.n_points
    if layout.kind == "masspoints":
        shifts = mass_point_locations(layout, theta)[:, None]
    else:
        block = layout.block("class_effect" if regression else "class_intercept")
        shifts = np.asarray(theta)[block].reshape(-1, n_points).T
    logits = np.asarray(theta)[layout.block("class_logodds")].reshape(n_points - 1, -1)
    full = np.vstack([logits, np.zeros((1, logits.shape[1]))])
    return np.hstack([shifts, full - full.mean(axis=0)])


def _feature_scales(layout: DiscreteLayout, se: np.ndarray, *, regression: bool) -> np.ndarray:
    """``(K, n)`` scales of :func:`class_features`: the ML standard errors of the class parameters,
    the mean SE of each covariate's log-odds for the centred log-odds (1 where an SE is missing)."""
    se = np.where(np.isfinite(se) & (se > 0), se, 1.0)
    n_points = layout.n_points
    if layout.kind == "masspoints":  # the last location's: the free ones' mean
        shifts = np.append(se[layout.block("location")], se[layout.block("location")].mean())[:, None]
    else:
        block = layout.block("class_effect" if regression else "class_intercept")
        shifts = se[block].reshape(-1, n_points).T
    logits = se[layout.block("class_logodds")].reshape(n_points - 1, -1).mean(axis=0)
    return np.hstack([shifts, np.broadcast_to(logits, (n_points, logits.size))])


def relabel_draws(
    layout: DiscreteLayout, draws: np.ndarray, pivot: np.ndarray, se: np.ndarray, *, regression: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Every draw relabelled to the permutation closest to ``pivot`` (module docstring).

    Parameters
    ----------
    layout : DiscreteLayout
    draws : ndarray
        ``(chains, draws, n_theta)``, parameters in ``layout.names`` order.
    pivot, se : ndarray
        The ML estimate (canonical order) and its standard errors, same order.
    regression : bool
        Class terms in a regression (``class_effect`` rows) instead of item intercepts.

    Returns
    -------
    relabelled : ndarray
        Same shape as ``draws``.
    switched : ndarray
        ``(chains,)``: how many draws of each chain were relabelled.
    """
    draws = np.asarray(draws, dtype=float)
    target = class_features(layout, pivot, regression=regression)
    scale = _feature_scales(layout, se, regression=regression)
    relabelled = draws.copy()
    switched = np.zeros(draws.shape[0], dtype=int)
    identity = np.arange(layout.n_points)
    for chain in range(draws.shape[0]):
        for k in range(draws.shape[1]):
            features = class_features(layout, draws[chain, k], regression=regression)
            # cost[c, d]: draw's class c as the pivot's class d
            cost = ((features[:, None, :] - target[None, :, :]) / scale[None, :, :]) ** 2
            rows, columns = linear_sum_assignment(cost.sum(axis=2))
            order = rows[np.argsort(columns)]  # new class d is the draw's class order[d]
            if not np.array_equal(order, identity):
                locations = mass_point_locations(layout, draws[chain, k]) if layout.kind == "masspoints" else None
                relabelled[chain, k] = permute_points(
                    layout, draws[chain, k], order, regression=regression, locations=locations
                )
                switched[chain] += 1
    return relabelled, switched
