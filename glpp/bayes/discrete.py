"""Bayesian fitting of a regression with latent classes whose labels mean something (marginal kind).

The classes are summed out exactly by the graph of the ML fit
(:func:`glpp.likelihood.discrete.discrete_terms`, data as constants), and each unit's
log-likelihood ``log L_i = logsumexp_c [...]`` enters the PyMC model as a
:func:`pymc.Potential`. Only models whose class labels are anchored by the data are
sampled: known classes (``classes(k, known = col)``, CACE) or a class term of one class
(``C1:z``). Exchangeable labels (latent class models, ``y ~ C + C:x`` without them, mass
points) would switch between chains, and growth mixtures need the modes of their random
effects inside the sampler: both are refused with a :class:`~glpp.errors.SpecError`.

Priors (``s_y`` the response's SD for a gaussian family, else 1; ``s_x`` a column's SD, 1
for a constant column), overridable by name or type as in :mod:`glpp.bayes.priors`:

==================  ==============================================
``beta[x]``         ``Normal(0, 10 * s_y / s_x)`` (also ``beta[C1:z]``)
``class[C1]``       ``Normal(0, 5)`` (membership log-odds)
``sigma``           ``HalfNormal(5 * s_y)`` (a family's dispersion)
==================  ==============================================
"""

from __future__ import annotations

import time

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.compile.mode import get_mode

from glpp.bayes.parameters import _register
from glpp.errors import SpecError
from glpp.fitting.discrete import DiscreteObjective
from glpp.families import MixedFamily
from glpp.likelihood.discrete import discrete_terms
from glpp.likelihood.two_level import COMPILE_MODE

__all__ = ["build_discrete_pymc_model", "check_discrete_supported", "discrete_priors", "sample_discrete"]


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
    anchored = discrete.class_columns is not None and (
        discrete.known_class is not None or not discrete.class_mask.all()
    )
    if not anchored:
        raise SpecError(
            f"Bayesian fitting of a discrete latent ({statement}) whose labels are exchangeable (they would "
            "switch between chains) is not available yet; it is for classes in a regression with known classes "
            "(classes(k, known = col)) or a term of one class (C1:z). Fit this model with fit()"
        )


def _column_scale(values: np.ndarray) -> float:
    spread = float(np.std(values))
    return spread if spread > 1e-12 else 1.0


def discrete_priors(model, objective: DiscreteObjective, priors: dict | None = None) -> dict[str, object]:
    """The prior of every parameter (a ``.dist()`` by name), the user's ``priors`` by name or type applied."""
    design, layout, family = model.design, objective.layout, model.family
    gaussian = not isinstance(family, MixedFamily) and family.has_response_scale
    response_scale = _column_scale(design.response) if gaussian else 1.0
    columns = list(objective.data[2].T)  # the class-invariant fixed columns, then the class columns'
    if objective.regression:
        mask = design.discrete.class_mask
        columns += [column for column, row in zip(objective.data[-2].T, mask) for _ in range(int(row.sum()))]
    defaults, position = {}, 0
    for name, kind in zip(layout.names, layout.row_kinds):
        if kind in ("fixed", "class_effect"):
            defaults[name] = pm.Normal.dist(0.0, 10.0 * response_scale / _column_scale(columns[position]))
            position += 1
        elif kind == "class_logodds":
            defaults[name] = pm.Normal.dist(0.0, 5.0)
        else:
            defaults[name] = pm.HalfNormal.dist(5.0 * response_scale)
    overrides = dict(priors or {})
    unknown = [key for key in overrides if key not in defaults and key not in {n.split("[")[0] for n in defaults}]
    if unknown:
        raise SpecError(f"priors for {unknown}: no such parameter or type; available: {sorted(defaults)}")
    return {name: overrides.get(name, overrides.get(name.split("[")[0], dist)) for name, dist in defaults.items()}


def build_discrete_pymc_model(model, kind: str = "marginal", *, priors: dict | None = None) -> pm.Model:
    """The marginal PyMC model of a regression with anchored latent classes (module docstring).

    Parameters are PyMC variables under their ML names (dispersions positive, on their
    natural scale); ``theta`` is assembled from them as the ML fit reads it.
    """
    check_discrete_supported(model, kind)
    design, family, link = model.design, model.family, model.link
    objective = DiscreteObjective(design, model.layout, family, link)
    resolved = discrete_priors(model, objective, priors)
    layout = objective.layout
    discrete = design.discrete
    with pm.Model(coords={discrete.latent: [str(label) for label in discrete.unit_labels]}) as pm_model:
        entries = []
        for name, row_kind in zip(layout.names, layout.row_kinds):
            value = _register(pm_model, resolved[name], name)
            entries.append(pt.log(value) if row_kind in ("aux", "sd") else value)
        theta = pt.stack(entries)
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
    Each unit's log-likelihood goes to the DataTree's ``log_likelihood`` group (under the
    response's name), so that ``arviz.loo`` is leave-one-unit-out.
    """
    started = time.perf_counter()
    pm_model = build_discrete_pymc_model(model, kind, priors=priors)
    if init == "auto":
        init = model.fit()
    if not isinstance(init, str):
        if not hasattr(init, "params"):
            raise SpecError(f"init must be a string or a glpp fit, not {type(init).__name__}")
        kwargs.setdefault("initvals", {name: float(value) for name, value in init.params.items()})
        init = "adapt_diag"
    kwargs.setdefault("compile_kwargs", {"mode": get_mode(COMPILE_MODE)})
    with pm_model:
        idata = pm.sample(nuts_sampler=nuts_sampler, init=init, **run, **kwargs)
    posterior = idata["posterior"].to_dataset()
    name = model.design.response_label if model.design.response_label.isidentifier() else "y"
    idata["log_likelihood"] = posterior[["unit_loglik"]].rename({"unit_loglik": name})
    idata["posterior"] = posterior.drop_vars("unit_loglik")
    attrs = idata["posterior"].attrs
    attrs.update(glpp_kind=kind, glpp_init=init, sampling_seconds=time.perf_counter() - started)
    return idata
