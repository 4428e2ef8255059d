"""Bayesian fitting of models with latent classes or NPML mass points (marginal kind).

The classes are summed out exactly by the graph of the ML fit
(:func:`glpp.likelihood.discrete.discrete_terms`, data as constants), and each unit's
log-likelihood ``log L_i = logsumexp_c [...]`` enters the PyMC model as a
:func:`pymc.Potential`; no class is sampled. Two kinds of labels:

- *anchored* by the data: known classes (``classes(k, known = col)``, CACE) or a class
  term of one class (``C1:z``). The labels mean something; sampled as they are.
- *exchangeable*: latent class models (``C ~~ classes(k); C =~ y1 + ...``), with a
  membership regression (``C ~ v``) or without, and classes in a regression without an
  anchor (``y ~ x + C + C:z``), and mass points (``g ~~ masspoints(k)`` with
  ``(1 | g)``). Likelihood and prior are the same under every
  permutation of the labels; each draw is relabelled after sampling to the ML estimate
  (pivotal reordering, :mod:`glpp.bayes.labels`), so that the classes are those of the
  ML fit, ordered by size. Chains start at the ML estimate.

Growth mixtures (their random effects' modes would have to live inside the sampler) and
``masspoints("auto")`` (the number of points is the fit's choice) are refused with a
:class:`~glpp.errors.SpecError`.

Priors (``s_y`` the response's SD for a gaussian family, else 1; ``s_item`` one item's;
``s_x`` a column's SD, 1 for a constant column; ``s_v`` a membership covariate's),
overridable by name or type as in :mod:`glpp.bayes.priors` except where said:

====================  ==============================================================
``beta[x]``           ``Normal(0, 10 * s_y / s_x)`` (also ``beta[C1:z]``)
``nu[C1:item]``       ``Normal(0, 10 * s_item)`` (an item's intercept in a class)
``class[C1]``         anchored labels: ``Normal(0, 5)`` (membership log-odds).
                      Exchangeable labels: the class probabilities (of a unit whose
                      membership covariates are 0) ``pi[C] ~ Dirichlet(alpha, ...,
                      alpha)``, ``alpha = 1`` (uniform on the simplex), and
                      ``class[C1] = log(pi_1 / pi_K)`` a deterministic (two classes:
                      ``Logistic(0, 1)``). ``priors={"class": alpha}`` sets ``alpha``
                      (a positive number); the log-odds are not overridable one by one
``class[C1:v]``       exchangeable labels: every class's slope ``Normal(0, 5 / s_v)``
                      independently, so the slopes against the last class, the vector
                      ``class[C:v]``, are ``MvNormal(0, (5 / s_v)^2 (I + 1 1'))`` (two
                      classes: ``Normal(0, 5 * sqrt(2) / s_v)``); anchored: ``Normal(0, 5)``
``mass[g:1]``         mass points: as ``class[C1]`` of exchangeable classes
                      (``pi[g] ~ Dirichlet(alpha)``, ``mass[g:1] = log(pi_1 / pi_K)``)
``location[g:1]``     every point's location, the last one (set by the zero mean)
                      too, ``Normal(0, 5 * s_y)``: a density on the plane
                      ``sum_c pi_c l_c = 0`` (:func:`location_log_prior`); not
                      overridable
``sigma``             ``HalfNormal(5 * s_y)`` (a family's dispersion; ``s_item``
                      for an item's)
====================  ==============================================================

Exchangeable labels need a prior that is itself exchangeable (the same under every
permutation of the classes): a ``Normal`` on each log-odds against the last class is not
for three classes or more, which is why those priors differ from the anchored ones.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.compile.mode import get_mode

from glpp.bayes.labels import relabel_draws
from glpp.bayes.parameters import _register
from glpp.bayes.priors import _item_scale
from glpp.errors import ConvergenceWarning, SpecError
from glpp.fitting.discrete import DiscreteObjective
from glpp.families import MixedFamily
from glpp.likelihood.discrete import discrete_terms
from glpp.likelihood.two_level import COMPILE_MODE

__all__ = [
    "DEFAULT_DIRICHLET_ALPHA", "SLOPE_PRIOR_SD", "build_discrete_pymc_model", "check_discrete_supported",
    "discrete_priors", "labels_anchored", "add_membership", "membership_values", "sample_discrete",
]

#: concentration of the Dirichlet prior of exchangeable classes' sizes (uniform on the simplex)
DEFAULT_DIRICHLET_ALPHA = 1.0
#: prior SD of each mass point's location, per response SD (link scale: 1 without a response scale)
LOCATION_PRIOR_SD = 5.0
#: prior SD of each class's membership slope, per SD of the covariate (exchangeable labels)
SLOPE_PRIOR_SD = 5.0


def check_discrete_supported(model, kind: str) -> None:
    """Raise :class:`SpecError` unless the discrete-latent model can be sampled (module docstring)."""
    discrete = model.design.discrete
    statement = f"{discrete.kind}() of {discrete.latent!r}"
    if kind != "marginal":
        raise SpecError(f"kind={kind!r} for a discrete latent ({statement}) is not available yet; use kind='marginal'")
    if discrete.random_covariate is not None:
        raise SpecError(
            f"Bayesian fitting of a growth mixture ({statement} with {discrete.random_name}) is not available yet; "
            "fit it by maximum likelihood with fit()"
        )
    if not discrete.n_points:
        raise SpecError(
            f"Bayesian fitting of {statement}: the number of mass points is chosen by fit() (NPML); "
            "give it, e.g. masspoints(3), for sample()"
        )


def labels_anchored(discrete) -> bool:
    """Whether the data anchor the class labels: known classes, or a class term of one class."""
    return discrete.class_columns is not None and (discrete.known_class is not None or not discrete.class_mask.all())


def _column_scale(values: np.ndarray) -> float:
    spread = float(np.std(values))
    return spread if spread > 1e-12 else 1.0


def _response_scale(model) -> float:
    """The response's SD for a gaussian family (one family), else 1."""
    family = model.family
    gaussian = not isinstance(family, MixedFamily) and family.has_response_scale
    return _column_scale(model.design.response) if gaussian else 1.0


