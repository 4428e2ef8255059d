"""The Laplace start of NUTS (``init="laplace"``, the marginal kind's default).

The marginal kind, a few parameters with a near-gaussian posterior, starts from its
Laplace approximation (:func:`laplace_start`): BFGS to the mode, each chain
started at a draw from the approximation, a dense mass matrix that starts
at its covariance and is adapted during tuning, and NUTS's target
acceptance rate 0.65 (0.9 for models with free loadings or paths; see
:func:`laplace_target_accept`).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor
from pymc.step_methods.hmc.quadpotential import QuadPotentialFullAdapt
from pytensor.compile.mode import Mode
from scipy import optimize

__all__ = ["LaplaceStart", "laplace_start", "laplace_target_accept"]

#: NUTS's target acceptance rate with the Laplace start (``init="laplace"``) for models
#: without free loadings or structural paths (GLMMs): that of Hoffman and Gelman's NUTS
#: paper, near the optimum 0.65 of Beskos et al. (2013) for HMC. PyMC's (and Stan's) 0.8
#: guards against the varying curvature of hierarchical posteriors, which the marginal kind
#: integrates out. Toenail: 3 leapfrog steps per draw instead of 4, 1.5 instead of 1.2
#: effective draws per draw of ``sd[patient]``, no divergences.
LAPLACE_TARGET_ACCEPT = 0.65
#: the same with free loadings or structural paths (factor, IRT, SEM models): a latent's SD
#: and its loadings trade off (only their products are well identified), which bends the
#: posterior into a banana that one dense mass matrix fits only in its bulk; at 0.65 and
#: 0.8 the 2PL on six VerbAgg items diverged twice in its tail (sd[F] near 2.8), at 0.9 not.
FACTOR_TARGET_ACCEPT = 0.9


def laplace_target_accept(model) -> float:
    """Default ``target_accept`` of the Laplace start: :data:`FACTOR_TARGET_ACCEPT` for models
    with free loadings or structural paths, else :data:`LAPLACE_TARGET_ACCEPT`."""
    layout = model.layout
    return FACTOR_TARGET_ACCEPT if (layout.loading_parameters or layout.path_names) else LAPLACE_TARGET_ACCEPT


#: pseudo-draws the Laplace covariance counts for in the dense mass-matrix adaptation
LAPLACE_COVARIANCE_WEIGHT = 10
#: relative step of the central differences of the gradient giving the Laplace Hessian
HESSIAN_STEP = 1e-4
#: largest absolute log-density NUTS may start from relative to the mode's (reject wild starts)
START_LOGP_DROP = 50.0


@dataclass
class LaplaceStart:
    """Posterior mode and Laplace covariance in NUTS's (unconstrained) coordinates.

    Attributes
    ----------
    mode : ndarray
        The maximum of the log-density NUTS samples (Jacobians of the transforms included).
    covariance : ndarray
        Inverse of the negative Hessian there (central differences of the exact gradient).
    names : list of str
        The value variables, in the order of ``mode``.
    shapes : list of tuple
    seconds : float
        Optimisation and Hessian time.
    """

    mode: np.ndarray
    covariance: np.ndarray
    names: list[str]
    shapes: list[tuple]
    seconds: float

    def point(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Value-variable dict (transformed names) of a flat vector in the order of ``mode``."""
        point, offset = {}, 0
        for name, shape in zip(self.names, self.shapes):
            size = int(np.prod(shape))
            point[name] = values[offset : offset + size].reshape(shape)
            offset += size
        return point


def laplace_start(pm_model: pm.Model, function) -> LaplaceStart | None:
    """Mode (BFGS from the model's initial point) and Laplace covariance of ``pm_model``.

    ``function`` is ``pm_model.logp_dlogp_function(ravel_inputs=True)``. Returns None when
    the optimisation does not reach a point with a negative definite Hessian.
    """
    started = time.perf_counter()
    value_vars = pm_model.continuous_value_vars
    initial = pm_model.initial_point()
    names = [variable.name for variable in value_vars]
    shapes = [np.shape(initial[name]) for name in names]
    start = np.concatenate([np.ravel(initial[name]) for name in names]).astype(float)

    def negative(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = function(x)
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            return 1e10, np.zeros_like(x)
        return -float(value), -np.asarray(gradient, dtype=float)

    result = optimize.minimize(negative, start, jac=True, method="BFGS", options={"gtol": 1e-6, "maxiter": 2000})
    mode = result.x
    hessian = np.empty((mode.size, mode.size))
    for k in range(mode.size):
        step = HESSIAN_STEP * max(1.0, abs(mode[k]))
        delta = np.zeros_like(mode)
        delta[k] = step
        hessian[:, k] = (negative(mode - delta)[1] - negative(mode + delta)[1]) / (2.0 * step)
    hessian = 0.5 * (hessian + hessian.T)
    try:
        eigenvalues = np.linalg.eigvalsh(-hessian)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(hessian)) or eigenvalues.min() <= 0:
        return None
    covariance = np.linalg.inv(-hessian)
    return LaplaceStart(mode, 0.5 * (covariance + covariance.T), names, shapes, time.perf_counter() - started)


def laplace_step(pm_model: pm.Model, chains: int, random_seed, mode: Mode, nuts_arguments: dict):
    """NUTS with a dense mass matrix started at the Laplace covariance, and one start per chain
    drawn from the Laplace approximation; None when there is no usable Laplace approximation."""
    function = pm_model.logp_dlogp_function(ravel_inputs=True, mode=mode)
    function.trust_input = True
    start = laplace_start(pm_model, function)
    if start is None:
        return None
    rng = np.random.default_rng(random_seed)
    factor = np.linalg.cholesky(start.covariance)
    best = float(function(start.mode)[0])
    # initial values by variable name on the natural scale (PyMC misreads transformed names
    # whose transform has an underscore, e.g. "cor_chol[g]_cholesky_corr__")
    free = pm_model.free_RVs
    natural = pytensor.function(
        pm_model.value_vars, pm_model.replace_rvs_by_values(free), mode=mode, on_unused_input="ignore"
    )
    initvals, points = [], []
    for _ in range(chains):
        for _attempt in range(20):
            candidate = start.mode + factor @ rng.standard_normal(start.mode.size)
            value = float(function(candidate)[0])
            if np.isfinite(value) and value > best - START_LOGP_DROP:
                break
        else:
            candidate = start.mode
        point = start.point(candidate)
        points.append(point)
        values = natural(*(point[variable.name] for variable in pm_model.value_vars))
        initvals.append({rv.name: np.asarray(value) for rv, value in zip(free, values)})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="QuadPotentialFullAdapt is an experimental feature")
        potential = QuadPotentialFullAdapt(
            start.mode.size, start.mode.copy(), start.covariance, LAPLACE_COVARIANCE_WEIGHT,
            rng=np.random.default_rng(rng.integers(2**31)),
        )
    step = pm.NUTS(
        potential=potential, model=pm_model, logp_dlogp_func=function, initial_point=points[0], **nuts_arguments
    )
    return step, initvals, start
