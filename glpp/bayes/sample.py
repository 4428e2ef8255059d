"""Sampling the posterior by NUTS (:func:`sample`) and its mode (:func:`map_estimate`).

The marginal kind starts from its Laplace approximation (``init="laplace"``,
:mod:`glpp.bayes.laplace`); the latent kind uses PyMC's defaults
(``jitter+adapt_diag``, 0.8). Every function is compiled with
:func:`glpp.bayes.compile_mode`. After sampling, the DataTree gets the per-cluster
log-likelihoods and the marginal kind's latent effects (:mod:`glpp.bayes.posterior`).
A model with a discrete latent (latent classes, NPML mass points) is sampled by
:func:`glpp.bayes.discrete.sample_discrete` (classes summed out exactly; chains started at
the ML estimate; exchangeable labels relabelled to it, :mod:`glpp.bayes.labels`).
"""

from __future__ import annotations

import os
import time

import pandas as pd
import pymc as pm
from pytensor.compile.mode import Mode


from glpp.bayes.build import check_supported, build_pymc_model, compile_mode
from glpp.bayes.discrete import sample_discrete
from glpp.bayes.laplace import laplace_step, laplace_target_accept
from glpp.bayes.nip import choose_nip, pilot_fit
from glpp.bayes.parameterization import check_parameterization, resolve_parameterization
from glpp.bayes.posterior import augment_datatree
from glpp.errors import SpecError

__all__ = ["NUTS_ARGUMENTS", "sample", "default_cores", "map_estimate"]

#: keyword arguments of :func:`sample` that configure the NUTS step (passed to :class:`pymc.NUTS`)
NUTS_ARGUMENTS = (
    "target_accept", "max_treedepth", "early_max_treedepth", "step_scale", "Emax", "gamma", "k", "t0",
    "adapt_step_size",
)


def sample(
    model,
    kind: str = "marginal",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    nuts_sampler: str = "pymc",
    random_seed=None,
    priors: dict | None = None,
    *,
    nip: int | None = None,
    init: str = "auto",
    parameterization: str | dict[str, str] = "auto",
    **kwargs,
):
    """Sample the posterior by NUTS; return an arviz DataTree.

    Parameters
    ----------
    model : glpp.Model
    kind : {"marginal", "latent"}
        See :func:`build_pymc_model`.
    draws, tune, chains, nuts_sampler, random_seed
        As in :func:`pymc.sample`; 4 chains by default (as PyMC recommends: R-hat compares
        chains), run in parallel on :func:`default_cores` processes (``cores=`` sets it).
    priors : dict, optional
        Overrides of the default priors (:mod:`glpp.bayes.priors`).
    nip : int, optional
        Points per latent dimension of the marginal kind and the stored per-cluster
        log-likelihoods; by default :func:`choose_nip`.
    init : str or MLResult
        A fit (MAP or ML): every chain starts at its estimate (``adapt_diag``, no jitter).
        ``"auto"``: ``"laplace"`` for the marginal kind, PyMC's ``jitter+adapt_diag`` for the
        latent kind (hundreds of latents: no dense mass matrix). ``"laplace"``: chains
        started at draws of the Laplace approximation at the posterior mode, a dense mass
        matrix started at its covariance, ``target_accept`` of :func:`laplace_target_accept`
        unless given (:func:`glpp.bayes.laplace.laplace_step`; PyMC's default where the
        mode's Hessian is not negative definite or ``nuts_sampler`` is not ``"pymc"``).
        Any other value is PyMC's ``init``.
    parameterization : {"auto", "centered", "noncentered"} or dict
        The latent kind's latents, for all levels or a dict by level; ``"auto"`` centres a level
        whose clusters are informative (:mod:`glpp.bayes.parameterization`, at the pilot fit).
    **kwargs
        NUTS settings (:data:`NUTS_ARGUMENTS`) and other arguments of :func:`pymc.sample`.

    Returns
    -------
    DataTree
        Groups ``posterior`` (parameters under their ML names; ``b[<level>]``, the latent
        effects per cluster: for the marginal kind drawn afterwards from each cluster's
        conditional posterior given each draw), ``sample_stats``, ``observed_data`` and
        ``log_likelihood``: each top-level cluster's marginal log-likelihood (adaptive
        quadrature, ``nip`` points; ``arviz.loo`` is leave-one-cluster-out). The posterior's
        attributes record ``glpp_kind``, ``glpp_nip``, ``glpp_init``, ``glpp_parameterization``
        (the latent kind: ``"level: choice"`` per level), ``sampling_time`` (PyMC's NUTS
        time), ``initialisation_seconds`` (the Laplace step), ``sampling_seconds`` (all of
        it, compilation included) and ``postprocessing_seconds``.
    """
    run = {"draws": draws, "tune": tune, "chains": chains, "random_seed": random_seed}
    run["cores"] = kwargs.pop("cores", default_cores(chains))
    if model.design.discrete is not None:  # classes summed out exactly (glpp.bayes.discrete)
        return sample_discrete(model, kind, run, priors=priors, init=init, nuts_sampler=nuts_sampler, **kwargs)
    check_supported(model)
    nip, choices = _pilot_choices(model, kind, nip, parameterization)
    pm_model = build_pymc_model(model, kind, priors=priors, nip=nip, parameterization=choices)
    if not isinstance(init, str):  # a fit (MAP or ML): every chain starts at its estimate
        kwargs.setdefault("initvals", _start_at(pm_model, init))
        init = "adapt_diag"
    started, mode = time.perf_counter(), compile_mode()
    kwargs.setdefault("compile_kwargs", {"mode": mode})
    init = ("laplace" if kind == "marginal" else "auto") if init == "auto" else init
    with pm_model:
        idata, init, initialisation_seconds = _run_nuts(model, pm_model, init, nuts_sampler, run, mode, kwargs)
    sampling_seconds = time.perf_counter() - started
    idata = augment_datatree(model, pm_model, idata, kind, nip, random_seed, sampling_seconds)
    attrs = idata["posterior"].attrs
    attrs.update(glpp_init=init, initialisation_seconds=initialisation_seconds)
    if choices:
        attrs["glpp_parameterization"] = ", ".join(f"{level}: {choice}" for level, choice in choices.items())
    return idata


