"""ML fitting: objective -> start -> ``nip`` schedule -> Hessian -> convergence -> result.

The stages, each usable alone (as lme4's ``mkGlmerDevfun -> optimizeGlmer ->
mkMerMod``):

- :func:`glpp.fitting.engines.make_objective`: the marginal log-likelihood;
- :func:`maximise_likelihood`: start values, warm start, BFGS at each number of
  quadrature points of the objective's schedule (:mod:`glpp.fitting.nip`), the
  Hessian and the convergence checks: an :class:`MLEstimate`;
- :func:`glpp.results.build.build_result`: the :class:`~glpp.results.ml.MLResult`.

``Model.fit`` chains them; this package does not know the result stage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from glpp.fitting.engines import Objective
from glpp.fitting.nip import path_key, run_schedule
from glpp.fitting.optim import (
    OptimisationResult,
    forward_hessian,
    maximise,
    numerical_hessian,
    warn_if_not_converged,
)
from glpp.fitting.start import least_squares_start, start_values, warm_start

__all__ = ["MLEstimate", "maximise_likelihood"]


@dataclass(frozen=True)
class MLEstimate:
    """The outcome of :func:`maximise_likelihood` (what :func:`~glpp.results.build.build_result` needs).

    Attributes
    ----------
    theta : ndarray
        The estimate (unconstrained parameters; ``layout.natural(theta)`` gives the reported ones).
    optimisation : OptimisationResult
        BFGS's outcome at the final number of quadrature points.
    hessian : ndarray
        Hessian of the log-likelihood at ``theta`` (finite differences of the exact gradient).
    converged : bool
        Gradient small, information positive definite and the model identified.
    nip_path : dict
        Log-likelihood at the estimate for each number of points tried.
    seconds : float
        Time of the fit (from the start values to the Hessian).
    """

    theta: np.ndarray
    optimisation: OptimisationResult
    hessian: np.ndarray
    converged: bool
    nip_path: dict = field(default_factory=dict)
    seconds: float = 0.0


def _progress(verbose: bool):
    if not verbose:
        return None
    return lambda iteration, value: print(f"  iteration {iteration:4d}  loglik {value:.6f}")


def _maximise_closed_form(
    objective: Objective, verbose: bool
) -> tuple[OptimisationResult, np.ndarray, dict]:
    """BFGS from a least-squares start; a central-difference Hessian (cheap without quadrature)."""
    start = least_squares_start(
        objective.design,
        objective.layout,
        start_values(objective.design, objective.layout, objective.family, objective.link),
    )
    result = maximise(objective, start, callback=_progress(verbose))
    return result, numerical_hessian(objective, result.theta), {}


def _maximise_quadrature(
    objective: Objective, verbose: bool
) -> tuple[OptimisationResult, np.ndarray, dict]:
    """Warm start, then BFGS at each number of points of the schedule (each fit warm-started from
    the previous one's estimate and inverse Hessian); a forward-difference Hessian."""
    layout, schedule = objective.layout, objective.schedule
    objective.set_points(schedule.first)
    theta, inverse_hessian = warm_start(
        objective, layout, start_values(objective.design, layout, objective.family, objective.link)
    )
    nip_path: dict = {}
    state = {"theta": theta, "inverse_hessian": inverse_hessian}

    def fit_at(points: tuple[int, ...]) -> OptimisationResult:
        objective.set_points(points)
        outcome = maximise(
            objective,
            state["theta"],
            callback=_progress(verbose),
            inverse_hessian=state["inverse_hessian"],
        )
        state["theta"], state["inverse_hessian"] = outcome.theta, outcome.inverse_hessian
        nip_path[path_key(points)] = outcome.loglik
        if verbose:
            print(
                f"nip={path_key(points)}: loglik {outcome.loglik:.6f} ({outcome.n_iterations} iterations)"
            )
        return outcome

    def loglik_at(points: tuple[int, ...]) -> float:
        current = objective.points
        objective.set_points(points)
        nip_path[path_key(points)] = value = -objective(state["theta"])[0]
        objective.set_points(current)
        return value

    result, _ = run_schedule(schedule, fit_at, loglik_at)
    hessian = forward_hessian(objective, result.theta, result.gradient)
    objective.loglik(result.theta)  # the modes back at the estimate (for the EB predictions)
    return result, hessian, nip_path


def maximise_likelihood(objective: Objective, *, verbose: bool = False) -> MLEstimate:
    """Maximise ``objective``'s log-likelihood (lme4's ``optimizeGlmer`` and ``checkConv``).

    A closed form starts from least squares; quadrature from a warm start of
    the fixed part, then runs the objective's ``nip`` schedule
    (:mod:`glpp.fitting.nip`). Warns (:class:`~glpp.ConvergenceWarning`,
    :class:`~glpp.IdentificationWarning`) when the estimate is not a
    well-defined maximum.

    Parameters
    ----------
    objective : Objective
        From :func:`glpp.fitting.engines.make_objective`.
    verbose : bool
        Print the log-likelihood at each iteration and each number of points.
    """
    started = time.perf_counter()
    if objective.closed_form:
        result, hessian, nip_path = _maximise_closed_form(objective, verbose)
    else:
        result, hessian, nip_path = _maximise_quadrature(objective, verbose)
    converged = warn_if_not_converged(result, hessian, list(objective.layout.natural_names))
    return MLEstimate(
        result.theta, result, hessian, converged, nip_path, time.perf_counter() - started
    )
