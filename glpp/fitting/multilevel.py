"""ML fitting of models with three or more levels (two or more latent levels).

:class:`MultilevelObjective` turns the compiled functions of
:mod:`glpp.likelihood.multilevel` into ``theta -> (-loglik, -gradient)``. Before each
evaluation it finds, by vectorised Newton with step-halving
(:func:`glpp.fitting.modes.newton_search`: warm-started, converged to
|score| < 1e-9 so the objective is a deterministic function of ``theta``):

1. the joint posterior mode of the latents of every top-level cluster's tree
   (one Newton step solves the block-tree system exactly; step-halving is
   decided per top-level cluster);
2. the conditional mode of every lowest-level cluster at every context (the
   node values of its ancestors).

:func:`fit_multilevel` is the fitting chain used by :meth:`glpp.Model.fit`.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from glpp.errors import SpecError
from glpp.likelihood.gaussian import EXACT_DESCRIPTION, compile_gaussian_two_level, two_level_data_arguments
from glpp.likelihood.multilevel import ClusterOrder, MultilevelFunctions, ancestor_indices, compile_multilevel, multilevel_data
from glpp.fitting.modes import newton_direction, newton_search
from glpp.fitting.optim import ExactObjective, forward_hessian, maximise, warn_if_not_converged
from glpp.likelihood.latent import GaussHermiteLevel
from glpp.likelihood.quadrature import make_rule
from glpp.results.ml import MLResult, latent_table, variance_components

__all__ = [
    "MultilevelObjective",
    "fit_multilevel",
    "compiled_multilevel",
    "laplace_is_exact",
    "loglik_at_multilevel",
    "MULTILEVEL_NIP_SEQUENCE",
]

#: points per dimension tried by ``nip="auto"`` (the same at every level). Coarse steps:
#: the error of the lowest level's rule alternates in sign as points are added (guImmun at
#: its estimate: 7 -0.31, 11 +0.027, 15 +0.0019, 21 -0.0002, 31 +0.00001), so close
#: neighbours can agree by chance; each step roughly doubles the points
MULTILEVEL_NIP_SEQUENCE: tuple[int, ...] = (1, 7, 15, 31, 51)
AUTO_TOLERANCE = 1e-4
#: fewest points per dimension for empirical Bayes means and SDs (also after a Laplace fit)
EB_MIN_POINTS = 7
_COMPILED: dict[tuple, MultilevelFunctions] = {}
_COMPILED_TWO_LEVEL: dict[tuple, object] = {}


def per_level_points(n_points: int | tuple[int, ...], n_levels: int) -> tuple[int, ...]:
    """``n_points`` as one number of points per latent level (lowest first)."""
    if isinstance(n_points, (int, np.integer)):
        points = (int(n_points),) * n_levels
    else:
        points = tuple(int(p) for p in n_points)
    if len(points) != n_levels or any(p < 1 for p in points):
        raise SpecError(
            f"nip must be 'auto', a positive integer or {n_levels} positive integers "
            f"(one per latent level, lowest first), not {n_points!r}"
        )
    return points


def compiled_multilevel(layout, family, link) -> MultilevelFunctions:
    """Compiled functions, shared by every model with the same structure."""
    key = (layout.structure_key, family.name, link.name)
    if key not in _COMPILED:
        _COMPILED[key] = compile_multilevel(layout, family, link)
    return _COMPILED[key]


class MultilevelObjective:
    """Negative marginal log-likelihood and gradient of a multilevel model.

    Parameters
    ----------
    functions : MultilevelFunctions
    design : Design
    n_points : int
        Quadrature points per latent dimension, at every level.
    """

    def __init__(self, functions: MultilevelFunctions, design, n_points: int):
        self.functions = functions
        # clusters and rows in ClusterOrder (the top level keeps the design's order)
        self.order = ClusterOrder.of(design)
        self.data = multilevel_data(design, self.order)
        self.sizes = functions.level_sizes
        self.n_clusters = [level.n_clusters for level in design.levels]
        anc = ancestor_indices(design)
        top = len(self.sizes) - 1
        self.to_top = [anc[l][top][self.order.clusters[l]] if l < top else np.arange(self.n_clusters[top]) for l in range(top + 1)]
        self.joint = [np.zeros((n, d)) for n, d in zip(self.n_clusters, self.sizes)]
        self.conditional = np.zeros((self.n_clusters[0], 1, self.sizes[0]))
        self.n_evaluations = 0
        self._last: tuple | None = None
        self.set_rule(n_points)

    def set_rule(self, n_points: int | tuple[int, ...]) -> None:
        """Use ``n_points`` per latent dimension: one number for every level, or one per level (lowest first)."""
        points = per_level_points(n_points, len(self.sizes))
        self.n_points = points
        self.rules = []
        self._rule_arguments = []
        for d, level_points in zip(self.sizes, points):
            rule = make_rule(level_points, d, "product" if d <= 2 else "sparse")
            self.rules.append(rule)
            self._rule_arguments += GaussHermiteLevel.rule_arguments(rule)
        context = int(np.prod([rule.n_nodes for rule in self.rules[1:]]))
        self.conditional = np.repeat(self.joint[0][:, None, :], context, axis=1)

    @property
    def kind(self) -> str:
        return self.rules[0].kind

    def find_joint_modes(self, theta: np.ndarray) -> None:
        """The joint mode of every top-level cluster's latents (one problem per top-level cluster)."""
        start = [m if np.all(np.isfinite(m)) else np.zeros_like(m) for m in self.joint]
        n_levels = len(self.sizes)

        def terms(modes: list[np.ndarray]):
            out = self.functions.joint_terms(theta, *modes, *self.data)
            return out[0], out[1 : 1 + n_levels], out[1 + n_levels :]

        self.joint = newton_search(terms, start, self.to_top)

    def find_conditional_modes(self, theta: np.ndarray) -> None:
        """The mode of every lowest-level cluster given each context (its ancestors' node values)."""
        if self.functions.conditional_terms is None:
            return
        shape = self.conditional.shape
        start = self.conditional if np.all(np.isfinite(self.conditional)) else np.zeros(shape)

        def terms(modes: list[np.ndarray]):
            flat = modes[0]
            out = self.functions.conditional_terms(
                theta, *self.joint, flat.reshape(shape), *self._rule_arguments, *self.data
            )
            d = shape[2]
            score = out[1].reshape(-1, d)
            return out[0].reshape(-1), [score], [newton_direction(score, out[2].reshape(-1, d, d))]

        (flat,) = newton_search(terms, [start.reshape(-1, shape[2])])
        self.conditional = flat.reshape(shape)

    def prepare(self, theta: np.ndarray) -> list[np.ndarray]:
        self.find_joint_modes(theta)
        self.find_conditional_modes(theta)
        return [theta, *self.joint, self.conditional, *self._rule_arguments, *self.data]

    def loglik(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood, its gradient and the log-likelihood of each top-level cluster."""
        arguments = self.prepare(theta)
        self.n_evaluations += 1
        total, gradient, per_cluster = self.functions.loglik_and_grad(*arguments)
        return float(total), np.asarray(gradient), np.asarray(per_cluster)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        key = (self.n_points, theta.tobytes())
        if self._last is not None and self._last[0] == key:
            return self._last[1][0], self._last[1][1].copy()
        value = self._evaluate(theta)
        self._last = (key, value)
        return value

    def _evaluate(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            with np.errstate(all="ignore"):
                total, gradient, _ = self.loglik(theta)
        except (np.linalg.LinAlgError, FloatingPointError):
            total, gradient = -np.inf, np.zeros_like(theta)
        if not np.isfinite(total) or not np.all(np.isfinite(gradient)):
            self.joint = [np.zeros_like(m) for m in self.joint]
            self.conditional = np.zeros_like(self.conditional)
            return 1e300, np.zeros_like(theta)
        return -total, -gradient

    def posterior_moments(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Posterior mean and covariance of the standardised latents, per level."""
        out = self.functions.posterior_moments(*self.prepare(theta))
        moments = []
        for l, clusters in enumerate(self.order.clusters):
            mean, covariance = np.empty_like(out[2 * l]), np.empty_like(out[2 * l + 1])
            mean[clusters], covariance[clusters] = out[2 * l], out[2 * l + 1]
            moments.append((mean, covariance))
        return moments


def _next_points(points: int) -> int | None:
    """The next number of points of ``MULTILEVEL_NIP_SEQUENCE`` (None after the last)."""
    larger = [p for p in MULTILEVEL_NIP_SEQUENCE if p > points]
    return larger[0] if larger else None


def fit_multilevel(model, *, nip: int | tuple[int, ...] | str = "auto", verbose: bool = False) -> MLResult:
    """Fit a model with two or more latent levels (see :meth:`glpp.Model.fit`).

    ``nip="auto"`` chooses the points of each level separately (GLLAMM's
    levels differ: a level with few, binary responses per cluster needs many
    points, a level with large clusters few): after the Laplace fit and a
    fit with 7 points everywhere, the log-likelihood at the estimate is
    evaluated with each level's points raised to the next number of
    ``MULTILEVEL_NIP_SEQUENCE``; the levels where it changes by
    ``AUTO_TOLERANCE`` or more get the larger number and the model is refitted,
    until no level's change reaches the tolerance. With gaussian responses and
    identity link the Laplace approximation is exact (every integrand is a
    normal density), and ``nip="auto"`` stops there; a two-level measurement
    model on wide data with such items (``Design.two_level_normal``) is then
    fitted by its closed form instead (:func:`glpp.likelihood.gaussian.compile_gaussian_two_level`).
    """
    started = time.perf_counter()
    if nip == "auto" and model.design.two_level_normal:
        return _fit_exact_two_level(model, verbose, started)
    layout = model.layout
    n_levels = len(layout.level_sizes)
    laplace = (1,) * n_levels
    exact = laplace_is_exact(model.family, model.link)
    if nip == "auto":
        target = laplace if exact else (MULTILEVEL_NIP_SEQUENCE[1],) * n_levels
    elif isinstance(nip, str):
        raise SpecError(f"nip must be 'auto', a positive integer or one per latent level, not {nip!r}")
    else:
        target = per_level_points(nip, n_levels)
    functions = compiled_multilevel(layout, model.family, model.link)
    objective = MultilevelObjective(functions, model.design, laplace)
    callback = (lambda iteration, value: print(f"  iteration {iteration:4d}  loglik {value:.6f}")) if verbose else None
    theta, inverse_hessian = model._warm_start(objective)
    nip_path: dict[tuple[int, ...], float] = {}

    def fit_at(points: tuple[int, ...]):
        nonlocal theta, inverse_hessian
        objective.set_rule(points)
        outcome = maximise(objective, theta, callback=callback, inverse_hessian=inverse_hessian)
        inverse_hessian = outcome.inverse_hessian
        theta = outcome.theta
        nip_path[points] = outcome.loglik
        if verbose:
            print(f"nip={points}: loglik {outcome.loglik:.6f} ({outcome.n_iterations} iterations)")
        return outcome

    # the Laplace fit is a cheap warm start (estimate and inverse Hessian)
    result = fit_at(laplace)
    points = laplace
    if target != laplace:
        points = target
        result = fit_at(points)
    while nip == "auto" and not exact:
        raised = []
        for level in range(n_levels):
            larger = _next_points(points[level])
            if larger is None:
                continue
            trial = points[:level] + (larger,) + points[level + 1 :]
            objective.set_rule(trial)
            nip_path[trial] = -objective(theta)[0]
            if abs(nip_path[trial] - result.loglik) >= AUTO_TOLERANCE:
                raised.append(level)
        objective.set_rule(points)
        if not raised:
            break
        points = tuple(_next_points(p) if level in raised else p for level, p in enumerate(points))
        result = fit_at(points)
        if all(_next_points(p) is None for p in points):
            warnings.warn(
                f"nip='auto' stopped at {points} points per level without the log-likelihood settling to "
                f"{AUTO_TOLERANCE}; the quadrature may be inaccurate",
                stacklevel=3,
            )
            break
    hessian = forward_hessian(objective, theta, result.gradient)
    objective(theta)
    converged = warn_if_not_converged(result, hessian, list(layout.natural_names))
    seconds = time.perf_counter() - started
    n_points = objective.n_points
    if all(p == 1 for p in n_points):
        quadrature = "Laplace approximation (adaptive quadrature, 1 point per level)"
        if exact:
            quadrature += ", exact for gaussian responses with identity link"
    else:
        parts = [
            f"{p} points per dimension at level {level.name}" if rule.kind == "product" else f"sparse grid level {p} at level {level.name}"
            for level, rule, p in zip(model.design.levels, objective.rules, n_points)
        ]
        quadrature = "adaptive Gauss-Hermite quadrature, " + ", ".join(parts)

    def moments() -> list[tuple[np.ndarray, np.ndarray]]:
        # posterior SDs need more than one node: EB moments use at least EB_MIN_POINTS
        objective.set_rule(tuple(max(p, EB_MIN_POINTS) for p in n_points))
        level_moments = objective.posterior_moments(theta)
        objective.set_rule(n_points)
        return level_moments

    nip_reported = n_points[0] if len(set(n_points)) == 1 else n_points
    return _result(model, result, theta, hessian, converged, nip_path, seconds, quadrature, nip_reported, moments)


def _fit_exact_two_level(model, verbose: bool, started: float) -> MLResult:
    """ML by the closed-form likelihood of a two-level jointly normal model (:func:`compile_gaussian_two_level`)."""
    objective, order = two_level_objective(model)
    callback = (lambda iteration, value: print(f"  iteration {iteration:4d}  loglik {value:.6f}")) if verbose else None
    result, hessian, converged = model._maximise_exact(objective, callback)
    seconds = time.perf_counter() - started

    def moments() -> list[tuple[np.ndarray, np.ndarray]]:
        unit_mean, unit_covariance, cluster_mean, cluster_covariance = (
            np.asarray(values) for values in objective.functions.posterior_moments(result.theta, *objective.data)
        )
        design_order = np.empty_like(order)
        design_order[order] = np.arange(order.size)
        return [(unit_mean[design_order], unit_covariance[design_order]), (cluster_mean, cluster_covariance)]

    quadrature = f"{EXACT_DESCRIPTION} (units within clusters of {model.design.levels[1].name})"
    return _result(model, result, result.theta, hessian, converged, {}, seconds, quadrature, 0, moments)


def two_level_objective(model) -> tuple[ExactObjective, np.ndarray]:
    """The closed-form objective of a two-level jointly normal model, and its unit order
    (see :func:`glpp.likelihood.gaussian.two_level_data_arguments`)."""
    key = model.layout.structure_key
    if key not in _COMPILED_TWO_LEVEL:
        _COMPILED_TWO_LEVEL[key] = compile_gaussian_two_level(model.layout)
    data, order = two_level_data_arguments(model.design)
    return ExactObjective(_COMPILED_TWO_LEVEL[key], data), order


#: ``Model.loglik_at``'s points per dimension and level when ``nip="auto"`` and Laplace is not exact
LOGLIK_AT_NIP = 15


def loglik_at_multilevel(
    model, theta: np.ndarray, nip: int | tuple[int, ...] | str, per_cluster: bool
) -> float | np.ndarray:
    """The log-likelihood at ``theta`` (total, or per top-level cluster) of a model with two or more latent levels."""
    n_levels = len(model.layout.level_sizes)
    if nip == "auto" and model.design.two_level_normal:
        total, _, clusters = two_level_objective(model)[0].loglik(theta)
        return clusters if per_cluster else total
    if nip == "auto":
        nip = 1 if laplace_is_exact(model.family, model.link) else LOGLIK_AT_NIP
    functions = compiled_multilevel(model.layout, model.family, model.link)
    objective = MultilevelObjective(functions, model.design, per_level_points(nip, n_levels))
    total, _, clusters = objective.loglik(theta)
    return clusters if per_cluster else total


def laplace_is_exact(family, link) -> bool:
    """Gaussian responses with identity link (every item, for a family per item): one adaptive point is exact."""
    components = getattr(family, "components", None)
    if components is None:
        return (family.name, link.name) == ("gaussian", "identity")
    return all((member.name, member_link.name) == ("gaussian", "identity") for member, member_link in components)


def _result(model, result, theta, hessian, converged, nip_path, seconds, quadrature, nip, moments) -> MLResult:
    """The MLResult of a fit with latents at several levels; ``moments()`` gives each level's
    posterior means and covariances of the standardised latents (for ``latent()``)."""
    layout, design = model.layout, model.design
    names = list(layout.natural_names)
    covariance = layout.natural_covariance(theta, hessian)
    with np.errstate(invalid="ignore"):
        standard_errors = np.sqrt(np.diag(covariance))
    components = variance_components(design.levels, layout.covariances(theta), theta, layout.dispersion_names)

    def latent() -> pd.DataFrame:
        factors = layout.cholesky_factors(theta)
        return pd.concat(
            [
                latent_table(level, *level_moments, factors[number])
                for number, (level, level_moments) in enumerate(zip(design.levels, moments()))
            ],
            ignore_index=True,
        )

    return MLResult(
        params=pd.Series(layout.natural(theta), index=names),
        se=pd.Series(standard_errors, index=names),
        loglik=float(result.loglik),
        n_params=layout.n_theta,
        n_obs=design.n_rows,
        n_dropped=design.n_dropped,
        converged=converged,
        nip=nip,
        quadrature=quadrature,
        covariance=pd.DataFrame(covariance, index=names, columns=names),
        variance_components=components,
        n_clusters={level.name: level.n_clusters for level in design.levels},
        family=model.family.name,
        link=model.link.name,
        formula=model.formula,
        nip_path=nip_path,
        n_iterations=result.n_iterations,
        fit_seconds=seconds,
        _latent=latent,
    )
