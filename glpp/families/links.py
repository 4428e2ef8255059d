"""Link functions: one pytensor definition of each.

The links supply the log of the mean (and, for probabilities, the log of one
minus the mean) directly in stable form, so that e.g. a probit-binomial
log-density is ``y * log_ndtr(eta) + (n - y) * log_ndtr(-eta)`` and never
takes the log of a rounded probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

__all__ = ["Link", "LINKS", "LINK_ALIASES", "log_ndtr"]


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


def _erfinv(x: np.ndarray) -> np.ndarray:
    from scipy.special import erfinv

    return erfinv(x)


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
    forward : callable
        mu -> eta in numpy; used only for starting values.
    log_one_minus_mean : callable or None
        eta -> log(1 - mu), for links onto probabilities.
    safe_eta : float
        A linear predictor inside the link's domain, used on the masked rows
        of other families in a :class:`~glpp.families.mixed.MixedFamily`.
    error_variance : float or None
        Links onto probabilities that are a latent response crossing a threshold (``y = 1``
        where ``eta + e > 0``): the variance of ``e`` (logit: logistic, pi^2/3; probit:
        normal, 1; cloglog: Gumbel, pi^2/6); ``None`` for the other links.
    """

    name: str
    inverse: Callable[[TensorVariable], TensorVariable]
    log_mean: Callable[[TensorVariable], TensorVariable]
    forward: Callable[[np.ndarray], np.ndarray]
    log_one_minus_mean: Callable[[TensorVariable], TensorVariable] | None = None
    safe_eta: float = 0.0
    error_variance: float | None = None


LINKS: dict[str, Link] = {
    "identity": Link("identity", lambda eta: eta, lambda eta: pt.log(eta), lambda mu: mu, safe_eta=1.0),
    "log": Link(
        "log",
        pt.exp,
        lambda eta: eta,
        np.log,
        log_one_minus_mean=lambda eta: pt.log1mexp(eta),
        safe_eta=-1.0,
    ),
    "logit": Link(
        "logit",
        pt.sigmoid,
        lambda eta: -pt.softplus(-eta),
        lambda mu: np.log(mu / (1.0 - mu)),
        log_one_minus_mean=lambda eta: -pt.softplus(eta),
        error_variance=math.pi**2 / 3.0,
    ),
    "probit": Link(
        "probit",
        lambda eta: pt.exp(log_ndtr(eta)),
        log_ndtr,
        lambda mu: np.sqrt(2.0) * _erfinv(2.0 * mu - 1.0),
        log_one_minus_mean=lambda eta: log_ndtr(-eta),
        error_variance=1.0,
    ),
    "cloglog": Link(
        "cloglog",
        lambda eta: -pt.expm1(-pt.exp(eta)),
        lambda eta: _cloglog_log_mean(eta),
        lambda mu: np.log(-np.log1p(-mu)),
        log_one_minus_mean=lambda eta: -pt.exp(eta),
        error_variance=math.pi**2 / 6.0,
    ),
    "reciprocal": Link(
        "reciprocal", lambda eta: 1.0 / eta, lambda eta: -pt.log(eta), lambda mu: 1.0 / mu, safe_eta=1.0
    ),
    "sqrt": Link("sqrt", pt.sqr, lambda eta: 2.0 * pt.log(eta), np.sqrt, safe_eta=1.0),
}
LINK_ALIASES = {"inverse": "reciprocal"}
