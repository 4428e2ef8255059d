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

from glpp.fitting.convergence import BOUNDARY_SD, Convergence, check_convergence
from glpp.fitting.engines import Objective
from glpp.fitting.nip import ScheduleOutcome, path_key, run_schedule
from glpp.fitting.progress import FitProgress
from glpp.fitting.optim import OptimisationResult, forward_hessian, maximise, numerical_hessian
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
        Gradient small, information positive definite, the model identified
        and the quadrature settled (``convergence.converged``).
    nip_path : dict
        Log-likelihood at the estimate for each number of points tried.
    seconds : float
        Time of the fit (from the start values to the Hessian).
    convergence : Convergence or None
        The convergence report (:mod:`glpp.fitting.convergence`).
    """

    theta: np.ndarray
    optimisation: OptimisationResult
    hessian: np.ndarray
    converged: bool
    nip_path: dict = field(default_factory=dict)
    seconds: float = 0.0
    convergence: Convergence | None = None


def _progress(verbose: bool, display: FitProgress):
    """The optimiser's callback: ``verbose``'s printed lines and the progress display."""

    def callback(iteration: int, value: float) -> None:
        if verbose:
            print(f"  iteration {iteration:4d}  loglik {value:.6f}")
        display.update(iteration, value)

    return callback if verbose or display.enabled else None


def _maximise_closed_form(
    objective: Objective, verbose: bool, display: FitProgress
) -> tuple[OptimisationResult, np.ndarray, dict, ScheduleOutcome | None]:
    """BFGS from a least-squares start (normal responses, identity link; otherwise the family's
    start values); a central-difference Hessian (cheap without quadrature)."""
    start = start_values(objective.design, objective.layout, objective.family, objective.link)
    if objective.family.is_linear_gaussian(objective.link):
        start = least_squares_start(objective.design, objective.layout, start)
    display.set_nip("exact")
    result = maximise(objective, start, callback=_progress(verbose, display))
    return result, numerical_hessian(objective, result.theta), {}, None


def _maximise_quadrature(
    objective: Objective, verbose: bool, display: FitProgress
) -> tuple[OptimisationResult, np.ndarray, dict, ScheduleOutcome]:
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
        display.set_nip(path_key(points))
        outcome = maximise(
            objective,
            state["theta"],
            callback=_progress(verbose, display),
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

    outcome = run_schedule(schedule, fit_at, loglik_at)
    result = outcome.result
    hessian = forward_hessian(objective, result.theta, result.gradient)
    objective.loglik(result.theta)  # the modes back at the estimate (for the EB predictions)
    return result, hessian, nip_path, outcome


def maximise_likelihood(objective: Objective, *, verbose: bool = False, progress: bool = False) -> MLEstimate:
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
    progress : bool
        Show the progress line on stderr (:mod:`glpp.fitting.progress`).
    """
    started = time.perf_counter()
    display = FitProgress(progress)
    try:
        if objective.closed_form:
            result, hessian, nip_path, outcome = _maximise_closed_form(objective, verbose, display)
        else:
            result, hessian, nip_path, outcome = _maximise_quadrature(objective, verbose, display)
    finally:
        display.close()
    convergence = check_convergence(
        result.gradient,
        hessian,
        list(objective.layout.natural_names),
        optimiser_message=result.message,
        boundary=_boundary(objective, result.theta),
        nip_settled=outcome is None or outcome.settled,
        quadrature_error=0.0 if objective.closed_form else outcome.quadrature_error,
        unsettled_detail="" if outcome is None else _unsettled_detail(objective, outcome, nip_path),
        log_scale=_log_scale(objective, result.theta),
    )
    return MLEstimate(
        result.theta,
        result,
        hessian,
        convergence.converged,
        nip_path,
        time.perf_counter() - started,
        convergence,
    )


def _cholesky_sds(layout) -> list[tuple[int, object, str | None]]:
    """Each Cholesky entry with its position in theta and the name of its row's SD (``None`` for a
    unit-variance row): what the boundary and ridge checks look up."""
    sd_rows = {(row.level, row.row): row.name for row in layout.free if row.kind == "sd"}
    return [
        (position, entry, sd_rows.get((entry.level, entry.row)))
        for position, entry in enumerate(layout.cholesky_entries, start=layout.n_fixed)
    ]


def _boundary(objective: Objective, theta: np.ndarray) -> dict[int, str]:
    """Optimised parameters of latent SDs estimated at zero: each Cholesky row whose diagonal is
    below :data:`BOUNDARY_SD` of the response scale (position in theta -> the SD's name)."""
    layout = objective.layout
    scale = layout.residual_sd(theta) or 1.0
    entries = _cholesky_sds(layout)
    small = {
        (entry.level, entry.row)
        for position, entry, _ in entries
        if entry.row == entry.column and np.exp(theta[position]) < BOUNDARY_SD * scale
    }
    return {
        position: name or f"sd[{entry.level},{entry.row}]"
        for position, entry, name in entries
        if (entry.level, entry.row) in small
    }


def _log_scale(objective: Objective, theta: np.ndarray) -> dict[int, tuple[str, float]]:
    """Optimised parameters that are logs (dispersions, Cholesky diagonals): position -> the
    reported parameter (an SD's name for a diagonal) and its value."""
    layout = objective.layout
    natural = dict(zip(layout.natural_names, layout.natural(theta)))
    names = layout.natural_names
    scale = {position: names[position] for position in range(layout.n_theta)[layout.kind_slice("aux")]}
    response_scale = layout.residual_sd(theta) or 1.0
    for position, entry, name in _cholesky_sds(layout):
        # a latent SD near zero is near its boundary (a flat log-likelihood there is expected)
        if entry.row == entry.column and name is not None and natural[name] >= 1e-2 * response_scale:
            scale[position] = name
    return {position: (name, float(natural[name])) for position, name in scale.items()}


def _unsettled_detail(objective: Objective, outcome: ScheduleOutcome, nip_path: dict) -> str:
    """The last change of the log-likelihood with more points and the parameters the last refit moved most."""
    if outcome.settled or outcome.previous is None:
        return ""
    layout = objective.layout
    now, before = layout.natural(outcome.result.theta), layout.natural(outcome.previous.theta)
    moved = np.argsort(-np.abs(now - before))[:3]
    names = layout.natural_names
    moves = ", ".join(f"{names[k]} {before[k]:.4g} -> {now[k]:.4g}" for k in moved)
    path = ", ".join(f"{key}: {value:.4f}" for key, value in nip_path.items())
    return (
        f" (change {outcome.quadrature_error:.2g} at the estimate; log-likelihood by points {path}; "
        f"the last refit moved {moves})"
    )
