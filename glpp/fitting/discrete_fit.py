"""``fit_discrete``: the ML fit of a model with a discrete latent, and NPML's ``masspoints("auto")``.

``masspoints("auto")`` follows gllamm's search: fit with two points, then, while the
Gateaux derivative of the log-likelihood towards a new point at some location ``u``,

    D(u) = sum_i f_i(u) / f_i - n,

(``f_i(u)``: unit ``i``'s likelihood with the latent at ``u``; ``f_i``: its marginal
likelihood at the estimate) is positive somewhere on a grid of locations, add a point
and refit. The NPML estimate is reached when ``D(u) <= 0`` everywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from glpp.design.arrays import Design
from glpp.errors import SpecError
from glpp.fitting.discrete import (
    LINK_BOUND,
    DiscreteObjective,
    maximise_discrete,
    point_locations,
    warn_if_reached_once,
)
from glpp.fitting.mixture import MixtureObjective, make_discrete_objective
from glpp.params.discrete import make_layout
from glpp.results.discrete import DiscreteResult

__all__ = ["GATEAUX_TOLERANCE", "MAX_AUTO_POINTS", "fit_discrete", "gateaux_derivative"]

#: a Gateaux derivative below this is taken as zero (D(u) is a sum over units: a new point of mass
#: e gains at most ~ e * D(u); the optimiser stops at changes of ~1e-7 per iteration)
GATEAUX_TOLERANCE = 1e-2
#: ``masspoints("auto")`` stops at this many points
MAX_AUTO_POINTS = 12
#: a mass point has escaped to infinity when moving it this far (link scale) changes its units'
#: log-likelihood by less than ESCAPE_TOLERANCE per unit
ESCAPE_STEP = 5.0
ESCAPE_TOLERANCE = 1e-4
#: candidate locations of the Gateaux search
GATEAUX_GRID = 201


def gateaux_derivative(objective: DiscreteObjective, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate locations and the Gateaux derivative ``D(u)`` at each (mass points)."""
    locations = point_locations(objective, theta)
    spread = max(float(np.ptp(locations)), 1.0)
    low, high = locations.min() - spread, locations.max() + spread
    if any(bound is not None for bound, _ in objective.bounds()):
        low, high = max(low, -LINK_BOUND), min(high, LINK_BOUND)
    grid = np.linspace(low, high, GATEAUX_GRID)
    per_unit = objective.per_unit(theta)[0]
    ratio = np.exp(objective.conditional_at(theta, grid) - per_unit[:, None])
    return grid, ratio.sum(axis=0) - len(per_unit)


def escaped_points(objective, theta, locations, posterior) -> list[str]:
    """``"-inf"``/``"+inf"`` for each mass point whose units' likelihood no longer changes when it
    moves by :data:`ESCAPE_STEP` either way (it has gone to infinity), ``""`` for the others."""
    labels = []
    for c, location in enumerate(locations):
        moved = objective.conditional_at(theta, location + np.array([0.0, -ESCAPE_STEP, ESCAPE_STEP]))
        change = posterior[:, c] @ np.abs(moved[:, 1:] - moved[:, :1])
        flat = np.min(change) < ESCAPE_TOLERANCE * max(1.0, posterior[:, c].sum())
        labels.append(("+inf" if location > np.median(locations) else "-inf") if flat else "")
    return labels


def fit_discrete(
    design: Design, family, link, *, starts: int, seed: int | None, formula: str = "", method: str = "ml",
    nip: int | str = "auto",
) -> DiscreteResult:
    """Fit a model with a discrete latent from ``starts`` random starts (``seed``).

    ``masspoints("auto")`` (``design.discrete.n_points == 0``) increases the number of
    points from 2 while the Gateaux derivative is positive (module docstring). Maximum
    likelihood only: ``method="map"`` raises :class:`SpecError`. ``nip``: a growth mixture's
    adaptive quadrature points (:func:`glpp.fitting.mixture.make_discrete_objective`).
    """
    if method != "ml":
        raise SpecError(f"method={method!r} is not available for discrete latents yet; use method='ml'")
    if design.discrete.n_points:
        objective = make_discrete_objective(design, make_layout(design, family), family, link, nip=nip)
        theta, loglik, success, report, seconds = maximise_discrete(objective, starts=starts, seed=seed)
        return build_discrete_result(objective, theta, loglik, success, report, seconds, formula=formula)
    rows, fits, reason, extra = [], [], "", None
    for n_points in range(2, MAX_AUTO_POINTS + 1):
        objective = DiscreteObjective(design, make_layout(design, family, n_points), family, link)
        if fits:
            extra = added_point_start(objective, fits[-1][0], fits[-1][1], rows[-1]["at_location"])
        fit = maximise_discrete(objective, starts=starts, seed=seed, warn=False, extra_start=extra)
        grid, derivative = gateaux_derivative(objective, fit[0])
        rows.append({"n_points": n_points, "loglik": fit[1], "max_gateaux": float(derivative.max()),
                     "at_location": float(grid[np.argmax(derivative)])})
        if fits and fit[1] <= fits[-1][2] + GATEAUX_TOLERANCE:
            reason = (f"stopped at {n_points - 1} mass points: a point more did not increase the "
                      f"log-likelihood ({fit[1]:.4f} vs {fits[-1][2]:.4f}), points merged or escaped")
            break
        fits.append((objective, *fit))
        if derivative.max() <= GATEAUX_TOLERANCE:
            reason = (f"stopped at {n_points} mass points: the Gateaux derivative is at most "
                      f"{derivative.max():.2g} <= {GATEAUX_TOLERANCE:g} at every candidate location "
                      "(no further point can increase the likelihood: the NPML estimate)")
            break
    else:
        reason = f"stopped at the most points tried ({MAX_AUTO_POINTS}); the Gateaux derivative is still positive"
    objective, theta, loglik, success, report, seconds = fits[-1]
    warn_if_reached_once(report, loglik)
    selection = pd.DataFrame(rows)
    return build_discrete_result(
        objective, theta, loglik, success, report, seconds, formula=formula, selection=selection, reason=reason
    )