def default_cores(chains: int) -> int:
    """Processes that run the chains: one per chain, up to 4 and the machine's CPUs
    (``os.cpu_count()``; PyMC's own default counts half of them, taking the rest for
    hyper-threads, and runs 4 chains one after another on a 2-CPU machine)."""
    return max(1, min(chains, 4, os.cpu_count() or 1))


def _pilot_choices(model, kind: str, nip: int | None, parameterization) -> tuple[int, dict[str, str]]:
    """``nip`` (:func:`choose_nip` unless given) and the latent kind's parameterisation by level
    (:func:`resolve_parameterization`), from one pilot fit (:func:`pilot_fit`) when either needs it."""
    choices = check_parameterization(model, parameterization)
    needs_nip = nip is None and not model.family.is_linear_gaussian(model.link)
    needs_choice = kind == "latent" and "auto" in choices.values()
    pilot = pilot_fit(model) if needs_nip or needs_choice else None
    nip = nip or choose_nip(model, pilot)
    return nip, resolve_parameterization(model, choices, pilot) if kind == "latent" else {}


def _start_at(pm_model, fit) -> dict[str, float]:
    """Initial values of the PyMC variables named like the fit's parameters (correlations keep
    PyMC's start: they live in an LKJ Cholesky variable)."""
    kinds = getattr(fit, "parameter_kinds", None)
    if kinds is None or not hasattr(fit, "params"):
        raise SpecError(f"init must be a string or a glpp fit (MLResult), not {type(fit).__name__}")
    return {
        name: float(value)
        for name, value in fit.params.items()
        if name in pm_model.named_vars and kinds.get(name) != "cor"
    }


def _run_nuts(model, pm_model, init: str, nuts_sampler: str, run: dict, mode: Mode, kwargs: dict):
    """NUTS in ``pm_model`` (the model in context): from the Laplace start
    (:func:`_sample_laplace`) when ``init`` is ``"laplace"`` and ``nuts_sampler`` is PyMC's,
    else with PyMC's ``init``.

    Returns the DataTree, the ``init`` used (``"jitter+adapt_diag"`` when there is no
    usable Laplace approximation) and the Laplace step's seconds (0 without it).
    """
    if init == "laplace" and nuts_sampler == "pymc":
        laplace = _sample_laplace(model, pm_model, run, mode, kwargs)
        if laplace is not None:
            idata, seconds = laplace
            return idata, init, seconds
        init = "jitter+adapt_diag"
    if init != "laplace":
        kwargs.setdefault("init", init)
    idata = pm.sample(nuts_sampler=nuts_sampler, **run, **kwargs)
    return idata, init, 0.0


def _sample_laplace(model, pm_model, run: dict, mode: Mode, kwargs: dict):
    """NUTS from the Laplace start (:func:`glpp.bayes.laplace.laplace_step`) with the NUTS
    settings popped from ``kwargs`` (``target_accept`` of :func:`laplace_target_accept` unless
    given); returns the DataTree and the Laplace step's seconds, or None, the settings put
    back into ``kwargs``, when there is no usable Laplace approximation."""
    given = {name: kwargs.pop(name) for name in NUTS_ARGUMENTS if name in kwargs}
    given.update(kwargs.pop("nuts", {}))
    nuts_arguments = {"target_accept": laplace_target_accept(model), **given}
    compile_with = kwargs["compile_kwargs"].get("mode", mode)
    laplace = laplace_step(pm_model, run["chains"], run["random_seed"], compile_with, nuts_arguments)
    if laplace is None:  # no usable mode: PyMC's default start with the user's settings
        kwargs.update(given)
        return None
    step, initvals, start = laplace
    kwargs.setdefault("initvals", initvals)
    return pm.sample(step=step, **run, **kwargs), start.seconds


# ------------------------------------------------------------------ MAP
def map_estimate(model, priors: dict | None = None, *, nip: int | None = None) -> pd.Series:
    """Posterior mode of the marginal model under the (default) priors.

    The mode is in the natural parameters (no Jacobian terms); returned as
    a Series indexed by the ML parameter names (``fit.params.index``).
    """
    pm_model = build_pymc_model(model, "marginal", priors=priors, nip=nip)
    with pm_model:
        result = pm.find_MAP(
            progressbar=False, jitter=False, return_inferencedata=True, compile_kwargs={"mode": compile_mode()}
        )
    posterior = result["posterior"].to_dataset()
    names = model.layout.natural_names
    return pd.Series([float(posterior[name].values.squeeze()) for name in names], index=list(names))
