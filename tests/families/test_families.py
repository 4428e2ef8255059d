"""Every family's log-density against scipy.stats at random points: values and gradients.

The pytensor definitions in glpp.families are the only ones glpp has; here each
is compiled and compared with scipy.stats (values), and its pytensor gradient
with respect to eta and to the log auxiliary parameter with central finite
differences of the scipy value.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import special, stats

from glpp.families import FAMILIES, LINKS, MixedFamily, get_family, resolve_family_link

#: compiled without C (python linker): correctness only, no compilation cost
MODE = "FAST_COMPILE"
#: float64 evaluation of the same density by two implementations
VALUE_TOLERANCE = 1e-9
#: central differences with step 1e-5 of a smooth function: error ~1e-10 relative
GRADIENT_RTOL, GRADIENT_ATOL = 1e-6, 1e-7
STEP = 1e-5
N_POINTS = 25

INVERSE_LINK = {
    "identity": lambda eta: eta,
    "log": np.exp,
    "logit": special.expit,
    "probit": special.ndtr,
    "cloglog": lambda eta: -np.expm1(-np.exp(eta)),
    "reciprocal": lambda eta: 1.0 / eta,
    "sqrt": np.square,
}


def scipy_logp(family: str, y, mu, aux, trials):
    if family == "gaussian":
        return stats.norm.logpdf(y, mu, aux)
    if family == "binomial":
        return stats.binom.logpmf(y, trials, mu)
    if family == "poisson":
        return stats.poisson.logpmf(y, mu)
    if family == "gamma":
        return stats.gamma.logpdf(y, a=aux, scale=mu / aux)
    if family == "negbinomial":
        return stats.nbinom.logpmf(y, n=aux, p=aux / (aux + mu))
    raise AssertionError(f"no scipy reference for {family}")


def random_points(family: str, link: str, rng: np.random.Generator):
    """eta inside the link's domain for the family, y inside the support, aux > 0, trials."""
    if link in ("reciprocal", "sqrt") or (link == "identity" and family != "gaussian"):
        eta = rng.uniform(0.5, 3.0, N_POINTS)
    elif link == "log" and family == "binomial":
        eta = rng.uniform(-3.0, -0.1, N_POINTS)
    else:
        eta = rng.uniform(-3.0, 3.0, N_POINTS)
    mu = INVERSE_LINK[link](eta)
    aux = rng.uniform(0.5, 3.0, N_POINTS)
    trials = rng.integers(1, 12, N_POINTS).astype(float)
    if family == "gaussian":
        y = mu + rng.normal(0.0, 1.0, N_POINTS)
    elif family == "binomial":
        y = rng.binomial(trials.astype(int), mu).astype(float)
    elif family == "gamma":
        y = rng.gamma(aux, mu / aux)
    else:
        y = rng.poisson(mu * rng.gamma(2.0, 0.5, N_POINTS)).astype(float)
    return eta, y, aux, trials


#: element-wise families without cutpoints; ordinal: tests/families/test_ordinal.py, the choice
#: families couple the rows of a set: tests/families/test_choice.py
CASES = [
    (name, link)
    for name, family in sorted(FAMILIES.items())
    if family.cutpoints is None and not family.couples_rows
    for link in family.links
]