def added_point_start(objective, previous, theta, location: float, mass: float = 0.05) -> np.ndarray:
    """A start with one point more: the ``previous`` fit's points and a new one at ``location``
    (with probability ``mass``), recentred to mean zero (the fixed intercept takes the shift)."""
    layout, old = objective.layout, previous.layout
    locations = np.append(point_locations(previous, theta), location)
    weights = np.append(np.exp(previous.per_unit(theta)[2][0]) * (1.0 - mass), mass)
    shift = float(weights @ locations)
    start = np.zeros(layout.n_theta)
    start[layout.block("fixed")] = theta[old.block("fixed")]
    design = objective.design
    intercept = [k for k, j in enumerate(design.discrete.fixed_columns) if np.all(design.fixed[:, j] == 1.0)]
    start[intercept] += shift
    order = np.append(np.arange(1, len(locations)), 0)  # the new point first: the last stays the old first
    locations, weights = (locations - shift)[order], weights[order]
    start[layout.block("location")] = locations[:-1]
    start[layout.block("class_logodds")] = np.log(weights[:-1] / weights[-1])
    start[layout.block("aux")] = theta[old.block("aux")]
    return start


def build_discrete_result(
    objective: DiscreteObjective, theta, loglik, success, report, seconds, *, formula="", selection=None, reason=""
) -> DiscreteResult:
    """The :class:`DiscreteResult` at the estimate ``theta``."""
    design, layout = objective.design, objective.layout
    discrete = design.discrete
    names = list(layout.names)
    hessian = objective.hessian(theta)
    covariance = layout.natural_covariance(theta, hessian)
    with np.errstate(invalid="ignore"):
        standard_errors = np.sqrt(np.diag(covariance))
    gradient = objective.loglik(theta)[1]
    bounded = [np.inf if low is None else abs(low) for low, _ in objective.bounds()]
    free = np.abs(theta) < 0.999 * np.array(bounded)
    converged = bool(success and np.max(np.abs(gradient[free]), initial=0.0) < 1e-2)
    _, posterior, log_weights = objective.per_unit(theta)
    labels = [f"{discrete.latent}{c}" if layout.kind == "classes" else f"{discrete.latent}:{c}"
              for c in range(1, layout.n_points + 1)]
    points = pd.DataFrame({"probability": np.exp(log_weights).mean(axis=0)}, index=labels)
    if layout.kind == "masspoints":
        locations = point_locations(objective, theta)
        points["location"] = locations
        points["escaped"] = escaped_points(objective, theta, locations, posterior)
    what = "latent classes" if layout.kind == "classes" else "mass points"
    quadrature = f"exact sum over {layout.n_points} {what}"
    nip = objective.nip if isinstance(objective, MixtureObjective) else 0
    if nip:
        quadrature = (f"sum over {layout.n_points} {what} of adaptive Gauss-Hermite integrals over "
                      f"{discrete.random_name}, {nip} points")
    return DiscreteResult(
        params=pd.Series(layout.natural(theta), index=names),
        se=pd.Series(standard_errors, index=names),
        loglik=float(loglik), n_params=layout.n_theta, n_obs=design.n_rows, n_dropped=design.n_dropped,
        converged=converged, nip=nip, quadrature=quadrature,
        covariance=pd.DataFrame(covariance, index=names, columns=names), variance_components=(),
        n_clusters={discrete.latent: discrete.n_units}, family=objective.family.name,
        link=objective.link.name, formula=formula, fit_seconds=seconds, parameter_kinds=layout.kinds,
        points=points, posterior=pd.DataFrame(posterior, index=discrete.unit_labels, columns=labels),
        start_logliks=report.logliks, n_best=report.n_best, selection=selection, stop_reason=reason,
    )