def discrete_priors(model, objective: DiscreteObjective, priors: dict | None = None) -> dict[str, object]:
    """The prior of every parameter (a ``.dist()`` by name), the user's ``priors`` by name or type applied.

    With exchangeable labels the membership log-odds (``class[...]``) have none here: their
    prior is :func:`add_membership`'s, set by ``priors["class"]`` (``alpha``).
    """
    design, layout = model.design, objective.layout
    response_scale = _response_scale(model)
    columns = list(objective.data[2].T)  # the class-invariant fixed columns, then the class columns'
    if objective.regression:
        mask = design.discrete.class_mask
        columns += [column for column, row in zip(objective.data[-2].T, mask) for _ in range(int(row.sum()))]
    anchored = labels_anchored(design.discrete)
    defaults, position = {}, 0
    for name, kind in zip(layout.names, layout.row_kinds):
        if kind in ("fixed", "class_effect"):
            defaults[name] = pm.Normal.dist(0.0, 10.0 * response_scale / _column_scale(columns[position]))
            position += 1
        elif kind == "class_intercept":
            defaults[name] = pm.Normal.dist(0.0, 10.0 * _item_scale(model, _item_rows(design, name)))
        elif kind == "class_logodds":
            if anchored:
                defaults[name] = pm.Normal.dist(0.0, 5.0)
        elif kind == "location":
            continue  # location_log_prior
        elif kind == "aux" and design.dispersion_index is not None:
            rows = design.dispersion_index == list(layout.names[layout.block("aux")]).index(name)
            defaults[name] = pm.HalfNormal.dist(5.0 * _item_scale(model, rows))
        else:
            defaults[name] = pm.HalfNormal.dist(5.0 * response_scale)
    overrides = dict(priors or {})
    if not anchored:
        overrides.pop("class", None)
        fixed = [key for key in overrides if key.split("[")[0] in ("class", "mass", "location")]
        if fixed:
            raise SpecError(
                f"priors for {fixed}: the membership log-odds of exchangeable classes (mass points) and "
                "their locations have one joint prior (Dirichlet sizes, normal locations); set the "
                "concentration with priors={'class': alpha}"
            )
    types = {n.split("[")[0] for n in defaults}
    unknown = [key for key in overrides if key not in defaults and key not in types]
    if unknown:
        raise SpecError(f"priors for {unknown}: no such parameter or type; available: {sorted(defaults)}")
    return {name: overrides.get(name, overrides.get(name.split("[")[0], dist)) for name, dist in defaults.items()}


