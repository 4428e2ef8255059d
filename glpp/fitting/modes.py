"""The Newton search for the modes of the clusters' log-posteriors (adaptive quadrature).

Adaptive quadrature centres each cluster's nodes at the mode of its
integrand. :func:`newton_search` finds the modes of many independent concave
problems at once (numpy, vectorised over clusters) by Newton's method with
step-halving decided per problem: a step is accepted when it does not
decrease the problem's log-posterior, otherwise it is halved and tried
again; an accepted problem starts again from a full step. The search is
warm-started by the caller (the previous evaluation's modes) and converged
to ``max |score| < SCORE_TOLERANCE``, so that the objective is a
deterministic function of the parameters and not of the search path.

A problem may own latents at several levels (the joint mode of a top-level
cluster and the clusters nested in it): ``modes`` is then one array per
level and ``groups`` maps each row of a level's array to its problem. The
Newton step comes with the log-posterior and the score from ``terms`` (the
compiled graph of the multilevel joint system solves it exactly by block
elimination); for a plain batch of small problems :func:`newton_direction`
solves it from the negative Hessian.

Used by every adaptive objective (:class:`glpp.fitting.optim.AdaptiveObjective`,
:class:`glpp.fitting.multilevel.MultilevelObjective`) and by the mode Op of the
marginal PyMC model (:mod:`glpp.bayes.build`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["MAX_NEWTON", "NEWTON_TRUST", "SCORE_TOLERANCE", "newton_direction", "newton_search"]

#: convergence of every problem: max |score| below this
SCORE_TOLERANCE = 1e-9
#: below this score a Newton step is taken without the step-halving test. Log-posteriors
#: that are sums over many rows are rounded (~1e-11 at 65,000 rows), and near the mode
#: the gain of a step (score^2 / 2) is smaller than that, so the test would halve the step
#: forever. The test is not needed there: the negative Hessian is at least the identity
#: (N(0, I) prior on the standardised latents, log-concave likelihood), so the step is at
#: most as long as the score, and the log-posterior can change by no more than ~1e-6
NEWTON_TRUST = 1e-3
#: most Newton iterations of one search
MAX_NEWTON = 200
#: a step shorter than this (in every coordinate of a problem) ends that problem's search
NEGLIGIBLE_STEP = 1e-12
#: smallest eigenvalue of a negative Hessian used as is; a smaller one gets a ridge
MIN_CURVATURE = 1e-8

#: ``modes -> (log_posterior[P], scores, steps)``, one score and step array per level
Terms = Callable[[list[np.ndarray]], tuple[np.ndarray, Sequence[np.ndarray], Sequence[np.ndarray]]]


def newton_direction(score: np.ndarray, neg_hessian: np.ndarray) -> np.ndarray:
    """Newton steps ``neg_hessian^{-1} score`` of a batch (``(J, d)``, ``(J, d, d)``).

    A negative Hessian that is not clearly positive definite (far from the
    mode of a problem that is not concave everywhere) gets a ridge that makes
    its smallest eigenvalue 1e-3.
    """
    size = score.shape[1]
    eigen_minimum = np.linalg.eigvalsh(neg_hessian)[:, 0] if size > 1 else neg_hessian[:, 0, 0]
    ridge = np.where(eigen_minimum < MIN_CURVATURE, MIN_CURVATURE - eigen_minimum + 1e-3, 0.0)
    if size == 1:
        return score / (neg_hessian[:, :, 0] + ridge[:, None])
    return np.linalg.solve(neg_hessian + ridge[:, None, None] * np.eye(size), score[:, :, None])[:, :, 0]


def _problem_max(values: Sequence[np.ndarray], groups: Sequence[np.ndarray | None], n_problems: int) -> np.ndarray:
    """Largest absolute entry of each problem over its rows of every level."""
    if len(values) == 1 and groups[0] is None:
        return np.max(np.abs(values[0]), axis=1, initial=0.0)
    largest = np.zeros(n_problems)
    for value, group in zip(values, groups):
        rows = np.arange(n_problems) if group is None else group
        np.maximum.at(largest, rows, np.max(np.abs(value), axis=1, initial=0.0))
    return largest


def _spread(values: np.ndarray, group: np.ndarray | None) -> np.ndarray:
    """Each row's entry of a per-problem array (``group``: the problem of each row; None: row = problem)."""
    return values if group is None else values[group]


def newton_search(
    terms: Terms,
    modes: list[np.ndarray],
    groups: list[np.ndarray | None] | None = None,
    *,
    max_iterations: int = MAX_NEWTON,
) -> list[np.ndarray]:
    """Maximise independent concave log-posteriors by Newton's method with step-halving.

    Parameters
    ----------
    terms : callable
        ``modes -> (log_posterior, scores, steps)``: the log-posterior of each
        problem (``P``), and per level the score and the Newton step at ``modes``.
    modes : list of ndarray
        The start, one ``(J_l, d_l)`` array per level (finite).
    groups : list of ndarray or None, optional
        Per level, the problem of each row (``J_l``); ``None`` (the default for
        one level): each row is its own problem.

    Returns
    -------
    list of ndarray
        The modes, each problem's to ``max |score| < SCORE_TOLERANCE``.
    """
    groups = [None] * len(modes) if groups is None else groups
    log_posterior, score, step = terms(modes)
    n_problems = log_posterior.shape[0]
    step_size = np.ones(n_problems)
    converged = _problem_max(score, groups, n_problems) < SCORE_TOLERANCE
    for _ in range(max_iterations):
        if np.all(converged):
            break
        size = np.where(converged, 0.0, step_size)
        taken = [_spread(size, g)[:, None] * s for s, g in zip(step, groups)]
        candidate = [m + t for m, t in zip(modes, taken)]
        new_log_posterior, new_score, new_step = terms(candidate)
        finite = np.isfinite(new_log_posterior)
        improved = finite & (new_log_posterior >= log_posterior - 1e-12 * np.abs(log_posterior))
        trusted = finite & (_problem_max(score, groups, n_problems) < NEWTON_TRUST)
        negligible = _problem_max(taken, groups, n_problems) < NEGLIGIBLE_STEP
        accept = (improved | trusted | negligible) & ~converged
        modes = [np.where(_spread(accept, g)[:, None], c, m) for c, m, g in zip(candidate, modes, groups)]
        score = [np.where(_spread(accept, g)[:, None], c, m) for c, m, g in zip(new_score, score, groups)]
        step = [np.where(_spread(accept, g)[:, None], c, m) for c, m, g in zip(new_step, step, groups)]
        log_posterior = np.where(accept, new_log_posterior, log_posterior)
        # an accepted problem starts again from a full Newton step
        step_size = np.where(accept, 1.0, step_size / 2.0)
        converged |= (_problem_max(score, groups, n_problems) < SCORE_TOLERANCE) | negligible
    return modes
