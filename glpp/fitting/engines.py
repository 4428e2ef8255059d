"""``make_objective``: a model's marginal log-likelihood, by the engine chosen here and only here.

Five engines compute the marginal log-likelihood of a design:

- ``"fixed only"``: a model without latent variables (a GLM): a sum over rows
  (:func:`glpp.likelihood.fixed_only.compile_fixed_only`);

- ``"exact"``: the closed form of jointly normal items on wide data (CFA, SEM;
  :func:`glpp.likelihood.gaussian.compile_gaussian_marginal`);
- ``"exact two-level"``: the closed form of a two-level measurement model of
  such items (:func:`glpp.likelihood.gaussian.compile_gaussian_two_level`);
- ``"quadrature"``: (adaptive) Gauss-Hermite quadrature over one latent level
  (:mod:`glpp.likelihood.two_level`, :class:`glpp.fitting.optim.AdaptiveObjective`);
- ``"multilevel"``: adaptive quadrature level by level over two or more latent
  levels (:mod:`glpp.likelihood.multilevel`, :class:`glpp.fitting.multilevel.MultilevelObjective`).

Each returned objective is ``theta -> (-loglik, -gradient)`` (what
:func:`glpp.fitting.optim.maximise` minimises; lme4's ``devFunOnly``), with
``loglik(theta)``, the number of quadrature points per latent level and the
``nip`` schedule of :func:`glpp.fitting.ml.maximise_likelihood`. Compiled functions are
cached per model structure, so a second objective of the same model costs
no compilation.
"""

from __future__ import annotations

import numpy as np

from glpp.design.build import Design
from glpp.errors import ConvergenceWarning, SpecError, warn_user
from glpp.fitting.mixture import make_discrete_objective
from glpp.fitting.multilevel import MultilevelObjective, compiled_multilevel
from glpp.fitting.nip import NipSchedule, make_schedule
from glpp.fitting.optim import AdaptiveObjective, ExactObjective
from glpp.likelihood.gaussian import (
    EXACT_DESCRIPTION,
    compile_gaussian_marginal,
    compile_gaussian_two_level,
    gaussian_data_arguments,
    two_level_data_arguments,
)
from glpp.likelihood.fixed_only import compile_fixed_only, fixed_only_data_arguments
from glpp.likelihood.quadrature import make_rule
from glpp.likelihood.backend import get_backend
from glpp.likelihood.two_level import compile_two_level, data_arguments
from glpp.params import ParameterLayout

__all__ = [
    "EB_MIN_POINTS",
    "EB_TOLERANCE",
    "EB_MAX_NODES",
    "ClosedFormObjective",
    "FixedOnlyObjective",
    "MultilevelQuadratureObjective",
    "Objective",
    "QuadratureObjective",
    "compiled_gaussian",
    "compiled_gaussian_two_level",
    "compiled_multilevel",
    "compiled_two_level",
    "make_objective",
]

#: fewest points per dimension for empirical Bayes means and SDs (also after a Laplace fit)
EB_MIN_POINTS = 7
#: the same for sparse grids (level 3 integrates polynomials of degree 5 exactly)
EB_MIN_SPARSE_LEVEL = 3
#: EB means and SDs settle when raising the points (every level to the next number of its
#: ``nip="auto"`` sequence) changes none of them, on the scale of the effects, by this much.
#: The fit's points need not be enough: at toenail's Laplace estimate (sd 4.6), 7 points err
#: by 0.11 in an EB mean, 45 by 8e-4 and 91 by 2e-5
EB_TOLERANCE = 1e-4
#: EB moments raise the points no further than this many nodes per top-level cluster (the
#: product over the latent levels): poisson3's two levels (2 + 1 latents) take 0.6 s at 15
#: points per dimension (3375 nodes) and 5 s at 31 (29791)
EB_MAX_NODES = 10_000

_CACHE: dict[tuple, object] = {}


