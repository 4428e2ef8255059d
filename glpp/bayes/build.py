"""Design -> PyMC model, of one of two kinds (:func:`build_pymc_model`).

Both kinds share one set of parameter variables (:mod:`glpp.bayes.parameters`, priors
from :mod:`glpp.bayes.priors`), assembled into the ML parameter vector ``theta``, and
evaluate the likelihood through the graph of the ML path,
:class:`glpp.likelihood.two_level.OneLevelGraph`:

- ``kind="latent"``: every latent variable is a PyMC variable, per level
  non-centred (``z[level] ~ N(0, I)`` per cluster and the effects
  ``b[level] = z L'``, ``L`` the Cholesky factor of the level's covariance, a
  deterministic) or centred (``b[level] ~ N(0, L L')`` sampled directly):
  ``parameterization``, by default ``"noncentered"`` here and ``"auto"`` in
  :func:`glpp.bayes.sample` (:mod:`glpp.bayes.parameterization`). Each row's linear predictor is the graph's fixed part plus its
  loadings times the cluster's ``z``; the responses are an observed
  :class:`pymc.CustomDist` whose log-density is the family's. With
  structural paths ``b`` are the disturbances ``zeta``, not the latents.
- ``kind="marginal"``: the latents are integrated out by adaptive Gauss-Hermite
  quadrature inside the PyMC graph (:mod:`glpp.bayes.marginal`), or with
  ``marginal_likelihood="objective"`` by the ML fit's own compiled objective wrapped as an Op
  with its exact gradient (:class:`glpp.bayes.multilevel.MarginalLoglikOp`); the
  log-likelihood is added as a :func:`pymc.Potential`. Points per latent dimension:
  ``nip`` or :func:`glpp.bayes.nip.default_nip`.

Models with latents at several levels (three-level models and deeper) are built by
:mod:`glpp.bayes.multilevel`: the latent kind from the multilevel ML graph, the marginal kind
from the ML objective wrapped as an Op with its exact gradient (so is the marginal kind of
jointly normal items on wide data: their exact likelihood).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.compile.mode import Mode, get_mode
from pytensor.graph.replace import graph_replace

from glpp.bayes.marginal import data_replacements, marginal_cluster_loglik
from glpp.bayes.multilevel import MarginalLoglikOp, level_latents, multilevel_latent_predictor, uses_ml_objective
from glpp.bayes.nip import default_nip, pilot_fit
from glpp.bayes.parameterization import check_parameterization, resolve_parameterization
from glpp.bayes.parameters import add_parameters, PyMCParameters
from glpp.bayes.priors import resolve_priors
from glpp.errors import SpecError
from glpp.likelihood.two_level import COMPILE_MODE, OneLevelGraph

__all__ = ["KINDS", "compile_mode", "build_pymc_model", "design_label_ok"]

KINDS = ("latent", "marginal")


# ------------------------------------------------------- compile mode
def compile_mode() -> Mode:
    """:data:`glpp.likelihood.two_level.COMPILE_MODE`: the mode of every PyMC function glpp compiles.

    The sums within clusters (:class:`glpp.likelihood.segments.Segments`) are compiled code
    in any mode; no rewrite of pytensor's is needed.
    """
    return get_mode(COMPILE_MODE)


# ------------------------------------------------------------- models
def check_supported(model) -> None:
    """Raise :class:`SpecError` unless the model can be sampled: continuous latents at one or
    more levels (GLMMs, factor/IRT/SEM models; a family per item or per row included), or latent
    classes whose labels are anchored (:func:`glpp.bayes.discrete.check_discrete_supported`), no
    residual covariances of items. Checked before anything is fitted or compiled."""
    if model.design.discrete is not None:  # the marginal kind, for classes with anchored labels
        from glpp.bayes.discrete import check_discrete_supported

        check_discrete_supported(model, "marginal")
        return
    if model.design.residual_covariances:
        covariance = model.design.residual_covariances[0]
        raise SpecError(
            f"'{covariance.left} ~~ {covariance.right}': Bayesian fitting of models with residual covariances "
            "of items is not supported yet; use fit()"
        )


def _coords(model) -> dict[str, list]:
    coords = {}
    for level in model.design.levels:
        coords[level.name] = [str(label) for label in level.cluster_labels]
        coords[f"{level.name}_latent"] = list(level.latent_names)
    return coords


def build_pymc_model(
    model,
    kind: str = "latent",
    *,
    priors: dict | None = None,
    nip: int | None = None,
    parameterization: str | dict[str, str] = "noncentered",
    marginal_likelihood: str = "graph",
) -> pm.Model:
    """The PyMC model of a glpp :class:`~glpp.Model`.

    Parameters
    ----------
    model : glpp.Model
    kind : {"latent", "marginal"}
        Latents as PyMC variables, or integrated out by adaptive quadrature.
    priors : dict, optional
        Overrides of the default priors (see :mod:`glpp.bayes.priors`).
    nip : int, optional
        Quadrature points per latent dimension (marginal kind);
        :data:`DEFAULT_NIP` by default.
    parameterization : {"noncentered", "centered", "auto"} or dict
        Of the latents (latent kind): one choice for every level or a dict by level name;
        ``"auto"`` chooses by :func:`glpp.bayes.parameterization.choose_parameterization` at
        a pilot ML fit (:func:`glpp.bayes.nip.pilot_fit`). The choice made is the model's
        attribute ``glpp_parameterization`` (a dict by level name).
    marginal_likelihood : {"graph", "objective"}
        How the marginal kind of a model with one level of normal latents evaluates the
        likelihood: ``"graph"`` (default) builds the adaptive quadrature into the PyMC graph
        (:func:`glpp.bayes.marginal.marginal_cluster_loglik`, compiled for PyMC);
        ``"objective"`` calls the ML fit's compiled objective through
        :class:`glpp.bayes.multilevel.MarginalLoglikOp` (its exact gradient; nothing new to
        compile: toenail, cold cache, 2 x 500 draws: ``sample()`` 138.5 s in all against the
        graph's, warm 24.2 s against 40.7 s; not yet the default). Models with several latent
        levels or jointly normal items always use the objective.

    Examples
    --------
    >>> pm_model = build_pymc_model(glpp_model, "marginal")
    >>> with pm_model:
    ...     idata = pm.sample()
    """
    if kind not in KINDS:
        raise SpecError(f"unknown kind {kind!r}; choose one of {list(KINDS)}")
    if model.design.discrete is not None:  # classes summed out exactly (glpp.bayes.discrete)
        from glpp.bayes.discrete import build_discrete_pymc_model

        return build_discrete_pymc_model(model, kind, priors=priors)
    check_supported(model)
    choices = check_parameterization(model, parameterization)
    if kind == "latent" and "auto" in choices.values():
        choices = resolve_parameterization(model, choices, pilot_fit(model))
    resolved = resolve_priors(model, priors)
    with pm.Model(coords=_coords(model)) as pm_model:
        parameters = add_parameters(model, pm_model, resolved)
        several_levels = len(model.design.levels) > 1
        if marginal_likelihood not in ("objective", "graph"):
            raise SpecError(f"marginal_likelihood must be 'objective' or 'graph', not {marginal_likelihood!r}")
        if kind == "marginal" and (marginal_likelihood == "objective" or uses_ml_objective(model)):
            loglik, _ = MarginalLoglikOp(model, nip or default_nip(model))(parameters.theta)
            pm.Potential("marginal_loglik", loglik)
        elif kind == "marginal":
            cluster_loglik = marginal_cluster_loglik(model, parameters.theta, nip or default_nip(model))
            pm.Potential("marginal_loglik", cluster_loglik.sum())
        elif several_levels:
            _observed(model, *multilevel_latent_predictor(model, parameters, choices), [])
        else:
            _add_latent_likelihood(model, parameters, choices[model.design.levels[0].name])
    pm_model.glpp_theta = parameters.theta  # used by sample() for the per-cluster log-likelihoods
    pm_model.glpp_kind = kind
    pm_model.glpp_parameterization = choices if kind == "latent" else {}
    return pm_model


def _add_latent_likelihood(model, parameters: PyMCParameters, parameterization: str) -> None:
    """Latents as PyMC variables and the responses given them (the latent kind).

    The rows' linear predictors come from the quadrature graph :class:`glpp.likelihood.two_level.OneLevelGraph`
    itself (fixed part, loadings, structural paths, item dispersions), evaluated at the
    standardised latents ``u`` of each row's cluster instead of at quadrature nodes:
    ``eta_r = fixed_eta_r + loadings_r' u_j``. ``b[level] = L u`` are the latent
    disturbances (the latents themselves when there are no structural paths).
    """
    level = model.design.levels[0]
    standard = level_latents(level, parameters.factors[0], parameterization)
    graph = OneLevelGraph(model.layout, model.family, model.link)
    # one gather per latent (vectors: the cheapest gradient for NUTS)
    latent_eta = sum(graph.loadings[:, a] * graph.clusters.gather(graph.modes[:, a]) for a in range(level.n_latents))
    outputs = [graph.fixed_eta + latent_eta]
    has_dispersion = graph.row_log_dispersion is not None
    if has_dispersion:
        outputs.append(graph.row_log_dispersion)
    if graph.rows.row_thresholds is not None:  # (lower, upper, has_lower, has_upper), as floats
        outputs += [pt.cast(values, "float64") for values in graph.rows.row_thresholds]
    replacements = {graph.theta: parameters.theta, graph.modes: standard, **data_replacements(graph, model)}
    eta, *rest = graph_replace(outputs, replacements, strict=False)
    # the graph's rows are in cluster order (data_arguments); put them back in data order
    inverse = pt.constant(np.argsort(np.argsort(level.cluster_index, kind="stable")))
    rest = [values[inverse] if values.ndim == 1 else values for values in rest]
    log_dispersion = rest[0] if has_dispersion else None
    _observed(model, eta[inverse], log_dispersion, rest[1 if has_dispersion else 0 :])


def _observed(model, eta, log_dispersion, thresholds: list) -> None:
    """The responses as a :class:`pymc.CustomDist` with the family's log-density; per-row
    auxiliary values (log dispersion, thresholds) are its extra parameters."""
    design, family, link = model.design, model.family, model.link
    trials = design.trials if design.trials is not None else np.ones_like(design.response)
    extra = ([log_dispersion] if log_dispersion is not None else []) + list(thresholds)
    n_dispersion = 1 if log_dispersion is not None else 0
    # choice families: each set's first row (data order, as ``eta`` here)
    row_inputs = {} if design.choice_start is None else {"set_start": pt.constant(design.choice_start)}

    # a family per item or row: each row's component, in data order as the responses
    if design.family_index is not None:
        row_inputs["family_index"] = pt.constant(design.family_index)

    def logp(value, eta, trials, *rest):
        if len(rest) > n_dispersion:
            lower, upper, has_lower, has_upper = rest[n_dispersion:]
            row_inputs["thresholds"] = (lower, upper, pt.gt(has_lower, 0.5), pt.gt(has_upper, 0.5))
        log_aux = rest[0] if n_dispersion else None
        return family.logp(value, eta, link, log_aux, trials, **row_inputs)

    pm.CustomDist(
        response_name(model), eta, pt.constant(trials), *extra, logp=logp, observed=design.response
    )


def response_name(model) -> str:
    return "y" if not design_label_ok(model.design.response_label) else model.design.response_label


def design_label_ok(label: str) -> bool:
    return label.isidentifier()
