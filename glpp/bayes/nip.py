"""Points per latent dimension of the marginal kind.

:func:`glpp.bayes.sample` chooses them for the data (:func:`choose_nip`: the first of 7,
11, 15, 21, 31, 45 whose log-likelihood at the ML estimate is within 0.05 of the next
rule's; 1, exact, for gaussian identity-link models); :func:`glpp.bayes.build_pymc_model`
uses ``nip`` or :func:`default_nip` (15, or 1 for gaussian identity-link models).
"""

from __future__ import annotations

import warnings

from glpp.bayes.marginal import marginal_objective
from glpp.likelihood.quadrature import make_rule

__all__ = ["DEFAULT_NIP", "default_nip", "pilot_fit", "choose_nip"]

#: Gauss-Hermite points per latent dimension of the marginal kind (and of the
#: per-cluster log-likelihoods stored after sampling) unless ``nip`` is given.
DEFAULT_NIP = 15


def default_nip(model) -> int:
    """Points per dimension of :func:`glpp.bayes.build_pymc_model`'s marginal kind: 1 (Laplace,
    exact) for a gaussian identity-link model, whose integrand is gaussian, else
    :data:`DEFAULT_NIP`."""
    if model.family.is_linear_gaussian(model.link):
        return 1
    return DEFAULT_NIP


#: rules tried by :func:`choose_nip`, by number of latents (more: sparse-free product rules)
NIP_CANDIDATES: dict[int, tuple[int, ...]] = {1: (7, 11, 15, 21, 31, 45), 2: (5, 7, 9, 11, 15, 21)}
NIP_CANDIDATES_HIGHER = (3, 5, 7)
#: log-likelihood change (at the ML estimate) below which :func:`choose_nip` stops
NIP_TOLERANCE = 0.05


def pilot_fit(model):
    """The pilot ML fit of :func:`sample`: at the smallest rule of :data:`NIP_CANDIDATES` (the
    closed form for gaussian identity-link models; ML's own ``nip="auto"`` with latents at
    several levels); None when it fails. It chooses the marginal
    kind's points (:func:`choose_nip`) and the latent kind's parameterisation
    (:mod:`glpp.bayes.parameterization`)."""
    level = model.design.levels[0]
    several_levels = len(model.design.levels) > 1  # the ML path's own choice of points per level
    linear = model.family.is_linear_gaussian(model.link)
    nip = "auto" if linear or several_levels else NIP_CANDIDATES.get(level.n_latents, NIP_CANDIDATES_HIGHER)[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(nip=nip, progress=False)
    except Exception:  # noqa: BLE001 - any failure of the pilot fit: the callers' fallbacks
        return None


def choose_nip(model, fit=None) -> int | tuple[int, ...]:
    """Points per dimension for sampling the marginal kind, chosen for the data.

    1 for a gaussian identity-link model (adaptive quadrature with one point is
    exact). Otherwise, at the estimate of ``fit`` (by default :func:`pilot_fit`, with the
    smallest rule of :data:`NIP_CANDIDATES`), the rules are tried in turn: the
    first whose total log-likelihood is within :data:`NIP_TOLERANCE` of the next
    one's. A log-likelihood error that small varies over the posterior by a few
    hundredths, which moves posterior means by a few hundredths of a posterior SD
    (toenail: 21 points; 15 points err by 0.2 and shift the mean of ``log
    sd[patient]`` by 0.1 posterior SD). Falls back to :data:`DEFAULT_NIP` when the
    fit fails. With latents at several levels: the points per level at which the pilot
    fit's ``nip="auto"`` settled.
    """
    if model.family.is_linear_gaussian(model.link):
        return 1
    if len(model.design.levels) > 1:  # the points per level that ML's nip="auto" settled at
        fit = fit if fit is not None else pilot_fit(model)
        return DEFAULT_NIP if fit is None or not fit.nip else fit.nip
    level = model.design.levels[0]
    candidates = NIP_CANDIDATES.get(level.n_latents, NIP_CANDIDATES_HIGHER)
    fit = fit if fit is not None else pilot_fit(model)
    if fit is None:
        return DEFAULT_NIP
    try:
        theta = model.layout.theta_from_named(dict(fit.params))
        objective = marginal_objective(model, candidates[0])
        logliks = []
        for nip in candidates:
            objective.set_rule(make_rule(nip, level.n_latents, "product"))
            logliks.append(objective.loglik(theta)[0])
    except Exception:  # noqa: BLE001 - any failure at the pilot estimate: the fixed default
        return DEFAULT_NIP
    for k in range(len(candidates) - 1):
        if abs(logliks[k] - logliks[k + 1]) < NIP_TOLERANCE:
            return candidates[k]
    return candidates[-1]
