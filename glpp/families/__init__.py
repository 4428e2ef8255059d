"""Response families and link functions: one pytensor definition of each.

Every likelihood in glpp (ML by quadrature, MAP, full-latent and marginal
PyMC models) evaluates the conditional log-density of a response through
:meth:`Family.logp`, so each family and each link is written once, here.

The links supply the log of the mean (and, for probabilities, the log of one
minus the mean) directly in stable form, so that e.g. a probit-binomial
log-density is ``y * log_ndtr(eta) + (n - y) * log_ndtr(-eta)`` and never
takes the log of a rounded probability; the logit-binomial one is written
``y * eta - n * softplus(eta)`` (one softplus).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from glpp.errors import DataError, SpecError

__all__ = [
    "Link",
    "Family",
    "MixedFamily",
    "LINKS",
    "FAMILIES",
    "get_family",
    "resolve_family_link",
    "log_ndtr",
]

_LOG_2PI = math.log(2.0 * math.pi)


def _at_least(x: TensorVariable, bound: float) -> TensorVariable:
    """max(x, bound) written as a switch: its gradient has no boolean factor
    (pytensor's ``maximum`` gradient multiplies by a boolean mask, which some
    graph rewrites reject with noisy warnings)."""
    return pt.switch(x > bound, x, bound)


def _at_most(x: TensorVariable, bound: float) -> TensorVariable:
    return pt.switch(x < bound, x, bound)


def log_ndtr(x: TensorVariable) -> TensorVariable:
    """log Phi(x), accurate in both tails and with finite gradients.

    Each branch of the switch is evaluated at an argument clipped to its own
    domain, so the branch not taken never produces inf/nan gradients.
    """
    z = -x / math.sqrt(2.0)
    switch_at = 3.0
    tail_z = _at_least(z, switch_at)
    tail = pt.log(0.5 * pt.erfcx(tail_z)) - tail_z**2
    body = pt.log(0.5 * pt.erfc(_at_most(z, switch_at)))
    return pt.switch(z > switch_at, tail, body)


def _cloglog_log_mean(eta: TensorVariable) -> TensorVariable:
    """log(1 - exp(-exp(eta))) with finite values and derivatives everywhere.

    Below eta = -20 the series ``eta - exp(eta) / 2`` and above eta = 3 the
    expansion ``-exp(-exp(eta))`` are exact to double precision; each branch
    sees an argument clipped to its own domain, so the branches not taken
    produce no inf * 0 in the derivatives.
    """
    lower = _at_most(eta, -20.0)
    middle = _at_most(_at_least(eta, -20.0), 3.0)
    upper = _at_most(_at_least(eta, 3.0), 30.0)
    return pt.switch(
        eta < -20.0,
        lower - 0.5 * pt.exp(lower),
        pt.switch(eta > 3.0, -pt.exp(-pt.exp(upper)), pt.log1mexp(-pt.exp(middle))),
    )


@dataclass(frozen=True)
class Link:
    """A link function g with mu = g^{-1}(eta).

    Attributes
    ----------
    name : str
    inverse : callable
        eta -> mu (pytensor).
    log_mean : callable
        eta -> log(mu) in stable form (pytensor).
    log_one_minus_mean : callable or None
        eta -> log(1 - mu), for links onto probabilities.
    forward : callable
        mu -> eta in numpy; used only for starting values.
    """

    name: str
    inverse: Callable[[TensorVariable], TensorVariable]
    log_mean: Callable[[TensorVariable], TensorVariable]
    forward: Callable[[np.ndarray], np.ndarray]
    log_one_minus_mean: Callable[[TensorVariable], TensorVariable] | None = None


LINKS: dict[str, Link] = {
    "identity": Link("identity", lambda eta: eta, lambda eta: pt.log(eta), lambda mu: mu),
    "log": Link(
        "log",
        pt.exp,
        lambda eta: eta,
        np.log,
        log_one_minus_mean=lambda eta: pt.log1mexp(eta),
    ),
    "logit": Link(
        "logit",
        pt.sigmoid,
        lambda eta: -pt.softplus(-eta),
        lambda mu: np.log(mu / (1.0 - mu)),
        log_one_minus_mean=lambda eta: -pt.softplus(eta),
    ),
    "probit": Link(
        "probit",
        lambda eta: pt.exp(log_ndtr(eta)),
        log_ndtr,
        lambda mu: np.sqrt(2.0) * _erfinv(2.0 * mu - 1.0),
        log_one_minus_mean=lambda eta: log_ndtr(-eta),
    ),
    "cloglog": Link(
        "cloglog",
        lambda eta: -pt.expm1(-pt.exp(eta)),
        lambda eta: _cloglog_log_mean(eta),
        lambda mu: np.log(-np.log1p(-mu)),
        log_one_minus_mean=lambda eta: -pt.exp(eta),
    ),
    "reciprocal": Link(
        "reciprocal", lambda eta: 1.0 / eta, lambda eta: -pt.log(eta), lambda mu: 1.0 / mu
    ),
    "sqrt": Link("sqrt", pt.sqr, lambda eta: 2.0 * pt.log(eta), np.sqrt),
}
_LINK_ALIASES = {"inverse": "reciprocal"}


def _erfinv(x: np.ndarray) -> np.ndarray:
    from scipy.special import erfinv

    return erfinv(x)


@dataclass(frozen=True)
class Family:
    """A response distribution given its linear predictor.

    Attributes
    ----------
    name : str
    default_link : str
        The canonical (or customary) link.
    links : tuple of str
        Links allowed with this family.
    dispersion : str or None
        Name of the dispersion parameter estimated on the log scale
        (``"sigma"`` for gaussian, ``"shape"`` for gamma), ``None`` if fixed.
    """

    name: str
    default_link: str
    links: tuple[str, ...]
    dispersion: str | None
    _logp: Callable[..., TensorVariable]
    _validate: Callable[[np.ndarray, np.ndarray | None], str | None]

    def logp(
        self,
        y: TensorVariable,
        eta: TensorVariable,
        link: Link,
        log_dispersion: TensorVariable | None = None,
        trials: TensorVariable | None = None,
    ) -> TensorVariable:
        """Element-wise conditional log-density of ``y`` given ``eta``.

        Parameters
        ----------
        y : tensor
            Responses (successes for binomial), broadcastable with ``eta``.
        eta : tensor
            Linear predictor.
        link : Link
        log_dispersion : tensor, optional
            log(sigma) for gaussian, log(shape) for gamma.
        trials : tensor, optional
            Binomial number of trials (1 for Bernoulli responses).
        """
        return self._logp(y, eta, link, log_dispersion, trials)

    def validate(self, y: np.ndarray, trials: np.ndarray | None) -> str | None:
        """Return a message if ``y`` is outside the family's support."""
        return self._validate(y, trials)


