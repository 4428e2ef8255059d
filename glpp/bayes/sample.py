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

import time

import pandas as pd
import pymc as pm
from pytensor.compile.mode import Mode


from glpp.bayes.build import check_supported, build_pymc_model, compile_mode
from glpp.bayes.discrete import sample_discrete
from glpp.bayes.laplace import laplace_step, laplace_target_accept
from glpp.bayes.nip import choose_nip
from glpp.bayes.posterior import augment_datatree
from glpp.errors import SpecError

__all__ = ["NUTS_ARGUMENTS", "sample", "map_estimate"]

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
    chains: int = 2,
    nuts_sampler: str = "pymc",
    random_seed=None,
    priors: dict | None = None,
    *,
    nip: int | None = None,
    init: str = "auto",
    **kwargs,
):
    """Sample the posterior by NUTS; return an arviz DataTree.

    Parameters
    ----------
    model : glpp.Model
    kind : {"marginal", "latent"}
        See :func:`build_pymc_model`.
    draws, tune, chains, nuts_sampler, random_seed
        As in :func:`pymc.sample`.
    priors : dict, optional
        Overrides of the default priors (:mod:`glpp.bayes.priors`).
    nip : int, optional
        Quadrature points per latent dimension of the marginal kind and of the stored
        per-cluster log-likelihoods; chosen for the data by :func:`choose_nip` by default.
    init : str or MLResult
        A fit (``model.fit(method="map")`` or an ML fit): every chain starts at
        its estimate (PyMC's ``adapt_diag``, no jitter). ``"auto"``: ``"laplace"`` for the marginal kind, PyMC's default
        (``jitter+adapt_diag``) for the latent kind, whose hundreds of latents make a
        dense mass matrix a poor choice. ``"laplace"``: BFGS to the posterior mode
        (:func:`laplace_start`), each chain started at an independent draw from the
        Laplace approximation there, a dense mass matrix that starts at the Laplace
        covariance and is adapted during tuning, and ``target_accept`` of
        :func:`laplace_target_accept` (0.65, or 0.9 with free loadings or paths) unless
        given; PyMC's ``jitter+adapt_diag`` when the Hessian at the mode is not negative
        definite, and PyMC's own start with ``nuts_sampler`` other than ``"pymc"``. Any
        other value is PyMC's ``init``.
    **kwargs
        NUTS settings (:data:`NUTS_ARGUMENTS`, e.g. ``target_accept``) and other
        arguments of :func:`pymc.sample`.

    Returns
    -------
    DataTree
        Groups ``posterior`` (parameters under their ML names; ``b[<level>]``, the
        latent effects per cluster, for both kinds: for the marginal kind drawn
        afterwards from each cluster's conditional posterior given each draw),
        ``sample_stats``, ``observed_data`` and ``log_likelihood``: the marginal
        log-likelihood of each top-level cluster (adaptive quadrature, ``nip``
        points), so that ``arviz.loo`` is leave-one-cluster-out. The posterior's
        attributes record ``glpp_kind``, ``glpp_nip``, ``glpp_init``,
        ``sampling_time`` (PyMC's NUTS time), ``initialisation_seconds`` (the Laplace
        step), ``sampling_seconds`` (all of it, compilation included) and
        ``postprocessing_seconds``.
    """
    run = {"draws": draws, "tune": tune, "chains": chains, "random_seed": random_seed}
    if model.design.discrete is not None:  # classes summed out exactly (glpp.bayes.discrete)
        return sample_discrete(model, kind, run, priors=priors, init=init, nuts_sampler=nuts_sampler, **kwargs)
    check_supported(model)
    nip = nip or choose_nip(model)
    pm_model = build_pymc_model(model, kind, priors=priors, nip=nip)
    if not isinstance(init, str):  # a fit (MAP or ML): every chain starts at its estimate
        kwargs.setdefault("initvals", _start_at(pm_model, init))
        init = "adapt_diag"
    started = time.perf_counter()
    mode = compile_mode()
    kwargs.setdefault("compile_kwargs", {"mode": mode})
    if init == "auto":
        init = "laplace" if kind == "marginal" else "auto"
    with pm_model:
        idata, init, initialisation_seconds = _run_nuts(model, pm_model, init, nuts_sampler, run, mode, kwargs)
    sampling_seconds = time.perf_counter() - started
    idata = augment_datatree(model, pm_model, idata, kind, nip, random_seed, sampling_seconds)
    attrs = idata["posterior"].attrs
    attrs["glpp_init"] = init
    attrs["initialisation_seconds"] = initialisation_seconds
    return idata


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
