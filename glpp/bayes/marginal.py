"""The marginal kind's per-cluster log-likelihood: the latents integrated out by adaptive
Gauss-Hermite quadrature inside the PyMC graph.

The adaptive-quadrature graph is that of the ML path
(:class:`glpp.likelihood.two_level.OneLevelGraph`); its per-cluster log-likelihood
becomes a :func:`pymc.Potential` (:func:`glpp.bayes.build_pymc_model`). Each cluster's
mode is found inside the compiled graph: :data:`GRAPH_NEWTON_STEPS` undamped,
vectorised Newton steps from a warm start extrapolated from earlier
evaluations (:class:`WarmStartOp`); :class:`ModeOp` checks convergence and,
when it is not reached (the first evaluation, a far jump), completes the
search with the damped Newton method of
:meth:`glpp.fitting.optim.AdaptiveObjective.find_modes`. The modes carry no
gradient: the graph takes one more Newton step from them, which carries
``dm/dtheta``, so the gradient of the approximation is exact; and the
density does not depend on the warm start (to ~1e-12).
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.graph.replace import graph_replace

from glpp.fitting.engines import compiled_two_level
from glpp.fitting.optim import AdaptiveObjective
from glpp.likelihood.latent import GaussHermiteLevel
from glpp.likelihood.quadrature import make_rule
from glpp.likelihood.two_level import OneLevelGraph, data_arguments

__all__ = ["WarmStartOp", "ModeOp"]

#: undamped Newton steps from the warm start taken inside the compiled graph
GRAPH_NEWTON_STEPS = 5
#: the in-graph search is accepted when the largest |score| before its last step is below
#: this; that step leaves |score| of order 1e-6 (quadratic convergence), and the graph's own
#: Newton step (which carries dm/dtheta) takes the mode to ~1e-12
MODE_SCORE_TOLERANCE = 1e-3
#: evaluations kept for warm starts, and the largest extrapolation step (see :class:`_ModeState`)
WARM_START_HISTORY = 8
WARM_START_EXTRAPOLATION = 2.0


class _ModeState:
    """Recent modes and the fallback mode search of one marginal PyMC model.

    Shared by :class:`WarmStartOp` and :class:`ModeOp`; pickled without the compiled
    fallback (rebuilt from the compile cache in a sampling process).

    The warm start of an evaluation at ``theta`` is extrapolated from the stored
    evaluation nearest to ``theta`` (``a``) and the one nearest to that (``b``):
    ``m_a + t (m_a - m_b)`` with ``t`` the projection of ``theta - theta_a`` on
    ``theta_a - theta_b``. Consecutive NUTS evaluations lie on a line (leapfrog
    steps) and a trajectory that doubles backwards continues from its other end,
    which is among the stored ones.
    """

    def __init__(self, model, nip: int):
        self.model = model
        self.nip = nip
        level = model.design.levels[0]
        self.shape = (level.n_clusters, level.n_latents)
        self.history: list[tuple[np.ndarray, np.ndarray]] = []
        self.n_evaluations = 0
        self.n_fallbacks = 0
        self.objective_cache: AdaptiveObjective | None = None

    @property
    def objective(self) -> AdaptiveObjective:
        if self.objective_cache is None:
            self.objective_cache = marginal_objective(self.model, self.nip)
        return self.objective_cache

    def __getstate__(self):
        state = self.__dict__.copy()
        state["objective_cache"] = None
        return state

    def warm_start(self, theta: np.ndarray) -> np.ndarray:
        if not self.history or not np.all(np.isfinite(theta)):
            return np.zeros(self.shape) if not self.history else self.history[-1][1].copy()
        thetas = np.array([point for point, _ in self.history])
        nearest = int(np.argmin(np.sum((thetas - theta) ** 2, axis=1)))
        theta_a, modes_a = self.history[nearest]
        if len(self.history) == 1:
            return modes_a.copy()
        distances = np.sum((thetas - theta_a) ** 2, axis=1)
        distances[nearest] = np.inf
        theta_b, modes_b = self.history[int(np.argmin(distances))]
        direction = theta_a - theta_b
        length = float(direction @ direction)
        if length == 0.0:
            return modes_a.copy()
        t = float(np.clip((theta - theta_a) @ direction / length, -1.0, WARM_START_EXTRAPOLATION))
        return modes_a + t * (modes_a - modes_b)

    def record(self, theta: np.ndarray, modes: np.ndarray) -> None:
        self.n_evaluations += 1
        if np.all(np.isfinite(modes)) and np.all(np.isfinite(theta)):
            self.history.append((np.array(theta, dtype=float), modes))
            del self.history[:-WARM_START_HISTORY]

    def search(self, theta: np.ndarray, start: np.ndarray) -> np.ndarray:
        """Newton search with step-halving (:meth:`AdaptiveObjective.find_modes`) from ``start``."""
        objective = self.objective
        objective.modes = start if np.all(np.isfinite(start)) else np.zeros_like(start)
        try:
            modes = objective.find_modes(theta)
        except (np.linalg.LinAlgError, FloatingPointError):
            modes = np.full_like(start, np.nan)
        self.n_fallbacks += 1
        return modes


class WarmStartOp(Op):
    """theta -> a warm start for each cluster's mode (J, d), from earlier evaluations
    (:meth:`_ModeState.warm_start`): where the in-graph Newton steps start.

    ``theta`` is an input only so that the value is read at every evaluation (never
    constant-folded); the gradient is zero.
    """

    def __init__(self, state: _ModeState):
        self.state = state

    def make_node(self, theta):
        return Apply(self, [pt.as_tensor_variable(theta)], [pt.matrix(dtype="float64")])

    def perform(self, node, inputs, outputs):
        outputs[0][0] = self.state.warm_start(np.asarray(inputs[0], dtype=float))

    def pullback(self, inputs, outputs, cotangents):
        return [pt.zeros_like(inputs[0])]

    def infer_shape(self, *arguments):  # (node, input_shapes); older pytensor also passes fgraph
        return [self.state.shape]


class ModeOp(Op):
    """(theta, candidate, score) -> each cluster's posterior mode (J, d), checked.

    ``candidate`` comes from :data:`GRAPH_NEWTON_STEPS` undamped Newton steps inside the
    compiled graph, ``score`` is the score before the last of them. When every cluster's
    largest |score| is below :data:`MODE_SCORE_TOLERANCE` the candidate is the mode;
    otherwise (the first evaluation, a far jump of the sampler, a non-concave
    integrand) the robust Newton search of :meth:`glpp.fitting.optim.AdaptiveObjective.find_modes`
    runs from it. The result is the next evaluation's warm start. The gradient is
    zero: the quadrature graph takes one more Newton step from these modes, which
    carries the derivative of the mode.
    """

    def __init__(self, state: _ModeState):
        self.state = state

    def make_node(self, theta, candidate, score):
        inputs = [pt.as_tensor_variable(value) for value in (theta, candidate, score)]
        return Apply(self, inputs, [pt.matrix(dtype="float64")])

    def perform(self, node, inputs, outputs):
        theta, candidate, score = inputs
        if not np.all(np.isfinite(theta)):
            outputs[0][0] = np.full_like(candidate, np.nan)
            return
        if np.all(np.isfinite(candidate)) and np.max(np.abs(score), initial=0.0) < MODE_SCORE_TOLERANCE:
            modes = np.array(candidate, dtype=float)
        else:
            modes = self.state.search(np.asarray(theta, dtype=float), np.array(candidate, dtype=float))
        self.state.record(theta, modes)
        outputs[0][0] = modes

    def pullback(self, inputs, outputs, cotangents):
        return [pt.zeros_like(value) for value in inputs]

    def infer_shape(self, *arguments):
        return [self.state.shape]


def marginal_objective(model, nip: int) -> AdaptiveObjective:
    """Mode search of the ML path (compiled functions shared with :meth:`Model.fit`)."""
    functions = compiled_two_level(model.layout, model.family, model.link, True)
    level = model.design.levels[0]
    rule = make_rule(nip, level.n_latents, "product")
    return AdaptiveObjective(functions, data_arguments(model.design), level.n_clusters, rule)


def data_replacements(graph: OneLevelGraph, model) -> dict:
    """The graph's data inputs as constants (rows in cluster order, as the ML path has them)."""
    return {
        variable: pt.constant(np.asarray(value, dtype=variable.dtype))
        for variable, value in zip(graph.data_inputs, data_arguments(model.design))
    }