@pytest.mark.parametrize("family_name, link_name", CASES)
def test_logp_and_gradients_match_scipy(family_name, link_name):
    family, link = resolve_family_link(family_name, link_name)
    rng = np.random.default_rng(zlib.crc32(f"{family_name}/{link_name}".encode()))  # fixed per case
    eta_value, y_value, aux_value, trials_value = random_points(family_name, link_name, rng)
    y, eta, log_aux, trials = pt.vectors("y", "eta", "log_aux", "trials")
    logp = family.logp(y, eta, link, log_aux if family.aux is not None else None, trials)
    inputs = [y, eta, log_aux, trials]
    gradients = pt.grad(logp.sum(), [eta, log_aux], disconnected_inputs="ignore")
    function = pytensor.function(inputs, [logp, *gradients], mode=MODE, on_unused_input="ignore")
    value, d_eta, d_log_aux = function(y_value, eta_value, np.log(aux_value), trials_value)

    def reference(eta_at, aux_at):
        return scipy_logp(family_name, y_value, INVERSE_LINK[link_name](eta_at), aux_at, trials_value)

    np.testing.assert_allclose(value, reference(eta_value, aux_value), rtol=VALUE_TOLERANCE, atol=VALUE_TOLERANCE)
    numeric_d_eta = (reference(eta_value + STEP, aux_value) - reference(eta_value - STEP, aux_value)) / (2 * STEP)
    np.testing.assert_allclose(d_eta, numeric_d_eta, rtol=GRADIENT_RTOL, atol=GRADIENT_ATOL)
    if family.aux is not None:
        log_aux_value = np.log(aux_value)
        numeric_d_aux = (
            reference(eta_value, np.exp(log_aux_value + STEP)) - reference(eta_value, np.exp(log_aux_value - STEP))
        ) / (2 * STEP)
        np.testing.assert_allclose(d_log_aux, numeric_d_aux, rtol=GRADIENT_RTOL, atol=GRADIENT_ATOL)
    else:
        assert np.all(d_log_aux == 0.0)


def test_extreme_linear_predictors_stay_finite():
    """Quadrature nodes reach far into the tails: log-densities and gradients stay finite."""
    eta_value = np.array([-40.0, -25.0, -10.0, 10.0, 25.0, 40.0])
    y, eta = pt.vectors("y", "eta")
    for name, link_name in [("binomial", "logit"), ("binomial", "probit"), ("binomial", "cloglog")]:
        family, link = resolve_family_link(name, link_name)
        for response in (0.0, 1.0):
            logp = family.logp(y, eta, link, None, pt.ones_like(y))
            function = pytensor.function([y, eta], [logp, pt.grad(logp.sum(), eta)], mode=MODE)
            value, gradient = function(np.full(6, response), eta_value)
            assert np.all(np.isfinite(value)) and np.all(np.isfinite(gradient)), (link_name, response)


def test_mixed_family_uses_each_rows_own_family():
    rng = np.random.default_rng(7)
    gaussian, identity = resolve_family_link("gaussian", None)
    binomial, probit = resolve_family_link("binomial", "probit")
    mixed = MixedFamily(((gaussian, identity), (binomial, probit)))
    family_index = np.array([0, 1, 0, 1, 1])
    eta_value = rng.normal(size=5)
    y_value = np.where(family_index == 0, rng.normal(size=5), rng.integers(0, 2, 5)).astype(float)
    y, eta, trials = pt.vectors("y", "eta", "trials")
    log_sigma = pt.scalar("log_sigma")
    index = pt.vector("index", dtype="int64")
    logp = mixed.logp(y, eta, None, log_sigma, trials, family_index=index)
    value = pytensor.function([y, eta, trials, log_sigma, index], logp, mode=MODE)(
        y_value, eta_value, np.ones(5), np.log(1.5), family_index
    )
    expected = np.where(
        family_index == 0,
        stats.norm.logpdf(y_value, eta_value, 1.5),
        stats.binom.logpmf(y_value, 1, special.ndtr(eta_value)),
    )
    np.testing.assert_allclose(value, expected, rtol=VALUE_TOLERANCE)


def test_aliases_and_unknown_names():
    assert get_family("nbinom2") is get_family("negbinomial")
    assert get_family("Gamma") is get_family("gamma")
    assert get_family("normal") is get_family("gaussian")
    with pytest.raises(Exception, match=r"unknown family 'weibull'.*gaussian"):
        get_family("weibull")
    with pytest.raises(Exception, match=r"not available for family 'poisson'.*\['log', 'identity', 'sqrt'\]"):
        resolve_family_link("poisson", "logit")
    assert set(INVERSE_LINK) == set(LINKS)


def test_response_support_is_checked():
    for name, bad in [("negbinomial", np.array([1.0, -1.0])), ("negbinomial", np.array([0.5])),
                      ("poisson", np.array([-2.0])), ("gamma", np.array([0.0])), ("binomial", np.array([2.0]))]:
        family = get_family(name)
        assert family.validate(bad, np.ones_like(bad)) is not None, name
    assert get_family("negbinomial").validate(np.array([0.0, 3.0, 10.0]), None) is None
