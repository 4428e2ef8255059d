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

:func:`glpp.fitting.engines.make_objective` chooses this engine for models with
two or more latent levels; :func:`glpp.fitting.ml.maximise_likelihood` fits it.
"""

from __future__ import annotations

import numpy as np

from glpp.errors import SpecError
from glpp.likelihood.multilevel import ClusterOrder, MultilevelFunctions, ancestor_indices, compile_multilevel, multilevel_data
from glpp.fitting.modes import newton_direction, newton_search
from glpp.likelihood.latent import GaussHermiteLevel
from glpp.likelihood.quadrature import make_rule

__all__ = ["MultilevelObjective", "compiled_multilevel", "per_level_points"]

_COMPILED: dict[tuple, MultilevelFunctions] = {}


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
        self.to_top = [
            anc[level][top][self.order.clusters[level]] if level < top else np.arange(self.n_clusters[top])
            for level in range(top + 1)
        ]
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
        for level, clusters in enumerate(self.order.clusters):
            mean, covariance = np.empty_like(out[2 * level]), np.empty_like(out[2 * level + 1])
            mean[clusters], covariance[clusters] = out[2 * level], out[2 * level + 1]
            moments.append((mean, covariance))
        return moments