def _cached(key: tuple, compile_function, *arguments):
    key = (*key, get_backend())  # glpp.set_backend takes effect at the next fit
    if key not in _CACHE:
        _CACHE[key] = compile_function(*arguments)
    return _CACHE[key]


def compiled_two_level(layout: ParameterLayout, family, link, adaptive: bool = True):
    """Compiled quadrature functions of one latent level, shared by every model with the same structure."""
    return _cached(
        ("quadrature", layout.structure_key, family.name, link.name, adaptive),
        compile_two_level,
        layout,
        family,
        link,
        adaptive,
    )


def compiled_fixed_only(layout: ParameterLayout, family, link):
    """Compiled log-likelihood of a model without latents (a GLM)."""
    return _cached(("fixed only", layout.structure_key, family.name, link.name), compile_fixed_only, layout, family, link)


def compiled_gaussian(layout: ParameterLayout):
    """Compiled closed-form functions of jointly normal items (one latent level)."""
    return _cached(("exact", layout.structure_key), compile_gaussian_marginal, layout)


def compiled_gaussian_two_level(layout: ParameterLayout):
    """Compiled closed-form functions of a two-level jointly normal measurement model."""
    return _cached(("exact two-level", layout.structure_key), compile_gaussian_two_level, layout)


class Objective:
    """The marginal log-likelihood of one model by one engine (see :func:`make_objective`).

    Attributes
    ----------
    engine : str
        ``"exact"``, ``"exact two-level"``, ``"quadrature"`` or ``"multilevel"``.
    design, layout, family, link
        The model it belongs to.
    schedule : NipSchedule or None
        The quadrature points a fit uses (``None`` for a closed form).
    inner
        The engine's objective (:class:`~glpp.fitting.optim.AdaptiveObjective`, ...).
    """

    engine = ""
    closed_form = False
    #: ``"ml"``; a penalised objective (:mod:`glpp.bayes.map`) says ``"map"``
    method = "ml"
    prior_lines: tuple[str, ...] = ()

    def __init__(
        self,
        inner,
        design: Design,
        layout: ParameterLayout,
        family,
        link,
        schedule: NipSchedule | None,
    ):
        self.inner = inner
        self.design, self.layout, self.family, self.link = design, layout, family, link
        self.schedule = schedule

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """``(-loglik, -gradient)`` at ``theta`` (a large finite value where the likelihood breaks down)."""
        return self.inner(theta)

    def loglik(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood at ``theta``, its gradient and the log-likelihood of each top-level cluster (unit)."""
        return self.inner.loglik(theta)

    def log_prior(self, theta: np.ndarray) -> float:
        """The log-prior added to the log-likelihood (0: maximum likelihood)."""
        return 0.0

    @property
    def points(self) -> tuple[int, ...]:
        """Quadrature points per dimension (sparse-grid level) per latent level, lowest first; ``()`` for a closed form."""
        return ()

    def set_points(self, points: tuple[int, ...]) -> None:
        """Integrate with ``points`` per dimension per latent level from now on."""
        raise ValueError(f"the {self.engine} likelihood has no quadrature points")

    @property
    def nip(self) -> int | tuple[int, ...]:
        """``MLResult.nip``: 0 for a closed form, else one number or one per level where they differ."""
        points = self.points
        return points[0] if len(set(points)) == 1 else points

    @property
    def quadrature(self) -> str:
        """``MLResult.quadrature``: how the latents are integrated out."""
        raise NotImplementedError

    def latent_moments(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Posterior means and covariances of the standardised latents per latent level (design order)."""
        raise NotImplementedError


class ClosedFormObjective(Objective):
    """The exact marginal likelihood of jointly normal items: nothing to integrate."""

    closed_form = True

    def __init__(
        self,
        inner: ExactObjective,
        design,
        layout,
        family,
        link,
        unit_order: np.ndarray | None = None,
    ):
        super().__init__(inner, design, layout, family, link, None)
        self.engine = "exact" if unit_order is None else "exact two-level"
        self.unit_order = unit_order

    @property
    def nip(self) -> int:
        return 0

    @property
    def quadrature(self) -> str:
        if self.unit_order is None:
            return EXACT_DESCRIPTION
        return f"{EXACT_DESCRIPTION} (units within clusters of {self.design.levels[1].name})"

    def latent_moments(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        if self.unit_order is None:
            return [self.inner.posterior_moments(theta)]
        unit_mean, unit_covariance, cluster_mean, cluster_covariance = (
            np.asarray(values)
            for values in self.inner.functions.posterior_moments(theta, *self.inner.data)
        )
        design_order = np.empty_like(self.unit_order)
        design_order[self.unit_order] = np.arange(self.unit_order.size)
        return [
            (unit_mean[design_order], unit_covariance[design_order]),
            (cluster_mean, cluster_covariance),
        ]


class FixedOnlyObjective(Objective):
    """The log-likelihood of a model without latent variables (a GLM): a sum over rows."""

    engine = "fixed only"
    closed_form = True

    def __init__(self, design, layout, family, link):
        inner = ExactObjective(compiled_fixed_only(layout, family, link), fixed_only_data_arguments(design))
        super().__init__(inner, design, layout, family, link, None)

    @property
    def nip(self) -> int:
        return 0

    @property
    def quadrature(self) -> str:
        return "no latent variables: nothing to integrate"

    def latent_moments(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        return []


class QuadratureObjective(Objective):
    """(Adaptive) Gauss-Hermite quadrature over one latent level."""

    engine = "quadrature"

    def __init__(
        self,
        inner: AdaptiveObjective,
        design,
        layout,
        family,
        link,
        schedule: NipSchedule,
        kind: str,
    ):
        super().__init__(inner, design, layout, family, link, schedule)
        self.kind = kind

    @property
    def points(self) -> tuple[int, ...]:
        return (self.inner.rule.n_points,)

    def set_points(self, points: tuple[int, ...]) -> None:
        (n_points,) = points
        self.inner.set_rule(make_rule(n_points, self.inner.functions.n_latents, self.kind))

    @property
    def quadrature(self) -> str:
        (n_points,) = self.points
        adaptive = self.inner.functions.adaptive
        if self.kind == "product" and adaptive and n_points == 1:
            return "Laplace approximation (adaptive quadrature, 1 point)"
        return f"{'adaptive' if adaptive else 'non-adaptive'} Gauss-Hermite quadrature, " + (
            f"{n_points} points per dimension"
            if self.kind == "product"
            else f"sparse grid level {n_points}"
        )

    def posterior_moments(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Posterior moments of the standardised latents at the current points (one level)."""
        return [self.inner.posterior_moments(theta)]

    @property
    def adaptive(self) -> bool:
        return self.inner.functions.adaptive

    @property
    def n_nodes(self) -> int:
        """Quadrature nodes per cluster of the current rule."""
        return self.inner.rule.n_nodes

    def latent_moments(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        fewest = EB_MIN_POINTS if self.kind == "product" else EB_MIN_SPARSE_LEVEL
        return settled_moments(self, theta, fewest)


class MultilevelQuadratureObjective(Objective):
    """Adaptive quadrature level by level over two or more latent levels."""

    engine = "multilevel"
    adaptive = True

    @property
    def n_nodes(self) -> int:
        """Quadrature nodes per top-level cluster of the current rules (their product over the levels)."""
        return int(np.prod([rule.n_nodes for rule in self.inner.rules]))

    @property
    def points(self) -> tuple[int, ...]:
        return tuple(self.inner.n_points)

    def set_points(self, points: tuple[int, ...]) -> None:
        self.inner.set_rule(tuple(points))

    @property
    def quadrature(self) -> str:
        points = self.points
        if all(p == 1 for p in points):
            text = "Laplace approximation (adaptive quadrature, 1 point per level)"
            if self.family.is_linear_gaussian(self.link):
                text += ", exact for gaussian responses with identity link"
            return text
        parts = [
            f"{p} points per dimension at level {level.name}"
            if rule.kind == "product"
            else f"sparse grid level {p} at level {level.name}"
            for level, rule, p in zip(self.design.levels, self.inner.rules, points)
        ]
        return "adaptive Gauss-Hermite quadrature, " + ", ".join(parts)

    def posterior_moments(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Posterior moments of the standardised latents per latent level at the current points."""
        return self.inner.posterior_moments(theta)

    def latent_moments(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        return settled_moments(self, theta, EB_MIN_POINTS)


def settled_moments(
    objective: QuadratureObjective | MultilevelQuadratureObjective, theta: np.ndarray, fewest: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Posterior moments of the standardised latents by quadrature, with enough points for EB.

    Starts at the objective's points (at least ``fewest`` per level: a single node gives
    posterior SD 0) and raises every level to the next number of its ``nip="auto"``
    sequence until the EB means and SDs of the effects change by less than
    :data:`EB_TOLERANCE`; warns (:class:`~glpp.ConvergenceWarning`) where the sequences
    end first, or the next rule would have more than :data:`EB_MAX_NODES` nodes (silent
    where no second rule could be tried: nothing to compare). Adaptive rules of gaussian
    responses with identity link are exact (the posterior is normal): no raising. The
    objective's points are left as they were.
    """
    original = objective.points
    factors = objective.layout.cholesky_factors(theta)
    points = tuple(max(p, fewest) for p in original)
    try:
        objective.set_points(points)
        moments = objective.posterior_moments(theta)
        if objective.adaptive and objective.family.is_linear_gaussian(objective.link):
            return moments
        change = None
        while True:
            raised = objective.schedule.raised(points, range(len(points)))
            if raised is not None:
                objective.set_points(raised)
            if raised is None or objective.n_nodes > EB_MAX_NODES:
                if change is not None:
                    warn_user(
                        f"EB means and SDs of the latents may be inaccurate: they changed by {change:.2g} "
                        f"when the points per dimension were raised to {points}, the most used for them",
                        ConvergenceWarning,
                    )
                return moments
            new = objective.posterior_moments(theta)
            change = _largest_effect_change(moments, new, factors)
            points, moments = raised, new
            if change < EB_TOLERANCE:
                return moments
    finally:
        objective.set_points(original)


def _largest_effect_change(old, new, factors: list[np.ndarray]) -> float:
    """Largest change of an EB mean or SD of the effects ``L u`` between two sets of moments."""
    change = 0.0
    for (old_mean, old_cov), (new_mean, new_cov), factor in zip(old, new, factors):
        mean_change = np.abs((new_mean - old_mean) @ factor.T)
        old_sd, new_sd = (
            np.sqrt(np.maximum(np.einsum("ab,jbc,ac->ja", factor, covariance, factor), 0.0))
            for covariance in (old_cov, new_cov)
        )
        change = max(change, float(np.max(mean_change, initial=0.0)), float(np.max(np.abs(new_sd - old_sd), initial=0.0)))
    return change


def _closed_form(design: Design, nip) -> str | None:
    """The closed form that ``nip`` selects for ``design`` (``None``: quadrature).

    Residual covariances of items exist in the closed form only: asking for
    quadrature (an integer ``nip``) with them is an error.
    """
    engine = None
    if nip == "auto" and len(design.levels) == 1 and design.jointly_normal:
        engine = "exact"
    elif nip == "auto" and len(design.levels) > 1 and design.two_level_normal:
        engine = "exact two-level"
    if design.residual_covariances and engine is None:
        covariance = design.residual_covariances[0]
        raise SpecError(
            f"'{covariance.left} ~~ {covariance.right}': residual covariances of items are fitted by the exact "
            f"multivariate normal likelihood only (quadrature assumes items independent given the latents); "
            f"use nip='auto', not nip={nip!r}"
        )
    return engine


def make_objective(
    design: Design,
    layout: ParameterLayout,
    family,
    link,
    *,
    nip: int | tuple[int, ...] | str = "auto",
    adaptive: bool = True,
    rule: str | None = None,
) -> Objective:
    """The marginal log-likelihood of a model: the engine is chosen here (lme4's ``mkGlmerDevfun``).

    Parameters
    ----------
    design : Design
        From :func:`glpp.design.build_design` (``Model.design``).
    layout : ParameterLayout
        ``Model.layout``: the map from ``theta`` to the parameters.
    family, link
        ``Model.family`` and ``Model.link``.
    nip : int, tuple of int or "auto"
        Ignored for a model without latents (a GLM). ``"auto"``: the closed form where there is one (jointly normal items on
        wide data, one or two latent levels), else quadrature starting at the
        Laplace rule, raised by :func:`glpp.fitting.ml.maximise_likelihood` (see
        :mod:`glpp.fitting.nip`). An integer: that many points per dimension
        (sparse-grid level) at every latent level; a tuple: one number per
        latent level, lowest first.
    adaptive : bool
        Centre and scale the nodes at each cluster's posterior mode (one latent level only).
    rule : {"product", "sparse"}, optional
        Product rule (default up to two latents per level) or Smolyak sparse grid.

    Returns
    -------
    Objective
        ``objective(theta) -> (-loglik, -gradient)``; ``objective.loglik(theta)
        -> (loglik, gradient, per-cluster logliks)``.

    Examples
    --------
    >>> model = glpp.Model("outcome ~ treatment + month + trt_month + (1 | patient)", toenail, family="binomial")
    >>> objective = make_objective(model.design, model.layout, model.family, model.link, nip=15)
    >>> theta = model.layout.theta_from_named(model.fit().params)
    >>> loglik, gradient, per_cluster = objective.loglik(theta)
    """
    if design.discrete is not None:  # an exact sum over the points (glpp.fitting.discrete)
        return make_discrete_objective(design, layout, family, link, nip=nip)
    if not design.levels:  # a GLM: nothing to integrate, ``nip`` does not apply
        return FixedOnlyObjective(design, layout, family, link)
    sizes = tuple(level.n_latents for level in design.levels)
    if len(sizes) > 1 and (not adaptive or rule not in (None, "product")):
        raise SpecError("models with three or more levels use adaptive product quadrature only")
    engine = _closed_form(design, nip)
    if engine == "exact":
        return ClosedFormObjective(
            ExactObjective(compiled_gaussian(layout), gaussian_data_arguments(design)),
            design,
            layout,
            family,
            link,
        )
    if engine == "exact two-level":
        data, order = two_level_data_arguments(design)
        inner = ExactObjective(compiled_gaussian_two_level(layout), data)
        return ClosedFormObjective(inner, design, layout, family, link, unit_order=order)
    kinds = tuple(rule or ("product" if d <= 2 else "sparse") for d in sizes)
    exact = family.is_linear_gaussian(link)
    schedule = make_schedule(nip, sizes, kinds, adaptive=adaptive, laplace_exact=exact)
    points = schedule.first if schedule.auto else schedule.target
    if len(sizes) > 1:
        inner = MultilevelObjective(compiled_multilevel(layout, family, link), design, points)
        return MultilevelQuadratureObjective(inner, design, layout, family, link, schedule)
    functions = compiled_two_level(layout, family, link, adaptive)
    inner = AdaptiveObjective(
        functions,
        data_arguments(design),
        design.levels[0].n_clusters,
        make_rule(points[0], sizes[0], kinds[0]),
    )
    return QuadratureObjective(inner, design, layout, family, link, schedule, kinds[0])