def marginal_cluster_loglik(model, theta: pt.TensorVariable, nip: int) -> pt.TensorVariable:
    """Per-cluster adaptive-quadrature log-likelihood as a function of ``theta``.

    The modes: :data:`GRAPH_NEWTON_STEPS` Newton steps in the graph from the previous
    evaluation's modes (:class:`WarmStartOp`), checked (and if need be completed) by
    :class:`ModeOp`.
    """
    graph = OneLevelGraph(model.layout, model.family, model.link)
    cluster_loglik = graph.cluster_loglik()
    rule = make_rule(nip, graph.n_latents, "product")
    state = _ModeState(model, nip)
    warm_start = WarmStartOp(state)(graph.theta)
    candidate, score = graph.modes, None
    for _ in range(GRAPH_NEWTON_STEPS):
        candidate, score = graph.newton_step(candidate)
    # graph.modes also gives the graph its number of clusters
    candidate, score = graph_replace([candidate, score], {graph.modes: warm_start}, strict=False)
    modes = ModeOp(state)(graph.theta, candidate, score)
    cluster_loglik = graph_replace(cluster_loglik, {graph.modes: modes}, strict=False)
    replacements = {
        graph.theta: theta,
        **{variable: pt.constant(value) for variable, value in zip(graph.rule_inputs, GaussHermiteLevel.rule_arguments(rule))},
        **data_replacements(graph, model),
    }
    return graph_replace(cluster_loglik, replacements, strict=False)
