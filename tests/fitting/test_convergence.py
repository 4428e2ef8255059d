"""The convergence report: no confident number from a model the data do not identify.

The model of issue 17: a gaussian item y1 and a probit item y2 share one
latent, both regressed on x. With the latent's variance and the probit
loading both free it is not identified (y2 given y1 is a probit regression
on y1, two numbers for three parameters); with the variance fixed it is, and
its likelihood has a closed form: y1 is normal and y2 given y1 a probit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import glpp
from glpp.fitting.convergence import check_convergence

FAMILIES = {"y1": "gaussian", "y2": ("binomial", "probit")}
IDENTIFIED = "eta =~ 1*y1 + y2\ny1 ~ x\ny2 ~ x\neta ~~ 1*eta"
NOT_IDENTIFIED = "eta =~ y1 + y2\ny1 ~ x\ny2 ~ x"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(20261201)
    n = 500
    x, eta = rng.normal(size=n), rng.normal(size=n)
    y1 = 0.5 * x + eta + rng.normal(size=n)
    y2 = (0.3 * x + 0.8 * eta + rng.normal(size=n) > 0).astype(float)
    return pd.DataFrame({"x": x, "y1": y1, "y2": y2})


def closed_form_loglik(values: np.ndarray, data: pd.DataFrame) -> float:
    """log f(y1) + log P(y2 | y1) with var(eta) = 1 and y1's loading 1."""
    nu1, nu2, b1, b2, loading, sigma = values
    mean1 = nu1 + b1 * data.x
    total_variance = 1.0 + sigma**2
    posterior_mean = (data.y1 - mean1) / total_variance
    posterior_variance = sigma**2 / total_variance
    index = (nu2 + b2 * data.x + loading * posterior_mean) / np.sqrt(1.0 + loading**2 * posterior_variance)
    log_y2 = np.where(data.y2 == 1, stats.norm.logcdf(index), stats.norm.logcdf(-index))
    return float(np.sum(stats.norm.logpdf(data.y1, mean1, np.sqrt(total_variance)) + log_y2))


NAMES = ["nu[y1]", "nu[y2]", "path[y1~x]", "path[y2~x]", "lambda[eta,y2]", "sigma[y1]"]


@pytest.fixture(scope="module")
def closed_form_maximum(data):
    result = optimize.minimize(
        lambda v: -closed_form_loglik(v, data), np.array([0, 0, 0.4, 0.2, 0.5, 1.0]), method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 20000, "maxfev": 20000},
    )
    return result.x, -result.fun


def test_the_identified_model_matches_its_closed_form(data, closed_form_maximum):
    estimate, maximum = closed_form_maximum
    model = glpp.Model(IDENTIFIED, data, family=FAMILIES)
    fit = model.fit()
    assert fit.converged and fit.convergence.nip_settled
    assert fit.loglik == pytest.approx(maximum, abs=1e-4)
    np.testing.assert_allclose(fit.params[NAMES].to_numpy(), estimate, atol=2e-3)
    at_glpp = closed_form_loglik(fit.params[NAMES].to_numpy(), data)
    assert model.loglik_at(fit.params) == pytest.approx(at_glpp, abs=1e-4)
    assert fit.convergence.quadrature_error < 1e-4


def test_the_unidentified_model_is_flagged_not_reported_as_converged(data, closed_form_maximum):
    with pytest.warns(glpp.IdentificationWarning, match=r"sigma\[y1\] = .* not determined by the data"):
        fit = glpp.Model(NOT_IDENTIFIED, data, family=FAMILIES).fit()
    assert not fit.converged
    assert fit.loglik <= closed_form_maximum[1] + 1e-6
    summary = fit.summary()
    assert "NOT CONVERGED: the model may not be identified" in summary
    assert "see ConvergenceWarning" not in summary


def test_check_convergence_separates_boundary_flat_and_unsettled():
    hessian = -np.diag([4.0, 1e-12, 2.0])
    gradient = np.array([1e-6, 1e-9, 1e-6])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = check_convergence(gradient, hessian, ["a", "sd[g]", "b"], boundary={1: "sd[g]"})
    assert report.converged and report.at_boundary == ("sd[g]",)
    assert "At the boundary (estimated as zero): sd[g]" in "\n".join(report.describe())
    with pytest.warns(glpp.IdentificationWarning, match=r"moves a, b"):
        flat = check_convergence(gradient, np.array([[-1.0, -1.0, 0], [-1.0, -1.0, 0], [0, 0, -1.0]]), ["a", "b", "c"])
    assert not flat.converged
    with pytest.warns(glpp.ConvergenceWarning, match=r"did not settle.*moved a 1 -> 2"):
        unsettled = check_convergence(
            gradient, hessian, ["a", "b", "c"], nip_settled=False, quadrature_error=0.3,
            unsettled_detail=" (the last refit moved a 1 -> 2)",
        )
    assert not unsettled.converged and "quadrature error at the estimate 0.3 (not settled)" in unsettled.describe()[0]
