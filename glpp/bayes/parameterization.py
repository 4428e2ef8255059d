"""Centred or non-centred latents in the latent kind, chosen per level.

The latent kind (:func:`glpp.bayes.build_pymc_model`, ``kind="latent"``) samples each
level's latents either non-centred (standardised ``z[level] ~ N(0, I)``, effects
``b = L z``) or centred (``b[level] ~ N(0, L L')`` sampled directly). Which one mixes
better depends on how much a cluster's data say about its latent compared with the
latent's distribution (Papaspiliopoulos, Roberts & Skold 2007, Statistical Science 22:
the gaussian case, where a Gibbs sampler's rate of convergence is ``s`` centred and
``1 - s`` non-centred, with ``s`` the posterior variance of a standardised latent;
Betancourt & Girolami 2015 for Hamiltonian Monte Carlo):

- ``s_j`` = the posterior variance of cluster ``j``'s standardised latent ``u_j``
  (prior ``N(0, 1)``) given its data: the diagonal of the inverse of the negative
  Hessian of ``log p(y_j | u) + log phi(u)`` at the cluster's mode (the Laplace
  approximation; exact for gaussian responses), at a pilot ML estimate
  (:func:`glpp.bayes.nip.pilot_fit`, the fit that also chooses the marginal kind's
  quadrature points). Roughly ``s_j = 1 / (1 + n_j * information per row * sd^2)``.
- the level's share :func:`posterior_variance_share` is the mean of ``s_j`` over its
  clusters and latents; **centred when it is below** :data:`CENTRED_BELOW_SHARE`,
  non-centred otherwise.

The threshold is 0.1, not the Gibbs sampler's 0.5: NUTS with a diagonal mass matrix
copes with the posterior correlations of the non-centred form far better than with the
funnel of the centred one, and measured on toenail's patients (7 visits, ``sd[patient]``
about 4, share 0.26; 4 chains x 1000 draws, seed 1) the non-centred form gave a smallest
bulk ESS of 767 (R-hat 1.0073) against 325 (R-hat 1.0064) centred. A level is centred
only where its clusters pin their latents down (share 0.065 for the library's ``owls``
nests and ``gamma`` clusters), non-centred where they do not (2 rows per cluster and a
small SD: a share near 1). Without a usable pilot fit the level is non-centred.
``parameterization="centered"`` or ``"noncentered"`` (all levels) or a dict by level
name overrides the rule.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from glpp.bayes.marginal import marginal_objective
from glpp.bayes.multilevel import objective_for, uses_ml_objective
from glpp.errors import SpecError

__all__ = [
    "PARAMETERIZATIONS",
    "CENTRED_BELOW_SHARE",
    "posterior_variance_share",
    "choose_parameterization",
    "check_parameterization",
    "resolve_parameterization",
]

#: the choices of ``parameterization`` (``"auto"``: :func:`choose_parameterization`)
PARAMETERIZATIONS = ("auto", "centered", "noncentered")
#: a level is centred when the mean posterior variance of its standardised latents is below this
#: (toenail, share 0.26: non-centred mixed better; see the module docstring)
CENTRED_BELOW_SHARE = 0.1


def posterior_variance_share(model, theta: np.ndarray) -> dict[str, float]:
    """Mean posterior variance of each level's standardised latents at ``theta`` (prior variance 1).

    Parameters
    ----------
    model : glpp.Model
    theta : ndarray
        ML parameter vector (:meth:`glpp.params.ParameterLayout.theta_from_named`).

    Returns
    -------
    dict
        Level name -> the mean over clusters and latents of ``diag(H_j^{-1})``, ``H_j`` the
        negative Hessian of cluster ``j``'s log-posterior of its standardised latents at its
        mode (1 when the data say nothing about the latents, near 0 when they pin them down).
    """
    if uses_ml_objective(model):  # the posterior covariances at every level (ML objective)
        moments = objective_for(model, 1).latent_moments(theta)
        return {
            level.name: float(np.mean(np.diagonal(covariance, axis1=1, axis2=2)))
            for level, (_, covariance) in zip(model.design.levels, moments)
        }
    level = model.design.levels[0]
    objective = marginal_objective(model, 1)  # one point: only the modes and curvatures are used
    modes = objective.find_modes(theta)
    _, _, neg_hessian = objective.functions.mode_terms(theta, modes, *objective.data)
    variances = np.diagonal(np.linalg.inv(np.asarray(neg_hessian)), axis1=1, axis2=2)
    return {level.name: float(np.mean(variances))}


def choose_parameterization(model, params: Mapping[str, float] | None) -> dict[str, str]:
    """Each level's parameterisation by the rule of this module, at the parameters ``params``.

    Parameters
    ----------
    model : glpp.Model
    params : mapping or None
        Natural parameters by name (``fit.params`` of a pilot fit, :func:`glpp.bayes.nip.pilot_fit`);
        None: every level non-centred.

    Returns
    -------
    dict
        Level name -> ``"centered"`` or ``"noncentered"``.

    Examples
    --------
    >>> choose_parameterization(toenail, toenail.fit().params)
    {'patient': 'noncentered'}
    """
    names = [level.name for level in model.design.levels]
    if params is None:
        return dict.fromkeys(names, "noncentered")
    theta = model.layout.theta_from_named(dict(params))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shares = posterior_variance_share(model, theta)
    except (np.linalg.LinAlgError, FloatingPointError, ValueError):
        return dict.fromkeys(names, "noncentered")
    return {
        name: "centered" if np.isfinite(shares[name]) and shares[name] < CENTRED_BELOW_SHARE else "noncentered"
        for name in names
    }


def check_parameterization(model, parameterization: str | dict[str, str]) -> dict[str, str]:
    """``parameterization`` (one choice for every level, or a dict by level name; levels not
    named are ``"auto"``) as a dict by level name, ``"auto"`` left as it is.

    Raises :class:`glpp.SpecError` naming an unknown choice or level.
    """
    names = [level.name for level in model.design.levels]
    choices = dict.fromkeys(names, parameterization) if isinstance(parameterization, str) else dict(parameterization)
    unknown_levels = sorted(set(choices) - set(names))
    if unknown_levels:
        raise SpecError(f"parameterization: unknown level(s) {unknown_levels}; the model's levels are {names}")
    for name, choice in choices.items():
        if choice not in PARAMETERIZATIONS:
            raise SpecError(
                f"parameterization of level {name!r}: unknown choice {choice!r}; use one of {list(PARAMETERIZATIONS)}"
            )
    return {name: choices.get(name, "auto") for name in names}


def resolve_parameterization(model, parameterization: str | dict[str, str], fit) -> dict[str, str]:
    """:func:`check_parameterization`, each ``"auto"`` replaced by :func:`choose_parameterization`
    at the estimate of ``fit`` (a pilot fit, or None: non-centred)."""
    choices = check_parameterization(model, parameterization)
    if "auto" in choices.values():
        chosen = choose_parameterization(model, None if fit is None else fit.params)
        choices = {name: chosen[name] if choice == "auto" else choice for name, choice in choices.items()}
    return choices