def _item_rows(design, name: str) -> np.ndarray:
    """The rows of the item of ``nu[C1:item]``."""
    item = name[name.index(":") + 1 : -1]
    return design.discrete.item_index == design.discrete.item_names.index(item)


def dirichlet_alpha(priors: dict | None) -> float:
    """The concentration of the exchangeable class sizes' Dirichlet prior (``priors["class"]``, 1)."""
    alpha = (priors or {}).get("class", DEFAULT_DIRICHLET_ALPHA)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
        raise SpecError(f"priors['class'] is the Dirichlet concentration of the class sizes: a positive number, "
                        f"not {alpha!r}")
    return float(alpha)


def add_membership(discrete, layout, alpha: float) -> pt.TensorVariable:
    """The membership log-odds ``(K - 1, Q)`` of exchangeable classes, in the model in context.

    ``pi[C]`` (dims ``C_class``): the class probabilities of a unit whose membership
    covariates are 0, ``Dirichlet(alpha)`` (PyMC's simplex transform); ``class[C1]`` ... are
    ``log(pi_c / pi_K)``. ``class[C:v]`` (dims ``C_free``): the log-odds slopes of covariate
    ``v`` against the last class, ``MvNormal(0, s^2 (I + 1 1'))``, ``s = 5 / s_v`` (every
    class's slope ``Normal(0, s)``), each entry also ``class[C1:v]``. Both exchangeable.
    """
    latent, membership = discrete.latent, discrete.membership
    n_points = layout.n_points
    pi = pm.Dirichlet(f"pi[{latent}]", a=np.full(n_points, alpha), dims=f"{latent}_class")
    columns = [pt.log(pi[:-1]) - pt.log(pi[-1])]
    n_free = n_points - 1
    for q, covariate in enumerate(discrete.membership_names[1:], start=1):
        scale = SLOPE_PRIOR_SD / _column_scale(membership[:, q])
        covariance = scale**2 * (np.eye(n_free) + np.ones((n_free, n_free)))
        columns.append(pm.MvNormal(f"class[{latent}:{covariate}]", np.zeros(n_free), cov=covariance,
                                   dims=f"{latent}_free"))
    logits = pt.stack(columns, axis=1)
    names = np.reshape(layout.names[layout.block("class_logodds")], (n_free, -1))  # class[C1], mass[g:1]
    for c in range(n_free):
        for q in range(len(discrete.membership_names)):
            pm.Deterministic(str(names[c, q]), logits[c, q])
    return logits


def location_log_prior(free: pt.TensorVariable, log_weights: pt.TensorVariable, scale: float) -> pt.TensorVariable:
    """Mass points: every point's location (the last one, set by the zero mean, too)
    ``Normal(0, scale)``, as a density of the ``K - 1`` free ones.

    The locations live on the plane ``sum_c pi_c l_c = 0``; its surface measure in the free
    coordinates is ``|pi| / pi_K``, which makes the density the same under every relabelling.
    """
    weights = pt.exp(log_weights)
    last = -pt.sum(weights[:-1] * free) / weights[-1]
    locations = pt.concatenate([free, last[None]])
    normal = pm.logp(pm.Normal.dist(0.0, scale), locations).sum()
    return normal + 0.5 * pt.log(pt.sum(weights**2)) - log_weights[-1]


