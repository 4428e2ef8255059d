"""Confidence intervals: Wald (delta method) and profile likelihood (lme4's ``confint``).

A profile interval of parameter ``psi`` holds the values where the signed root deviance

    zeta(psi) = sign(psi - psi_hat) sqrt(2 (loglik_hat - max loglik | psi))

lies within ``+-z`` (``z`` the normal quantile of the level). ``max loglik | psi``
re-maximises the log-likelihood over the other parameters with ``psi`` held fixed
(:func:`glpp.fitting.optim.maximise` with a ``free`` mask), on the profile coordinates
:class:`ProfileCoordinates` (log SDs and dispersions, atanh correlations, the other
parameters as reported), so that any reported parameter, e.g. the SD of a random slope
(a function of two Cholesky entries), can be held fixed. Each point is warm-started from
the nearest point already profiled, and the one objective of the fit (compiled once per
model structure) serves every point. The ends are found by bracketing outwards in steps
of the parameter's standard error and :func:`scipy.optimize.brentq` on ``zeta`` (lme4
instead interpolates a spline through profiled points). An SD whose ``zeta`` never
reaches ``-z`` has lower end 0, a correlation ``+-1``, as lme4 reports.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import ndtri

from glpp.errors import ConvergenceWarning, SpecError
from glpp.fitting.engines import make_objective
from glpp.fitting.optim import NON_FINITE_OBJECTIVE, maximise

__all__ = ["METHODS", "ProfileCoordinates", "confint", "interval_columns"]

METHODS = ("wald", "profile")
#: steps (in standard errors on the profile coordinates) at which zeta is tried, going outwards
BRACKET_STEPS = (1.5, 2.5, 4.0, 6.0, 10.0, 16.0, 25.0)
#: a profile point this far above the fit's log-likelihood means the fit is not at its maximum
HIGHER_LOGLIK = 1e-3
#: largest bracketing step (one standard error) on the log and atanh coordinates
MAX_TRANSFORMED_STEP = 1.0
#: the log-likelihood of the rebuilt objective at the estimate must match the fit's to this
SAME_OBJECTIVE = 1e-6


def interval_columns(level: float) -> list[str]:
    """R's column names of an interval: ``["2.5 %", "97.5 %"]`` for level 0.95."""
    return [f"{100 * (1 - level) / 2:.3g} %", f"{100 * (1 + level) / 2:.3g} %"]


class ProfileCoordinates:
    """The reported parameters on an unbounded scale, and ``theta`` from them.

    ``phi`` is log for SDs and positive auxiliary parameters, atanh for correlations, the
    reported value otherwise; ``theta(phi)`` goes through the parameter table's inverse map
    (:meth:`glpp.params.ParameterLayout.theta_from_named`).
    """

    def __init__(self, layout):
        self.layout = layout
        self.names = list(layout.natural_names)
        kinds = [parameter.kind for parameter in layout.free]
        self.log = np.array([kind == "sd" or (kind == "aux" and p.transform == "log") for kind, p in zip(kinds, layout.free)])
        self.atanh = np.array([kind == "cor" for kind in kinds])

    def to_phi(self, natural: np.ndarray) -> np.ndarray:
        phi = np.asarray(natural, dtype=float).copy()
        phi[self.log] = np.log(np.maximum(phi[self.log], 1e-300))
        phi[self.atanh] = np.arctanh(np.clip(phi[self.atanh], -1 + 1e-15, 1 - 1e-15))
        return phi

    def to_natural(self, phi: np.ndarray) -> np.ndarray:
        natural = np.asarray(phi, dtype=float).copy()
        natural[self.log] = np.exp(natural[self.log])
        natural[self.atanh] = np.tanh(natural[self.atanh])
        return natural

    def theta(self, phi: np.ndarray) -> np.ndarray:
        return self.layout.theta_from_named(dict(zip(self.names, self.to_natural(phi))))

    def jacobian(self, phi: np.ndarray, step: float = 1e-6) -> np.ndarray:
        """d theta / d phi by central differences (numpy only: no likelihood evaluations)."""
        columns = []
        for k in range(phi.size):
            delta = np.zeros_like(phi)
            delta[k] = step * max(1.0, abs(phi[k]))
            columns.append((self.theta(phi + delta) - self.theta(phi - delta)) / (2 * delta[k]))
        return np.column_stack(columns)

    def se(self, natural: np.ndarray, natural_se: np.ndarray) -> np.ndarray:
        """Standard errors on the ``phi`` scale (delta method), a tenth of the value's size where unknown."""
        se = np.asarray(natural_se, dtype=float).copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            se[self.log] = se[self.log] / natural[self.log]
            se[self.atanh] = se[self.atanh] / (1 - natural[self.atanh] ** 2)
        fallback = 0.1 * np.maximum(1.0, np.abs(self.to_phi(natural)))
        se = np.where(np.isfinite(se) & (se > 0), se, fallback)
        # an SD near 0 has a huge SE of its log: step by at most a factor e (tanh: one unit)
        return np.where(self.log | self.atanh, np.minimum(se, MAX_TRANSFORMED_STEP), se)


