"""The built-in families: gaussian, binomial, poisson, gamma, negative binomial (NB2).

Each is one :class:`~glpp.families.base.Family`: its pytensor log-density
(written once, used by ML, MAP and both PyMC kinds), its support check, its
auxiliary parameter and its registration.
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt

from glpp.families.base import AuxParameter, Family, register

__all__ = ["GAUSSIAN", "BINOMIAL", "POISSON", "GAMMA", "NEGATIVE_BINOMIAL"]

_LOG_2PI = math.log(2.0 * math.pi)


def _log_choose(trials, y):
    return pt.gammaln(trials + 1.0) - pt.gammaln(y + 1.0) - pt.gammaln(trials - y + 1.0)


# ------------------------------------------------------------------ gaussian
def _gaussian_logp(y, eta, link, log_sigma, trials):
    mu = link.inverse(eta)
    return -0.5 * _LOG_2PI - log_sigma - 0.5 * pt.sqr((y - mu) * pt.exp(-log_sigma))


def _real_problem(y, trials):
    if not np.all(np.isfinite(y)):
        return "the response has infinite values"
    return None


GAUSSIAN = register(
    Family(
        "gaussian",
        "identity",
        ("identity", "log", "reciprocal"),
        AuxParameter(
            "sigma",
            start=lambda scale: scale,
            prior=lambda pm, scale: pm.HalfNormal.dist(5.0 * scale),
            is_residual_sd=True,
        ),
        _gaussian_logp,
        _real_problem,
        has_response_scale=True,
        dispersion_regression="sigma",
    ),
    aliases=("normal",),
)


# ------------------------------------------------------------------ binomial
def _binomial_logp(y, eta, link, log_aux, trials):
    if link.name == "logit":
        # log mu = eta - softplus(eta) and log(1 - mu) = -softplus(eta): the same density with
        # one softplus (and one sigmoid in its gradient) instead of two; the quadrature
        # likelihood evaluates it at every row and node
        return _log_choose(trials, y) + y * eta - trials * pt.softplus(eta)
    log_mu = link.log_mean(eta)
    log_one_minus_mu = link.log_one_minus_mean(eta)
    return _log_choose(trials, y) + y * log_mu + (trials - y) * log_one_minus_mu


def _binomial_problem(y, trials):
    if np.any(y < 0) or np.any(y != np.round(y)):
        return "binomial responses must be non-negative integers (0/1, or counts of successes with cbind)"
    if np.any(y > trials):
        bad = int(np.flatnonzero(y > trials)[0])
        if np.all(trials == 1):
            return f"a Bernoulli response must be 0 or 1; found {y[bad]:g} (use cbind(successes, failures) for counts)"
        return f"successes exceed the number of trials (row {bad}: {y[bad]:g} > {trials[bad]:g})"
    if np.any(trials - y < 0):
        return "failures must be non-negative"
    return None


BINOMIAL = register(
    Family(
        "binomial",
        "logit",
        ("logit", "probit", "cloglog", "log"),
        None,
        _binomial_logp,
        _binomial_problem,
        uses_trials=True,
        mean_bounds=(0.02, 0.98),
        latent_response=True,
    ),
    aliases=("bernoulli",),
)


# ------------------------------------------------------------------ counts
def _count_problem(family_name: str):
    def problem(y, trials):
        if np.any(y < 0):
            return f"{family_name} counts must be non-negative; found {y[y < 0][0]:g}"
        if np.any(y != np.round(y)):
            return f"{family_name} counts must be integers"
        return None

    return problem


def _poisson_logp(y, eta, link, log_aux, trials):
    log_mu = link.log_mean(eta)
    return y * log_mu - pt.exp(log_mu) - pt.gammaln(y + 1.0)


POISSON = register(
    Family("poisson", "log", ("log", "identity", "sqrt"), None, _poisson_logp, _count_problem("poisson"))
)


def _negative_binomial_logp(y, eta, link, log_size, trials):
    """NB2: Var(y) = mu + mu^2 / size; ``log(size + mu)`` by logaddexp, never from a rounded sum."""
    size = pt.exp(log_size)
    log_mu = link.log_mean(eta)
    log_total = pt.logaddexp(log_size, log_mu)
    return (
        pt.gammaln(y + size)
        - pt.gammaln(size)
        - pt.gammaln(y + 1.0)
        + size * (log_size - log_total)
        + y * (log_mu - log_total)
    )


NEGATIVE_BINOMIAL = register(
    Family(
        "negbinomial",
        "log",
        ("log", "identity", "sqrt"),
        AuxParameter(
            "size",
            start=lambda scale: 1.0,
            prior=lambda pm, scale: pm.Gamma.dist(0.01, 0.01),
        ),
        _negative_binomial_logp,
        _count_problem("negative binomial"),
        dispersion_regression="size",
    ),
    aliases=("nbinom2", "negative_binomial", "negativebinomial", "nb2"),
)


# ------------------------------------------------------------------ gamma
def _gamma_logp(y, eta, link, log_shape, trials):
    shape = pt.exp(log_shape)
    log_mu = link.log_mean(eta)
    return (
        shape * (log_shape - log_mu)
        + (shape - 1.0) * pt.log(y)
        - shape * y * pt.exp(-log_mu)
        - pt.gammaln(shape)
    )


def _gamma_problem(y, trials):
    if np.any(y <= 0):
        return f"gamma responses must be positive; found {y[y <= 0][0]:g}"
    return None


GAMMA = register(
    Family(
        "gamma",
        "log",
        ("log", "reciprocal", "identity"),
        AuxParameter("shape", start=lambda scale: 2.0, prior=lambda pm, scale: pm.Gamma.dist(0.01, 0.01)),
        _gamma_logp,
        _gamma_problem,
        safe_response=1.0,
        dispersion_regression="shape",
    )
)