def membership_values(discrete, logits: np.ndarray) -> dict[str, np.ndarray]:
    """The values of :func:`add_membership`'s free variables at membership log-odds ``(..., K - 1, Q)``."""
    latent = discrete.latent
    full = np.concatenate([logits[..., 0], np.zeros(logits.shape[:-2] + (1,))], axis=-1)
    pi = np.exp(full - full.max(axis=-1, keepdims=True))
    values = {f"pi[{latent}]": pi / pi.sum(axis=-1, keepdims=True)}
    for q, covariate in enumerate(discrete.membership_names[1:], start=1):
        values[f"class[{latent}:{covariate}]"] = logits[..., q]
    return values


def build_discrete_pymc_model(model, kind: str = "marginal", *, priors: dict | None = None) -> pm.Model:
    """The marginal PyMC model of a model with latent classes (module docstring).

    Parameters are PyMC variables under their ML names (dispersions positive, on their
    natural scale); ``theta`` is assembled from them as the ML fit reads it. With exchangeable
    labels the membership log-odds are deterministics of :func:`add_membership`'s variables.
    """
    check_discrete_supported(model, kind)
    design, family, link = model.design, model.family, model.link
    objective = DiscreteObjective(design, model.layout, family, link)
    resolved = discrete_priors(model, objective, priors)
    alpha = None if labels_anchored(design.discrete) else dirichlet_alpha(priors)
    layout = objective.layout
    discrete = design.discrete
    latent = discrete.latent
    coords = {latent: [str(label) for label in discrete.unit_labels],
              f"{latent}_class": [f"{latent}{c}" for c in range(1, layout.n_points + 1)],
              f"{latent}_free": [f"{latent}{c}" for c in range(1, layout.n_points)]}
    with pm.Model(coords=coords) as pm_model:
        logits = None if alpha is None else add_membership(discrete, layout, alpha)
        entries, first_logit = [], layout.block("class_logodds").start
        for k, (name, row_kind) in enumerate(zip(layout.names, layout.row_kinds)):
            if row_kind == "class_logodds" and name not in resolved:  # exchangeable membership log-odds
                entries.append(logits.ravel()[k - first_logit])
                continue
            if row_kind == "location":  # mass points: their prior is location_log_prior's
                entries.append(pm.Flat(name))
                continue
            value = _register(pm_model, resolved[name], name)
            entries.append(pt.log(value) if row_kind in ("aux", "sd") else value)
        theta = pt.stack(entries)
        if layout.kind == "masspoints":
            log_weights = pt.concatenate([logits[:, 0], pt.zeros(1)])
            scale = LOCATION_PRIOR_SD * _response_scale(model)
            free = theta[layout.block("location")]
            pm.Potential("location_prior", location_log_prior(free, log_weights - pt.logsumexp(log_weights), scale))
        data = [pt.constant(values) for values in objective.data]
        flags = {"with_dispersion_index": design.dispersion_index is not None,
                 "mixed": isinstance(family, MixedFamily), "balanced": False, "regression": objective.regression}
        terms, _, _ = discrete_terms(layout.kind, family, link, theta, pt.constant(layout.sizes), data, **flags)
        unit_loglik = pm.Deterministic("unit_loglik", pt.logsumexp(terms, axis=1), dims=discrete.latent)
        pm.Potential("marginal_loglik", unit_loglik.sum())
    pm_model.glpp_theta = theta
    pm_model.glpp_kind = kind
    return pm_model


