"""The ordinal family's log-probabilities against scipy, in the tails too, with finite gradients."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import special, stats

from glpp.errors import DataError
from glpp.families import resolve_family_link, validate_response
from glpp.families.ordinal import threshold_start

#: compiled without C (python linker): correctness only
MODE = "FAST_COMPILE"
#: relative accuracy of two float64 implementations of log(F(b) - F(a))
VALUE_RTOL = 1e-9
GRADIENT_RTOL, GRADIENT_ATOL, STEP = 1e-5, 1e-8, 1e-5

CDF = {
    "logit": special.expit,
    "probit": special.ndtr,
    "cloglog": lambda x: -np.expm1(-np.exp(x)),
}


def _cloglog_log_cdf(x):
    # log(1 - exp(-exp(x))): from expm1 in the lower tail, log1p near F = 1
    return np.where(x < 0, np.log(-np.expm1(-np.exp(np.minimum(x, 0)))), np.log1p(-np.exp(-np.exp(np.maximum(x, 0)))))


LOG_CDF = {"logit": special.log_expit, "probit": special.log_ndtr, "cloglog": _cloglog_log_cdf}
LOG_SF = {"logit": lambda x: special.log_expit(-x), "probit": lambda x: special.log_ndtr(-x), "cloglog": lambda x: -np.exp(x)}


def reference_logp(link: str, lower, upper, has_lower, has_upper, eta, scale):
    """log(F(b) - F(a)) in long double from whichever side is far from 1 (independent of glpp)."""
    a = (lower - eta) / scale
    b = (upper - eta) / scale
    out = np.empty_like(a)
    for k in range(a.size):
        if not has_lower[k]:
            out[k] = LOG_CDF[link](b[k])
        elif not has_upper[k]:
            out[k] = LOG_SF[link](a[k])
        elif a[k] + b[k] < 0:
            out[k] = LOG_CDF[link](b[k]) + np.log(-np.expm1(LOG_CDF[link](a[k]) - LOG_CDF[link](b[k])))
        else:
            out[k] = LOG_SF[link](a[k]) + np.log(-np.expm1(LOG_SF[link](b[k]) - LOG_SF[link](a[k])))
    return out


def compiled(link_name: str):
    family, link = resolve_family_link("ordinal", link_name)
    eta, lower, upper, log_scale = pt.vectors("eta", "lower", "upper", "log_scale")
    has_lower, has_upper = pt.bvector("has_lower"), pt.bvector("has_upper")
    thresholds = (lower, upper, pt.neq(has_lower, 0), pt.neq(has_upper, 0))
    logp = family.logp(pt.zeros_like(eta), eta, link, log_scale, None, thresholds=thresholds)
    gradients = pt.grad(logp.sum(), [eta, lower, upper, log_scale])
    return pytensor.function([eta, lower, upper, has_lower, has_upper, log_scale], [logp, *gradients], mode=MODE)


def cases(rng: np.random.Generator, n: int = 40, spread: float = 3.0):
    lower = rng.normal(0.0, spread, n)
    upper = lower + rng.exponential(1.0, n) + 1e-3
    has_lower = rng.random(n) < 0.8
    has_upper = np.where(has_lower, rng.random(n) < 0.8, True)
    eta = rng.normal(0.0, spread, n)
    scale = np.exp(rng.normal(0.0, 0.3, n))
    return eta, lower, upper, has_lower.astype(np.int8), has_upper.astype(np.int8), np.log(scale)


@pytest.mark.parametrize("link_name", ["logit", "probit", "cloglog"])
def test_values_and_gradients_match_scipy(link_name):
    function = compiled(link_name)
    eta, lower, upper, has_lower, has_upper, log_scale = cases(np.random.default_rng(11))
    value, d_eta, d_lower, d_upper, d_log_scale = function(eta, lower, upper, has_lower, has_upper, log_scale)

    def reference(eta_at=eta, lower_at=lower, upper_at=upper, log_scale_at=log_scale):
        return reference_logp(link_name, lower_at, upper_at, has_lower, has_upper, eta_at, np.exp(log_scale_at))

    np.testing.assert_allclose(value, reference(), rtol=VALUE_RTOL)
    for analytic, name in ((d_eta, "eta_at"), (d_lower, "lower_at"), (d_upper, "upper_at"), (d_log_scale, "log_scale_at")):
        base = {"eta_at": eta, "lower_at": lower, "upper_at": upper, "log_scale_at": log_scale}[name]
        numeric = (reference(**{name: base + STEP}) - reference(**{name: base - STEP})) / (2 * STEP)
        np.testing.assert_allclose(analytic, numeric, rtol=GRADIENT_RTOL, atol=GRADIENT_ATOL, err_msg=name)


@pytest.mark.parametrize("link_name", ["logit", "probit", "cloglog"])
def test_far_tails_stay_finite_and_accurate(link_name):
    """Quadrature nodes put eta far from the thresholds: log-probabilities and gradients finite."""
    function = compiled(link_name)
    eta = np.array([-60.0, -30.0, -8.0, 8.0, 30.0, 60.0] * 3)
    lower = np.zeros(18)
    upper = np.ones(18)
    has_lower = np.repeat([1, 0, 1], 6).astype(np.int8)
    has_upper = np.repeat([1, 1, 0], 6).astype(np.int8)
    value, *gradients = function(eta, lower, upper, has_lower, has_upper, np.zeros(18))
    assert np.all(np.isfinite(value)) and all(np.all(np.isfinite(g)) for g in gradients)
    assert np.all(value <= 0.0)
    moderate = np.abs(eta) <= 8
    expected = reference_logp(link_name, lower, upper, has_lower, has_upper, eta, np.ones(18))
    # log-probabilities of order 1e-16 are rounding: absolute tolerance there
    np.testing.assert_allclose(value[moderate], expected[moderate], rtol=1e-9, atol=1e-15)


def test_probabilities_of_all_categories_sum_to_one():
    function = compiled("probit")
    thresholds = np.array([-1.0, 0.2, 1.5])
    eta = np.full(4, 0.3)
    lower = np.concatenate([[0.0], thresholds])
    upper = np.concatenate([thresholds, [0.0]])
    has_lower = np.array([0, 1, 1, 1], dtype=np.int8)
    has_upper = np.array([1, 1, 1, 0], dtype=np.int8)
    value, *_ = function(eta, lower, upper, has_lower, has_upper, np.log(np.full(4, 1.7)))
    assert np.exp(value).sum() == pytest.approx(1.0, abs=1e-14)
    expected = np.diff(np.concatenate([[0.0], stats.norm.cdf((thresholds - 0.3) / 1.7), [1.0]]))
    np.testing.assert_allclose(np.exp(value), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "values, message",
    [
        (np.array([1.0, 2.0, 2.5]), "non-negative integer"),
        (np.array([-1.0, 0.0, 1.0]), "non-negative integer"),
        (np.array([3.0, 3.0, 3.0]), "at least two observed categories"),
    ],
)
def test_bad_responses_are_refused_naming_the_column(values, message):
    family, _ = resolve_family_link("ordinal", None)
    with pytest.raises(DataError, match=f"'rating'.*{message}"):
        validate_response(family, values, None, "rating")


def test_threshold_start_is_increasing():
    _, link = resolve_family_link("ordinal", "probit")
    start = threshold_start(link, np.array([0, 0, 0, 2, 2, 4]), 5)
    assert start.shape == (4,) and np.all(np.diff(start) > 0)
