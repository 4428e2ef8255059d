"""ML fits of models with a discrete latent: random starts, label order, NPML's ``"auto"`` search.

Finite mixtures are multimodal, so :func:`fit_discrete` maximises the likelihood
(:mod:`glpp.likelihood.discrete`, exact: a sum over the points) from several random
starts (seeded), keeps the best, reports how many starts reached it and warns when
only one did. Labels are put in a canonical order after the fit: classes (and mass
points) by size, largest first, so the last (reference) class is the smallest.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from glpp.design.arrays import Design
from glpp.errors import ConvergenceWarning
from glpp.families import MixedFamily
from glpp.likelihood.discrete import compile_discrete
from glpp.likelihood.segments import segment_ends
from glpp.params.discrete import DiscreteLayout

__all__ = [
    "DEFAULT_STARTS", "DiscreteObjective", "StartsReport", "maximise_discrete", "permute_points", "same_optimum",
]

#: random starts by default (flexmix's stepFlexmix default nrep is 3; gllamm users are told 10+)
DEFAULT_STARTS = 10
#: two starts reached the same optimum when their log-likelihoods differ by less than this
#: (the optimiser stops at a relative change of ~1e-12, far below it)
SAME_OPTIMUM = 1e-3
#: bound on intercepts and locations on a link scale without a response scale: |eta| = 30 is
#: a probability of 1e-13, where a point has escaped to infinity for every practical purpose
LINK_BOUND = 30.0
#: bound on membership log-odds (a class of probability e-30 is empty)
LOGIT_BOUND = 30.0
#: bound on a growth mixture's log random-effect SD (an SD of e-10 is zero for every purpose)
LOG_SD_BOUND = 10.0
#: largest gradient entry at a maximum (log-likelihood units per parameter unit)
GRADIENT_TOLERANCE = 1e-4
#: parameters beyond this after BFGS are refitted within the bounds
ESCAPE_LIMIT = 25.0

_COMPILED: dict[tuple, dict] = {}


def _response_scale_free(family) -> bool:
    components = family.components if isinstance(family, MixedFamily) else ((family, None),)
    return not any(member.has_response_scale for member, _ in components)


class DiscreteObjective:
    """The log-likelihood of a discrete-latent model and its gradient (compiled once per structure)."""

    def __init__(self, design: Design, layout: DiscreteLayout, family, link):
        self.design, self.layout, self.family, self.link = design, layout, family, link
        discrete = design.discrete
        self.row_order = np.argsort(discrete.unit_index, kind="stable")  # rows sorted by unit
        balanced = discrete.item_index is not None and np.array_equal(
            discrete.item_index, np.tile(np.arange(len(discrete.item_names)), discrete.n_units)
        )
        self.regression = discrete.class_columns is not None
        self.functions = self._compile(balanced)
        rows = self.row_order
        trials = design.trials if design.trials is not None else np.ones(design.n_rows)
        item_index = discrete.item_index if discrete.item_index is not None else np.zeros(design.n_rows, int)
        covariate = discrete.shift_covariate if discrete.shift_covariate is not None else np.zeros(design.n_rows)
        self.data = [
            design.response[rows].astype(float), trials[rows].astype(float),
            design.fixed[rows][:, list(discrete.fixed_columns)].astype(float), design.offset[rows].astype(float),
            discrete.unit_index[rows].astype(np.int64), segment_ends(discrete.unit_index, discrete.n_units),
            item_index[rows].astype(np.int64), covariate[rows].astype(float), discrete.membership.astype(float),
        ]
        self.data += [
            index[rows].astype(np.int64) for index in (design.dispersion_index, design.family_index) if index is not None
        ]
        self.data.append(known_log_mask(discrete.known_class, discrete.n_units, layout.n_points))
        if self.regression:
            free_positions = np.flatnonzero(discrete.class_mask.ravel()).astype(np.int64)
            self.data += [discrete.class_columns[rows].astype(float), free_positions]

    def _compile(self, balanced: bool) -> dict:
        design, layout, family, link = self.design, self.layout, self.family, self.link
        key = (layout.kind, family.name, link.name, design.dispersion_index is not None, balanced, self.regression)
        if key not in _COMPILED:
            _COMPILED[key] = compile_discrete(
                layout.kind, family, link, with_dispersion_index=key[3], mixed=isinstance(family, MixedFamily),
                balanced=balanced, regression=self.regression,
            )
        return _COMPILED[key]

    #: no quadrature points (``Model.loglik_at`` asks)
    schedule = None

    def loglik(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood, its gradient and each unit's log-likelihood."""
        value, gradient, per_unit = self.functions["value_and_grad"](theta, self.layout.sizes, *self.data)
        return float(value), np.asarray(gradient), np.asarray(per_unit)

    def per_unit(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each unit's log-likelihood, posterior point probabilities and log prior weights."""
        return tuple(np.asarray(v) for v in self.functions["per_unit"](theta, self.layout.sizes, *self.data))

    def conditional_at(self, theta: np.ndarray, locations: np.ndarray) -> np.ndarray:
        """Mass points: each unit's conditional log-likelihood with the latent at each location."""
        return np.asarray(self.functions["conditional_at"](theta, self.layout.sizes, locations, *self.data))

    def bounds(self) -> list[tuple[float | None, float | None]]:
        shift = (-LINK_BOUND, LINK_BOUND) if _response_scale_free(self.family) else (None, None)
        limits = {
            "class_intercept": shift, "location": shift, "class_logodds": (-LOGIT_BOUND, LOGIT_BOUND),
            "sd": (-LOG_SD_BOUND, LOG_SD_BOUND),
        }
        return [limits.get(kind, (None, None)) for kind in self.layout.row_kinds]

    def hessian(self, theta: np.ndarray, step: float = 1e-5) -> np.ndarray:
        """Hessian of the log-likelihood by central differences of the exact gradient."""
        size = len(theta)
        hessian = np.empty((size, size))
        for k in range(size):
            delta = np.zeros(size)
            delta[k] = step * max(1.0, abs(theta[k]))
            hessian[:, k] = (self.loglik(theta + delta)[1] - self.loglik(theta - delta)[1]) / (2 * delta[k])
        return 0.5 * (hessian + hessian.T)


@dataclass(frozen=True)
class StartsReport:
    """How the random starts went.

    Attributes
    ----------
    logliks : ndarray
        Final log-likelihood of each start, in the order run.
    n_best : int
        Starts within :data:`SAME_OPTIMUM` of the best.
    seed : int or None
    """

    logliks: np.ndarray
    n_best: int
    seed: int | None


def known_log_mask(known_class: np.ndarray | None, n_units: int, n_points: int) -> np.ndarray:
    """``(n_units, K)``: 0, and -inf for the classes a unit is known not to be in (``known_class >= 0``)."""
    mask = np.zeros((n_units, n_points))
    if known_class is not None:
        known = known_class >= 0
        mask[known] = -np.inf
        mask[np.flatnonzero(known), known_class[known]] = 0.0
    return mask


def same_optimum(logliks: np.ndarray) -> int:
    """How many of ``logliks`` are within :data:`SAME_OPTIMUM` of the best."""
    return int(np.sum(logliks >= np.max(logliks) - SAME_OPTIMUM))


def random_start(objective: DiscreteObjective, rng: np.random.Generator) -> np.ndarray:
    """A start: classes from a random partition of the units (item intercepts per part), mass
    points spread at random; fixed effects from the responses' mean, dispersions from their spread."""
    design, layout = objective.design, objective.layout
    discrete, n_points = design.discrete, layout.n_points
    theta = np.zeros(layout.n_theta)
    trials = design.trials if design.trials is not None else np.ones(design.n_rows)
    if discrete.class_columns is not None:
        theta[: layout.block("class_effect").stop] = _class_effect_start(objective, rng)
    elif layout.kind == "classes":
        part = rng.integers(n_points, size=discrete.n_units)[discrete.unit_index]
        starts = np.zeros((len(discrete.item_names), n_points))
        for item in range(len(discrete.item_names)):
            member, member_link = _component(objective, item)
            for c in range(n_points):
                rows = (discrete.item_index == item) & (part == c)
                rows = rows if rows.any() else discrete.item_index == item
                starts[item, c] = member.start_eta(member_link, design.response[rows], trials[rows])
        theta[layout.block("class_intercept")] = np.clip(starts, -5, 5).ravel()
    else:
        intercept = [k for k, j in enumerate(discrete.fixed_columns) if np.all(design.fixed[:, j] == 1.0)]
        theta[intercept] = objective.family.start_eta(objective.link, design.response, design.trials)
        theta[layout.block("location")] = rng.normal(0.0, 1.0, size=n_points - 1)
    logodds = layout.block("class_logodds")
    theta[logodds] = rng.normal(0.0, 0.5, size=logodds.stop - logodds.start)
    theta[layout.block("aux")] = _dispersion_start(objective)
    theta[layout.block("sd")] = np.log(0.5 * _response_spread(objective))
    return theta


def _response_spread(objective: DiscreteObjective) -> float:
    """The responses' spread on the link scale where the family has one (a response scale), else 1."""
    if isinstance(objective.family, MixedFamily):
        return 1.0
    return objective.family.eta_scale(objective.design.response) or 1.0


def _class_effect_start(objective: DiscreteObjective, rng: np.random.Generator) -> np.ndarray:
    """Fixed effects and class coefficients of a regression with class terms: the link-scale
    mean of the responses for the fixed intercept (if any) and for each class's intercept (from a
    random partition of the units that keeps the known classes), perturbed by a quarter of the
    responses' spread; slopes 0."""
    design, layout, family, link = objective.design, objective.layout, objective.family, objective.link
    discrete, n_points = design.discrete, layout.n_points
    part = rng.integers(n_points, size=discrete.n_units)
    if discrete.known_class is not None:
        part = np.where(discrete.known_class >= 0, discrete.known_class, part)
    part = part[discrete.unit_index]
    trials = design.trials if design.trials is not None else np.ones(design.n_rows)
    overall = family.start_eta(link, design.response, trials)
    fixed = np.zeros(len(discrete.fixed_columns))
    intercept = [k for k, j in enumerate(discrete.fixed_columns) if design.fixed_names[j] == "(Intercept)"]
    fixed[intercept] = overall
    gamma = np.zeros(discrete.class_mask.shape)
    if "(Intercept)" in discrete.class_column_names and not intercept:
        for c in range(n_points):
            rows = part == c if np.any(part == c) else np.ones(design.n_rows, bool)
            gamma[discrete.class_column_names.index("(Intercept)"), c] = family.start_eta(
                link, design.response[rows], trials[rows]
            )
    gamma += rng.normal(0.0, 0.25 * _response_spread(objective), size=gamma.shape)
    return np.concatenate([fixed, gamma[discrete.class_mask]])


def _component(objective: DiscreteObjective, item: int):
    family, design = objective.family, objective.design
    if not isinstance(family, MixedFamily):
        return family, objective.link
    row = np.flatnonzero(design.discrete.item_index == item)[0]
    return family.components[design.family_index[row]]


def _dispersion_start(objective: DiscreteObjective) -> np.ndarray:
    design = objective.design
    block = objective.layout.block("aux")
    count = block.stop - block.start
    if count == 0:
        return np.zeros(0)
    if design.dispersion_index is None:
        aux = objective.family.aux
        return np.full(count, np.log(aux.start(objective.family.eta_scale(design.response) or 1.0)))
    values = np.zeros(count)
    for k in range(count):
        rows = design.dispersion_index == k
        values[k] = np.log(max(float(np.std(design.response[rows])), 1e-3))
    return values


def climb(objective: DiscreteObjective, theta: np.ndarray) -> tuple[np.ndarray, float, bool, int]:
    """Maximise from ``theta`` (BFGS on the exact gradient; L-BFGS-B within :meth:`bounds` when
    intercepts or locations run off): estimate, log-likelihood, whether the optimiser reports
    convergence, iterations. (BFGS takes a quarter of L-BFGS-B's time on VerbAgg's 3 classes.)"""

    def negative(values):
        value, gradient, _ = objective.loglik(values)
        if not np.isfinite(value):
            return 1e300, np.zeros_like(values)
        return -value, -gradient

    result = minimize(negative, theta, jac=True, method="BFGS", options={"maxiter": 3000, "gtol": GRADIENT_TOLERANCE})
    iterations = int(result.nit)
    if np.any(np.abs(result.x) > ESCAPE_LIMIT):  # points running off to infinity: finish within bounds
        result = minimize(
            negative, np.clip(result.x, -ESCAPE_LIMIT, ESCAPE_LIMIT), jac=True, method="L-BFGS-B",
            bounds=objective.bounds(), options={"maxiter": 3000, "ftol": 1e-12, "gtol": GRADIENT_TOLERANCE},
        )
        iterations += int(result.nit)
    return result.x, -float(result.fun), bool(result.success), iterations


def canonical_order(objective: DiscreteObjective, theta: np.ndarray) -> np.ndarray:
    """``theta`` with the points relabelled by size, largest first (mean prior probability)."""
    layout, discrete = objective.layout, objective.design.discrete
    if discrete.known_class is not None or (discrete.class_mask is not None and not discrete.class_mask.all()):
        return theta  # the labels mean something: known classes, or terms of one class (C1:z)
    log_weights = objective.per_unit(theta)[2]
    order = np.argsort(-np.exp(log_weights).mean(axis=0), kind="stable")
    locations = point_locations(objective, theta) if layout.kind == "masspoints" else None
    return permute_points(layout, theta, order, regression=discrete.class_columns is not None, locations=locations)


def permute_points(
    layout: DiscreteLayout, theta: np.ndarray, order: np.ndarray, *, regression: bool,
    locations: np.ndarray | None = None,
) -> np.ndarray:
    """``theta`` with the points relabelled: new point ``c`` is old point ``order[c]`` (membership
    log-odds against the new last point; class intercepts or class terms moved with their class;
    mass points: the ``K`` ``locations``, all of them, reordered). Names and other rows unchanged."""
    theta = np.array(theta, dtype=float)
    n_points = layout.n_points
    logits = theta[layout.block("class_logodds")].reshape(n_points - 1, -1)
    full = np.vstack([logits, np.zeros((1, logits.shape[1]))])[order]
    theta[layout.block("class_logodds")] = (full[:-1] - full[-1]).ravel()
    if layout.kind == "classes":
        block = layout.block("class_effect" if regression else "class_intercept")
        theta[block] = theta[block].reshape(-1, n_points)[:, order].ravel()
    else:
        theta[layout.block("location")] = np.asarray(locations)[order][:-1]
    return theta


def point_locations(objective: DiscreteObjective, theta: np.ndarray) -> np.ndarray:
    """Mass points: all ``K`` locations (the last one from the zero-mean constraint)."""
    layout = objective.layout
    weights = np.exp(objective.per_unit(theta)[2][0])
    free = theta[layout.block("location")]
    return np.append(free, -np.sum(weights[:-1] * free) / weights[-1])


def maximise_discrete(
    objective: DiscreteObjective,
    *,
    starts: int,
    seed: int | None,
    warn: bool = True,
    extra_start: np.ndarray | None = None,
) -> tuple[np.ndarray, float, bool, StartsReport, float]:
    """Best of ``starts`` random starts, in canonical order: estimate, log-likelihood,
    convergence, the starts' report and the seconds taken.

    ``extra_start`` is tried as well (``masspoints("auto")``: the last fit and a point more).
    Warns (:class:`ConvergenceWarning`) when the best log-likelihood was reached by one start only.
    """
    began = time.perf_counter()
    rng = np.random.default_rng(seed)
    runs = [climb(objective, random_start(objective, rng)) for _ in range(starts)]
    if extra_start is not None:
        runs.append(climb(objective, extra_start))
    logliks = np.array([run[1] for run in runs])
    best = runs[int(np.argmax(logliks))]
    theta, loglik, success, _ = climb(objective, canonical_order(objective, best[0]))
    report = StartsReport(logliks, same_optimum(logliks), seed)
    if warn:
        warn_if_reached_once(report, loglik)
    return theta, loglik, success, report, time.perf_counter() - began


def warn_if_reached_once(report: StartsReport, loglik: float) -> None:
    """Warn (:class:`ConvergenceWarning`) when only one of several starts reached the best."""
    starts = len(report.logliks)
    if starts > 1 and report.n_best == 1:
        warnings.warn(
            f"the best log-likelihood ({loglik:.4f}) was reached by 1 of {starts} random starts: it may "
            "not be the global maximum; fit again with more starts (starts=...) or another seed",
            ConvergenceWarning,
            stacklevel=4,
        )