class Profiler:
    """Profiles of one fit's parameters on its own objective."""

    def __init__(self, result):
        model = result.model
        if model is None or result.method != "ml" or model.design.discrete is not None:
            raise SpecError("profile intervals need an ML fit made by glpp.Model(...).fit() (not MAP, not discrete latents); use method='wald'")
        self.objective = make_objective(
            model.design, model.layout, model.family, model.link, nip=result.nip if result.nip else "auto",
            adaptive="non-adaptive" not in result.quadrature, rule="sparse" if "sparse" in result.quadrature else None,
        )
        self.coordinates = ProfileCoordinates(model.layout)
        self.estimate = self.coordinates.to_phi(result.params[self.coordinates.names].to_numpy())
        self.loglik = -self(self.estimate)[0]
        if abs(self.loglik - result.loglik) > SAME_OBJECTIVE * max(1.0, abs(result.loglik)):
            raise SpecError(
                f"cannot rebuild the fit's objective (log-likelihood {self.loglik:.8g} at the estimate, fit "
                f"{result.loglik:.8g}); use method='wald'"
            )
        self.phi_se = self.coordinates.se(result.params[self.coordinates.names].to_numpy(), result.se[self.coordinates.names].to_numpy())
        self.points: dict[int, list[tuple[float, np.ndarray]]] = {}

    def __call__(self, phi: np.ndarray) -> tuple[float, np.ndarray]:
        """``(-loglik, -gradient)`` in the profile coordinates (a large value where a trial point has
        no ``theta``: a covariance that is not positive definite in floating point)."""
        try:
            with np.errstate(over="raise", invalid="raise"):
                theta, jacobian = self.coordinates.theta(phi), self.coordinates.jacobian(phi)
        except (np.linalg.LinAlgError, FloatingPointError):
            return NON_FINITE_OBJECTIVE, np.zeros_like(phi)
        value, gradient = self.objective(theta)
        return value, jacobian.T @ gradient

    def zeta(self, k: int, value: float) -> float:
        """The signed root deviance at ``phi_k = value``."""
        done = self.points.setdefault(k, [(self.estimate[k], self.estimate)])
        start = min(done, key=lambda point: abs(point[0] - value))[1].copy()
        start[k] = value
        free = np.ones(start.size, dtype=bool)
        free[k] = False
        outcome = maximise(self, start, free=free)
        done.append((value, outcome.theta))
        if outcome.loglik > self.loglik + HIGHER_LOGLIK:
            warnings.warn(
                f"the profile of {self.coordinates.names[k]} found a log-likelihood {outcome.loglik - self.loglik:.3g} "
                "above the fit's: the fit is not at its maximum (see fit.convergence); the interval is unreliable",
                ConvergenceWarning,
                stacklevel=4,
            )
        deviance = max(0.0, 2.0 * (self.loglik - outcome.loglik))
        return float(np.sign(value - self.estimate[k]) * np.sqrt(deviance))

    def end(self, k: int, direction: int, z: float) -> float:
        """The end of parameter ``k``'s interval on the ``phi`` scale (``+-inf`` if not reached)."""
        previous = self.estimate[k]
        for steps in BRACKET_STEPS:
            value = self.estimate[k] + direction * steps * self.phi_se[k]
            if direction * self.zeta(k, value) >= z:
                return optimize.brentq(lambda v: self.zeta(k, v) - direction * z, previous, value, xtol=1e-9, rtol=1e-10)
            previous = value
        return direction * np.inf


def confint(result, *, method: str = "wald", level: float = 0.95, parameters: list[str] | None = None) -> pd.DataFrame:
    """Confidence intervals of ``result``'s parameters (see :meth:`MLResult.confint`)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, not {method!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), not {level!r}")
    names = list(result.params.index) if parameters is None else list(parameters)
    unknown = [name for name in names if name not in result.params.index]
    if unknown:
        raise KeyError(f"No parameter {unknown[0]!r}. Available: {list(result.params.index)}")
    z = float(ndtri(0.5 + level / 2))
    columns = interval_columns(level)
    if method == "wald":
        estimate, se = result.params[names], result.se[names]
        return pd.DataFrame({columns[0]: estimate - z * se, columns[1]: estimate + z * se}, index=names)
    profiler = Profiler(result)
    coordinates = profiler.coordinates
    rows = []
    for name in names:
        k = coordinates.names.index(name)
        ends = np.array([profiler.end(k, -1, z), profiler.end(k, 1, z)])
        rows.append(_natural_ends(k, ends, coordinates))
    return pd.DataFrame(rows, index=names, columns=columns)


def _natural_ends(k: int, ends: np.ndarray, coordinates: ProfileCoordinates) -> np.ndarray:
    """The interval's ends on the natural scale (log: exp, so 0 for -inf; atanh: tanh, so +-1)."""
    if coordinates.log[k]:
        return np.exp(ends)
    if coordinates.atanh[k]:
        return np.tanh(ends)
    return ends
