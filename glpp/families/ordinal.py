"""The ordinal family: cumulative-link models (ordinal::clm), optionally scaled.

A response with ``K`` ordered categories, coded ``0..K-1`` by its sorted observed
values, has

    P(y <= k | eta) = F((tau_k - eta) / s),   k = 0..K-2,

with ``F`` the inverse link (logit, probit, cloglog), ``tau`` the ``K - 1``
increasing thresholds of its response set (:class:`~glpp.families.base.Cutpoints`)
and ``s = exp(z' alpha)`` the scale (1 without ``dispersion=``: the scaled
ordinal probit of gllamm). The linear predictor has no intercept: the
thresholds take its place. The log-probability of a category is
``log(F(b) - F(a))`` with ``a``, ``b`` the row's standardised lower and upper
thresholds, computed by :func:`log_interval_probability` from the link's
log-CDF and log-survival functions, never from a difference of rounded
probabilities.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from glpp.families.base import Cutpoints, Family, register
from glpp.families.links import Link

__all__ = ["ORDINAL", "log_interval_probability", "ordinal_problem", "threshold_start"]

#: the log-CDF difference is kept below -TINY: thresholds that cross (possible with
#: threshold covariates far from the data) give a very small probability, not NaN
_TINY = 1e-300


def _at_most(x: TensorVariable, bound: float) -> TensorVariable:
    return pt.switch(x < bound, x, bound)


def log_interval_probability(
    link: Link,
    lower: TensorVariable,
    upper: TensorVariable,
    has_lower: TensorVariable,
    has_upper: TensorVariable,
) -> TensorVariable:
    """``log(F(upper) - F(lower))`` element-wise, stable in both tails, finite gradients.

    ``F`` is ``link``'s inverse. A missing bound (``has_lower``/``has_upper``
    false) is ``-inf``/``+inf``: the result is ``log F(upper)`` or
    ``log(1 - F(lower))``. Between two bounds, the lower tail uses
    ``log F(b) + log(1 - F(a)/F(b))`` and the upper tail (``a + b > 0``) the
    survival form ``log S(a) + log(1 - S(b)/S(a))``. Every branch is
    evaluated at arguments valid for it (others get -1 and 1), so branches not
    taken contribute no inf/NaN to the gradient.
    """
    log_cdf, log_survival = link.log_mean, link.log_one_minus_mean
    both = has_lower & has_upper
    # rows computed in the survival form: the highest category, and upper-tail intervals
    use_survival = pt.switch(both, lower + upper > 0.0, ~has_upper)
    use_cdf = ~use_survival
    cdf_upper = pt.switch(use_cdf, upper, 1.0)
    cdf_lower = pt.switch(use_cdf & has_lower, lower, -1.0)
    log_f_upper = log_cdf(cdf_upper)
    cdf_gap = pt.log1mexp(_at_most(log_cdf(cdf_lower) - log_f_upper, -_TINY))
    cdf_form = log_f_upper + pt.switch(has_lower, cdf_gap, 0.0)
    survival_lower = pt.switch(use_survival, lower, -1.0)
    survival_upper = pt.switch(use_survival & has_upper, upper, 1.0)
    log_s_lower = log_survival(survival_lower)
    survival_gap = pt.log1mexp(_at_most(log_survival(survival_upper) - log_s_lower, -_TINY))
    survival_form = log_s_lower + pt.switch(has_upper, survival_gap, 0.0)
    return pt.switch(use_survival, survival_form, cdf_form)


def _ordinal_logp(y, eta, link, log_scale, trials, thresholds):
    """Cumulative-link log-probability of each row's category (``y`` is not read: the row's
    thresholds already say which interval its category is)."""
    lower, upper, has_lower, has_upper = thresholds
    lower_gap, upper_gap = lower - eta, upper - eta
    if log_scale is not None:
        inverse_scale = pt.exp(-log_scale)
        lower_gap, upper_gap = lower_gap * inverse_scale, upper_gap * inverse_scale
    return log_interval_probability(link, lower_gap, upper_gap, has_lower, has_upper)


def ordinal_problem(y: np.ndarray, trials: np.ndarray | None) -> str | None:
    """Why ``y`` cannot be an ordinal response (one response set), or ``None``."""
    if not np.all(np.isfinite(y)):
        return "the response has infinite values"
    if np.any(y != np.round(y)) or np.any(y < 0):
        bad = y[(y != np.round(y)) | (y < 0)][0]
        return (
            f"ordinal categories must be non-negative integer codes (such as 1, 2, 3); found {bad:g}; "
            "recode the categories in their order"
        )
    categories = np.unique(y)
    if categories.size < 2:
        return (
            f"an ordinal response needs at least two observed categories; only {categories[0]:g} occurs "
            "(a single category has no thresholds to estimate)"
        )
    return None


def threshold_start(link: Link, codes: np.ndarray, n_categories: int) -> np.ndarray:
    """The link of the cumulative proportions of categories ``0..K-2`` (eta = 0), kept increasing."""
    counts = np.bincount(codes.astype(np.int64), minlength=n_categories).astype(float) + 0.5
    cumulative = np.cumsum(counts)[:-1] / counts.sum()
    with np.errstate(all="ignore"):
        values = np.asarray(link.forward(np.clip(cumulative, 1e-3, 1 - 1e-3)), dtype=float)
    values = np.where(np.isfinite(values), values, 0.0)
    # strictly increasing: at least 0.1 apart
    return values[0] + np.concatenate([[0.0], np.cumsum(np.maximum(np.diff(values), 0.1))])


ORDINAL = register(
    Family(
        "ordinal",
        "logit",
        ("logit", "probit", "cloglog"),
        None,
        _ordinal_logp,
        ordinal_problem,
        cutpoints=Cutpoints("tau", threshold_start),
        dispersion_regression="scale",
        intercept=False,
        latent_response=True,
    ),
    aliases=("cumulative", "ordered"),
)