def _gaussian_logp(y, eta, link, log_sigma, trials):
    mu = link.inverse(eta)
    return -0.5 * _LOG_2PI - log_sigma - 0.5 * pt.sqr((y - mu) * pt.exp(-log_sigma))


def _binomial_logp(y, eta, link, log_dispersion, trials):
    if link.name == "logit":
        # log mu = eta - softplus(eta) and log(1 - mu) = -softplus(eta): the same density with
        # one softplus (and one sigmoid in its gradient) instead of two; the quadrature
        # likelihood evaluates it at every row and node
        log_choose = pt.gammaln(trials + 1.0) - pt.gammaln(y + 1.0) - pt.gammaln(trials - y + 1.0)
        return log_choose + y * eta - trials * pt.softplus(eta)
    log_mu = link.log_mean(eta)
    log_one_minus_mu = link.log_one_minus_mean(eta)
    log_choose = pt.gammaln(trials + 1.0) - pt.gammaln(y + 1.0) - pt.gammaln(trials - y + 1.0)
    return log_choose + y * log_mu + (trials - y) * log_one_minus_mu


def _poisson_logp(y, eta, link, log_dispersion, trials):
    log_mu = link.log_mean(eta)
    return y * log_mu - pt.exp(log_mu) - pt.gammaln(y + 1.0)


def _gamma_logp(y, eta, link, log_shape, trials):
    shape = pt.exp(log_shape)
    log_mu = link.log_mean(eta)
    return (
        shape * (log_shape - log_mu)
        + (shape - 1.0) * pt.log(y)
        - shape * y * pt.exp(-log_mu)
        - pt.gammaln(shape)
    )


def _validate_real(y, trials):
    if not np.all(np.isfinite(y)):
        return "the response has infinite values"
    return None


def _validate_binomial(y, trials):
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


