"""PyMC models with latents at two or more levels (three-level models and deeper), and the
marginal kind of jointly normal items (:func:`uses_ml_objective`).

- ``kind="latent"`` (:func:`multilevel_latent_predictor`): every level's latents are
  PyMC variables (centred or non-centred per level, as for one level); each row's linear
  predictor is the ML graph's fixed part plus, at every level, the row's loadings times its
  cluster's standardised latents (:class:`glpp.likelihood.multilevel` graph, evaluated at
  the latents instead of at quadrature nodes).
- ``kind="marginal"`` (:class:`MarginalLoglikOp`): the latents integrated out by the ML
  path's own objective (:func:`glpp.fitting.engines.make_objective`: the exact normal
  likelihood of a gaussian model, else recursive adaptive quadrature with a fixed number of
  points per level), wrapped as a pytensor Op whose gradient is the objective's exact
  gradient. NUTS needs nothing more; the objective's per-top-cluster log-likelihoods are the
  DataTree's ``log_likelihood`` (:func:`objective_for`).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.graph.replace import graph_replace

from glpp.bayes.parameters import PyMCParameters
from glpp.errors import SpecError
from glpp.fitting.engines import make_objective
from glpp.likelihood.multilevel import ClusterOrder, _Graph, multilevel_data

__all__ = ["uses_ml_objective", "MarginalLoglikOp", "multilevel_latent_predictor", "level_latents", "objective_for", "multilevel_nip"]


def uses_ml_objective(model) -> bool:
    """Whether the marginal kind evaluates the ML objective (:class:`MarginalLoglikOp`): for
    latents at several levels, and for jointly normal items on wide data (factor models with
    gaussian items), whose exact likelihood the ML fit has compiled already: no quadrature graph
    to compile for PyMC."""
    design = model.design
    return design.discrete is None and (len(design.levels) > 1 or design.jointly_normal)


def multilevel_nip(model, nip) -> int | tuple[int, ...] | str:
    """The ``nip`` of :func:`objective_for`: ``"auto"`` (the exact likelihood) for jointly normal
    items, else ``nip`` (points per dimension at every level, or one number per level)."""
    if model.design.jointly_normal or model.design.two_level_normal:
        return "auto"
    return nip


def objective_for(model, nip):
    """The ML objective (:func:`glpp.fitting.engines.make_objective`) with ``nip`` points per
    level or the exact likelihood (:func:`multilevel_nip`): ``objective.loglik(theta)`` gives the log-likelihood, its
    gradient and each top-level cluster's log-likelihood."""
    design = model.design
    return make_objective(design, model.layout, model.family, model.link, nip=multilevel_nip(model, nip))


class MarginalLoglikOp(Op):
    """theta -> the marginal log-likelihood of a model of :func:`uses_ml_objective`.

    Evaluated by the ML objective (:func:`objective_for`), which also gives the exact
    gradient: the Op's pullback is the cotangent times that gradient (a second output). The
    compiled objective is dropped when the Op is pickled (PyMC's sampling processes) and rebuilt
    there from the compile cache.
    """

    __props__ = ()

    def __init__(self, model, nip):
        self.model = model
        self.nip = nip
        self._objective = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_objective"] = None
        return state

    @property
    def objective(self):
        if self._objective is None:
            self._objective = objective_for(self.model, self.nip)
        return self._objective

    def make_node(self, theta):
        theta = pt.as_tensor_variable(theta)
        return Apply(self, [theta], [pt.scalar(dtype="float64"), pt.vector(dtype="float64")])

    def perform(self, node, inputs, outputs):
        theta = np.asarray(inputs[0], dtype=float)
        with np.errstate(all="ignore"):
            try:
                total, gradient, _ = self.objective.loglik(theta)
            except (np.linalg.LinAlgError, FloatingPointError):
                total, gradient = -np.inf, np.zeros_like(theta)
        if not np.isfinite(total) or not np.all(np.isfinite(gradient)):
            total, gradient = -np.inf, np.zeros_like(theta)
        outputs[0][0] = np.asarray(total, dtype=float)
        outputs[1][0] = np.asarray(gradient, dtype=float)

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0] * outputs[1]]

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)


def multilevel_latent_predictor(
    model, parameters: PyMCParameters, choices: dict[str, str]
) -> tuple[pt.TensorVariable, pt.TensorVariable | None]:
    """Every level's latents as PyMC variables, and each row's linear predictor and log
    dispersion (None without one) given them, in data order (the latent kind).

    Per level, non-centred (``z[level] ~ N(0, I)``, ``b[level] = z L'``) or centred
    (``b[level] ~ N(0, L L')``) as ``choices`` says. The rows' linear predictors come from the
    multilevel ML graph (fixed part, loadings of each level's standardised latents); the
    graph's rows and clusters are in :class:`glpp.likelihood.multilevel.ClusterOrder`,
    the PyMC variables in the design's order.
    """
    design = model.design
    graph = _Graph(model.layout, model.family, model.link)
    if graph.rows.row_thresholds is not None:
        raise SpecError("Bayesian ordinal models with latents at several levels are not supported yet; use fit()")
    order = ClusterOrder.of(design)
    latent_eta = 0.0
    for level_number, (level, factor) in enumerate(zip(design.levels, parameters.factors)):
        standard = level_latents(level, factor, choices[level.name])
        ordered = standard[pt.constant(order.clusters[level_number])]  # clusters in ClusterOrder
        loadings = graph.loadings[level_number]
        for a in range(level.n_latents):
            latent_eta = latent_eta + loadings[:, a] * graph.to_rows(ordered[:, a], level_number)
    outputs = [graph.fixed_eta + latent_eta]
    has_dispersion = graph.rows.row_log_dispersion is not None
    if has_dispersion:
        outputs.append(graph.rows.row_log_dispersion)
    data = {
        variable: pt.constant(np.asarray(value, dtype=variable.dtype))
        for variable, value in zip(graph.data_inputs, multilevel_data(design, order))
    }
    eta, *rest = graph_replace(outputs, {graph.theta: parameters.theta, **data}, strict=False)
    inverse = pt.constant(np.argsort(order.rows, kind="stable"))  # rows back in data order
    log_dispersion = rest[0] if has_dispersion else None
    if log_dispersion is not None and log_dispersion.ndim == 1:  # one per row (a scalar stays)
        log_dispersion = log_dispersion[inverse]
    return eta[inverse], log_dispersion


def level_latents(level, factor: pt.TensorVariable, parameterization: str) -> pt.TensorVariable:
    """One level's standardised latents ``(J, d)`` (design order), with ``b[level]`` registered."""
    dims = (level.name, f"{level.name}_latent")
    if parameterization == "noncentered":
        standard = pm.Normal(f"z[{level.name}]", 0.0, 1.0, dims=dims)
        pm.Deterministic(f"b[{level.name}]", standard @ factor.T, dims=dims)
        return standard
    if level.n_latents == 1:
        effects = pm.Normal(f"b[{level.name}]", 0.0, factor[0, 0], dims=dims)
        return effects / factor[0, 0]
    effects = pm.MvNormal(f"b[{level.name}]", mu=pt.zeros(level.n_latents), chol=factor, dims=dims)
    return pt.linalg.solve_triangular(factor, effects.T, lower=True).T
