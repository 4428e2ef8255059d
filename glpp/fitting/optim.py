"""ML driver: per-cluster mode search, the objective, BFGS, the Hessian.

:class:`AdaptiveObjective` turns the compiled functions of
:mod:`glpp.likelihood.two_level` into ``theta -> (-loglik, -gradient)``: before each
evaluation it moves every cluster's quadrature centre to the mode of its
integrand (:func:`glpp.fitting.modes.newton_search`: Newton's method with
step-halving, vectorised over clusters, warm-started from the previous
evaluation, converged to |score| < 1e-9 so that the objective does not depend
on the search path).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import optimize

from glpp.fitting.modes import MAX_NEWTON, newton_direction, newton_search
from glpp.likelihood.backend import compiled_by_jax
from glpp.likelihood.latent import GaussHermiteLevel, padded_size
from glpp.likelihood.quadrature import QuadratureRule
from glpp.likelihood.two_level import TwoLevelFunctions

__all__ = ["AdaptiveObjective", "ExactObjective", "OptimisationResult", "maximise", "numerical_hessian", "forward_hessian"]

NON_FINITE_OBJECTIVE = 1e10


class AdaptiveObjective:
    """Negative marginal log-likelihood and gradient with adaptive centring.

    Parameters
    ----------
    functions : TwoLevelFunctions
    data : list of ndarray
        :func:`glpp.likelihood.two_level.data_arguments` of the design.
    n_clusters : int
    rule : QuadratureRule
    """

    def __init__(self, functions: TwoLevelFunctions, data: list[np.ndarray], n_clusters: int, rule: QuadratureRule):
        self.functions = functions
        self.data = data
        self.modes = np.zeros((n_clusters, functions.n_latents))
        self.n_evaluations = 0
        self.set_rule(rule)

    def set_rule(self, rule: QuadratureRule) -> None:
        if rule.n_dims != self.functions.n_latents:
            raise ValueError("quadrature rule dimension does not match the number of latents")
        self.rule = rule
        # the JAX backend compiles a program per shape: pad the rule to one of a few sizes
        n_nodes = padded_size(rule.n_nodes) if compiled_by_jax(self.functions.loglik_and_grad) else None
        self._rule_arguments = GaussHermiteLevel.rule_arguments(rule, n_nodes)

    def mode_terms(self, theta: np.ndarray, modes: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """Log-posterior, score and Newton step of every cluster at ``modes`` (:func:`newton_search`'s terms)."""
        log_posterior, score, neg_hessian = self.functions.mode_terms(theta, modes, *self.data)
        return log_posterior, [score], [newton_direction(score, neg_hessian)]

    def find_modes(self, theta: np.ndarray, max_iterations: int = MAX_NEWTON) -> np.ndarray:
        """Each cluster's mode (:func:`glpp.fitting.modes.newton_search`), warm-started from the last ones."""
        start = self.modes if np.all(np.isfinite(self.modes)) else np.zeros_like(self.modes)
        (self.modes,) = newton_search(lambda modes: self.mode_terms(theta, modes[0]), [start], max_iterations=max_iterations)
        return self.modes

    def loglik(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood, its gradient and the per-cluster log-likelihoods."""
        if self.functions.adaptive:
            self.find_modes(theta)
        self.n_evaluations += 1
        total, gradient, per_cluster = self.functions.loglik_and_grad(
            theta, self.modes, *self._rule_arguments, *self.data
        )
        return float(total), np.asarray(gradient), np.asarray(per_cluster)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            total, gradient, _ = self.loglik(theta)
        except (np.linalg.LinAlgError, FloatingPointError):
            total, gradient = -np.inf, np.zeros_like(theta)
        if not np.isfinite(total) or not np.all(np.isfinite(gradient)):
            # a trial point of the line search where the likelihood breaks down
            # (e.g. a variance of e^40): a large finite value makes it step back;
            # inf or nan would end BFGS at once
            self.modes = np.zeros_like(self.modes)
            return NON_FINITE_OBJECTIVE, np.zeros_like(theta)
        return -total, -gradient

    def posterior_moments(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means and covariances of the standardised latents."""
        if self.functions.adaptive:
            self.find_modes(theta)
        mean, covariance = self.functions.posterior_moments(theta, self.modes, *self._rule_arguments, *self.data)
        return np.asarray(mean), np.asarray(covariance)


class ExactObjective:
    """Negative log-likelihood and gradient of a closed-form marginal likelihood.

    The same interface as :class:`AdaptiveObjective` (``__call__``,
    ``loglik``, ``posterior_moments``) with nothing to integrate.

    Parameters
    ----------
    functions : GaussianMarginalFunctions
        From :func:`glpp.likelihood.gaussian.compile_gaussian_marginal`.
    data : list of ndarray
        :func:`glpp.likelihood.gaussian.gaussian_data_arguments` of the design.
    """

    def __init__(self, functions, data: list[np.ndarray]):
        self.functions = functions
        self.data = data
        self.n_evaluations = 0

    def loglik(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood, its gradient and the per-unit log-likelihoods."""
        self.n_evaluations += 1
        total, gradient, per_unit = self.functions.loglik_and_grad(theta, *self.data)
        return float(total), np.asarray(gradient), np.asarray(per_unit)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        total, gradient, _ = self.loglik(theta)
        if not np.isfinite(total) or not np.all(np.isfinite(gradient)):
            # a trial point where the implied covariance is not positive definite
            return NON_FINITE_OBJECTIVE, np.zeros_like(theta)
        return -total, -gradient

    def posterior_moments(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means and covariances of the standardised latents."""
        mean, covariance = self.functions.posterior_moments(theta, *self.data)
        return np.asarray(mean), np.asarray(covariance)


@dataclass
class OptimisationResult:
    theta: np.ndarray
    loglik: float
    gradient: np.ndarray
    n_iterations: int
    n_evaluations: int
    success: bool
    message: str
    history: list[float] = field(default_factory=list)
    #: BFGS's final inverse Hessian approximation (free coordinates), to warm-start the next fit
    inverse_hessian: np.ndarray | None = None


#: BFGS stops once an iteration gains less than this (log-likelihood units) while the
#: gradient is below ``STALL_GRADIENT``: the objective's rounding (~1e-12, mode searches
#: and sums over thousands of clusters) then dominates, and the line search would spend a
#: dozen or more evaluations on noise before giving up
STALL_GAIN = 1e-9
STALL_GRADIENT = 1e-3


def _positive_definite(matrix: np.ndarray | None, size: int) -> np.ndarray | None:
    if matrix is None or matrix.shape != (size, size) or not np.all(np.isfinite(matrix)):
        return None
    matrix = 0.5 * (matrix + matrix.T)
    return matrix if np.linalg.eigvalsh(matrix)[0] > 0 else None


def maximise(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    start: np.ndarray,
    free: np.ndarray | None = None,
    gradient_tolerance: float = 1e-6,
    max_iterations: int = 1000,
    callback: Callable[[int, float], None] | None = None,
    inverse_hessian: np.ndarray | None = None,
) -> OptimisationResult:
    """Maximise a log-likelihood by BFGS with exact gradients.

    Stops at ``max |gradient| < gradient_tolerance`` or when an iteration
    gains less than ``STALL_GAIN`` with ``max |gradient| < STALL_GRADIENT``.

    Parameters
    ----------
    objective : callable
        ``theta -> (-loglik, -gradient)``.
    start : ndarray
    free : boolean ndarray, optional
        Optimise only these coordinates; the others stay at ``start``.
    callback : callable, optional
        ``(iteration, loglik)`` after every iteration (progress display).
    inverse_hessian : ndarray, optional
        Initial inverse Hessian of the free coordinates (e.g. the previous
        fit's with fewer quadrature points); ignored unless positive definite.
    """
    free = np.ones(start.shape, dtype=bool) if free is None else free
    history: list[float] = []
    counter = {"evaluations": 0}
    last: dict[str, np.ndarray] = {}

    def restricted(values: np.ndarray) -> tuple[float, np.ndarray]:
        theta = start.copy()
        theta[free] = values
        counter["evaluations"] += 1
        value, gradient = objective(theta)
        last["x"], last["gradient"] = values.copy(), gradient[free]
        return value, gradient[free]

    previous = {"value": np.inf}

    def record(intermediate_result: optimize.OptimizeResult) -> None:
        value = float(intermediate_result.fun)
        history.append(-value)
        if callback is not None:
            callback(len(history), history[-1])
        gain, previous["value"] = previous["value"] - value, value
        at_last = "x" in last and np.array_equal(last["x"], intermediate_result.x)
        if gain < STALL_GAIN and at_last and float(np.max(np.abs(last["gradient"]), initial=0.0)) < STALL_GRADIENT:
            raise StopIteration

    options = {"gtol": gradient_tolerance, "maxiter": max_iterations}
    warm = _positive_definite(inverse_hessian, int(free.sum()))
    if warm is not None:
        options["hess_inv0"] = warm
    result = optimize.minimize(restricted, start[free], jac=True, method="BFGS", options=options, callback=record)
    theta = start.copy()
    theta[free] = result.x
    value, gradient = objective(theta)
    return OptimisationResult(
        theta=theta,
        loglik=-value,
        gradient=-gradient,
        n_iterations=int(result.nit),
        n_evaluations=counter["evaluations"],
        success=bool(result.success) or float(np.max(np.abs(gradient[free]), initial=0.0)) < STALL_GRADIENT,
        message=str(result.message),
        history=history,
        inverse_hessian=np.asarray(result.hess_inv) if getattr(result, "hess_inv", None) is not None else None,
    )


def numerical_hessian(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]], theta: np.ndarray, relative_step: float = 1e-5
) -> np.ndarray:
    """Hessian of the log-likelihood by central differences of the exact gradient."""
    size = theta.size
    hessian = np.empty((size, size))
    for k in range(size):
        step = relative_step * max(1.0, abs(theta[k]))
        delta = np.zeros(size)
        delta[k] = step
        gradient_up = -objective(theta + delta)[1]
        gradient_down = -objective(theta - delta)[1]
        hessian[:, k] = (gradient_up - gradient_down) / (2.0 * step)
    return 0.5 * (hessian + hessian.T)


def forward_hessian(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta: np.ndarray,
    gradient: np.ndarray,
    relative_step: float = 1e-5,
) -> np.ndarray:
    """Hessian of the log-likelihood by forward differences of the exact gradient.

    Half the evaluations of :func:`numerical_hessian` (each a full quadrature
    with mode searches); the O(step) error is far below the precision of the
    standard errors. ``gradient`` is the log-likelihood's gradient at ``theta``.
    """
    hessian = np.empty((theta.size, theta.size))
    for k in range(theta.size):
        step = relative_step * max(1.0, abs(theta[k]))
        shifted = theta.copy()
        shifted[k] += step
        hessian[:, k] = (-objective(shifted)[1] - gradient) / step
    return 0.5 * (hessian + hessian.T)