def _validate_poisson(y, trials):
    if np.any(y < 0):
        return f"poisson counts must be non-negative; found {y[y < 0][0]:g}"
    if np.any(y != np.round(y)):
        return "poisson counts must be integers"
    return None


def _validate_gamma(y, trials):
    if np.any(y <= 0):
        return f"gamma responses must be positive; found {y[y <= 0][0]:g}"
    return None


FAMILIES: dict[str, Family] = {
    "gaussian": Family(
        "gaussian", "identity", ("identity", "log", "reciprocal"), "sigma", _gaussian_logp, _validate_real
    ),
    "binomial": Family(
        "binomial", "logit", ("logit", "probit", "cloglog", "log"), None, _binomial_logp, _validate_binomial
    ),
    "poisson": Family("poisson", "log", ("log", "identity", "sqrt"), None, _poisson_logp, _validate_poisson),
    "gamma": Family("gamma", "log", ("log", "reciprocal", "identity"), "shape", _gamma_logp, _validate_gamma),
}
_FAMILY_ALIASES = {"normal": "gaussian", "bernoulli": "binomial", "Gamma": "gamma"}


#: a response value inside each family's support, used on rows of other families
_SAFE_RESPONSE = {"gaussian": 0.0, "binomial": 0.0, "poisson": 0.0, "gamma": 1.0}
#: a linear predictor inside each link's domain, used on rows of other families
_SAFE_ETA = {"identity": 1.0, "reciprocal": 1.0, "sqrt": 1.0, "log": -1.0}


@dataclass(frozen=True)
class MixedFamily:
    """Several response families in one model: each row has its own.

    The conditional log-density of a row is that of its own family and link;
    rows of other families are evaluated at a harmless value inside each
    family's support and masked out, so no family sees data outside its
    domain (and gradients stay finite).

    Attributes
    ----------
    components : tuple of (Family, Link)
        In the order of ``Design.family_index``.
    """

    components: tuple[tuple[Family, Link], ...]
    name: str = "mixed"
    dispersion: str | None = None

    def logp(self, y, eta, link, log_dispersion=None, trials=None, family_index=None):
        """Element-wise log-density; ``family_index`` broadcasts with ``eta``."""
        total = pt.zeros_like(eta)
        for position, (family, component_link) in enumerate(self.components):
            mask = pt.eq(family_index, position)
            safe_y = pt.switch(mask, y, _SAFE_RESPONSE[family.name])
            safe_eta = pt.switch(mask, eta, _SAFE_ETA.get(component_link.name, 0.0))
            safe_trials = None if trials is None else pt.switch(mask, trials, 1.0)
            safe_dispersion = None if family.dispersion is None else log_dispersion
            value = family.logp(safe_y, safe_eta, component_link, safe_dispersion, safe_trials)
            total = total + pt.switch(mask, value, 0.0)
        return total


def get_family(name: str) -> Family:
    """Look up a family by name (case-insensitive; aliases allowed)."""
    key = _FAMILY_ALIASES.get(name, name).lower()
    key = _FAMILY_ALIASES.get(key, key)
    if key not in FAMILIES:
        raise SpecError(f"unknown family {name!r}; choose one of {sorted(FAMILIES)}")
    return FAMILIES[key]


def resolve_family_link(family: str, link: str | None) -> tuple[Family, Link]:
    """Validate a family/link pair; ``link=None`` gives the family's default.

    Raises
    ------
    SpecError
        Unknown family or link, or a link that does not map onto the
        family's mean space.
    """
    resolved_family = get_family(family)
    if link is None:
        return resolved_family, LINKS[resolved_family.default_link]
    link_name = _LINK_ALIASES.get(link.lower(), link.lower())
    if link_name not in LINKS:
        raise SpecError(f"unknown link {link!r}; choose one of {sorted(LINKS)}")
    if link_name not in resolved_family.links:
        raise SpecError(
            f"link {link!r} is not available for family {resolved_family.name!r}; "
            f"use one of {list(resolved_family.links)}"
        )
    return resolved_family, LINKS[link_name]


def validate_response(family: Family, y: np.ndarray, trials: np.ndarray | None, label: str) -> None:
    """Raise :class:`DataError` if ``y`` is outside the family's support."""
    message = family.validate(y, trials)
    if message is not None:
        raise DataError(f"response {label!r} does not fit family {family.name!r}: {message}")