def sample_discrete(model, kind: str, run: dict, *, priors=None, init="auto", nuts_sampler: str = "pymc", **kwargs):
    """NUTS on :func:`build_discrete_pymc_model` (``run``: draws, tune, chains, random_seed).

    ``init="auto"`` starts every chain at the ML estimate (``model.fit()``; a fit passed as
    ``init`` is used as it is) with PyMC's ``adapt_diag``; any other string is PyMC's ``init``.
    Exchangeable labels: every draw is relabelled to the ML estimate (:mod:`glpp.bayes.labels`;
    ``model.fit()`` is the pivot when ``init`` is a string); the posterior's attribute
    ``glpp_relabelled`` counts the relabelled draws of each chain (0: no chain switched; any
    other count also warns, :class:`~glpp.errors.ConvergenceWarning`).
    Each unit's log-likelihood goes to the DataTree's ``log_likelihood`` group (under the
    response's name), so that ``arviz.loo`` is leave-one-unit-out.
    """
    started = time.perf_counter()
    pm_model = build_discrete_pymc_model(model, kind, priors=priors)
    anchored = labels_anchored(model.design.discrete)
    pivot = init if not isinstance(init, str) else None
    if init == "auto" or (pivot is None and not anchored):
        pivot = model.fit(progress=False)
    if init == "auto":
        init = pivot
    if not isinstance(init, str):
        if not hasattr(init, "params"):
            raise SpecError(f"init must be a string or a glpp fit, not {type(init).__name__}")
        kwargs.setdefault("initvals", _initial_values(model, pm_model, init))
        init = "adapt_diag"
    kwargs.setdefault("compile_kwargs", {"mode": get_mode(COMPILE_MODE)})
    with pm_model:
        idata = pm.sample(nuts_sampler=nuts_sampler, init=init, **run, **kwargs)
    posterior = idata["posterior"].to_dataset()
    name = model.design.response_label if model.design.response_label.isidentifier() else "y"
    idata["log_likelihood"] = posterior[["unit_loglik"]].rename({"unit_loglik": name})
    posterior = posterior.drop_vars("unit_loglik")
    attrs = dict(posterior.attrs)
    if not anchored:
        posterior, switched = _relabelled(model, posterior, pivot)
        attrs["glpp_relabelled"] = switched.tolist()
        _warn_if_switched(switched, run["draws"])
    attrs.update(glpp_kind=kind, glpp_init=init, sampling_seconds=time.perf_counter() - started)
    idata["posterior"] = posterior.assign_attrs(attrs)
    return idata


def _warn_if_switched(switched: np.ndarray, draws: int) -> None:
    """Warn (:class:`ConvergenceWarning`) when some chain's draws had to be relabelled."""
    if switched.any():
        warnings.warn(
            f"the class labels switched within chains (draws relabelled to the ML classes, per chain: "
            f"{switched.tolist()} of {draws}): the classes overlap, so the posterior is far from normal; "
            "check R-hat and compare with fewer classes",
            ConvergenceWarning,
            stacklevel=4,
        )


def _initial_values(model, pm_model, fit) -> dict[str, object]:
    """The free variables of ``pm_model`` at the estimate of ``fit`` (exchangeable labels: the
    class probabilities and slope vectors of its membership log-odds)."""
    values = {name: float(value) for name, value in fit.params.items() if name in pm_model.named_vars}
    if not labels_anchored(model.design.discrete):
        layout = model.layout
        logits = np.array([values.pop(name) for name in layout.names[layout.block("class_logodds")]])
        values.update(membership_values(model.design.discrete, logits.reshape(layout.n_points - 1, -1)))
    return values


def _relabelled(model, posterior, pivot):
    """The posterior's parameters relabelled to the fit ``pivot`` (:func:`glpp.bayes.labels.relabel_draws`)."""
    layout = model.layout
    names = list(layout.names)
    draws = np.stack([posterior[name].values for name in names], axis=-1)
    pivot_values = np.array([float(pivot.params[name]) for name in names])
    se = np.array([float(pivot.se[name]) for name in names])
    regression = model.design.discrete.class_columns is not None
    relabelled, switched = relabel_draws(layout, draws, pivot_values, se, regression=regression)
    updated = posterior.copy()
    for k, name in enumerate(names):
        updated[name] = (posterior[name].dims, relabelled[..., k])
    logits = relabelled[..., layout.block("class_logodds")].reshape(relabelled.shape[:2] + (layout.n_points - 1, -1))
    for name, values in membership_values(model.design.discrete, logits).items():
        updated[name] = (posterior[name].dims, values)
    return updated, switched
