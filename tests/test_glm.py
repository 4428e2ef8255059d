"""Models without latent variables (GLMs): fitted by ML with no quadrature, checked against scipy.

The independent computation maximises a numpy log-likelihood written from
scipy's densities (``scipy.stats``) with scipy's BFGS, and takes the standard
errors from the closed-form information ``X' W X``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from scipy.special import expit

import glpp

DATA = Path(__file__).resolve().parents[1] / "model_library" / "data"
#: both sides maximise the same smooth function to a gradient of ~1e-6
LOGLIK_TOLERANCE = 1e-6
#: estimates and SEs of two optimisers of the same function
ESTIMATE_RTOL = 1e-4


@pytest.fixture(scope="module")
def toenail() -> pd.DataFrame:
    return pd.read_csv(DATA / "toenail.csv")


@pytest.fixture(scope="module")
def logit_glm(toenail):
    return glpp.Model("outcome ~ treatment + month + trt_month", toenail, family="binomial").fit()


def _maximise(negative_loglik, start: np.ndarray) -> optimize.OptimizeResult:
    return optimize.minimize(negative_loglik, start, method="BFGS", options={"gtol": 1e-9})


def test_logistic_glm_matches_scipy(logit_glm, toenail):
    x = np.column_stack([np.ones(len(toenail)), toenail[["treatment", "month", "trt_month"]].to_numpy()])
    y = toenail.outcome.to_numpy()
    reference = _maximise(lambda beta: -stats.bernoulli.logpmf(y, expit(x @ beta)).sum(), np.zeros(4))
    assert logit_glm.loglik == pytest.approx(-reference.fun, abs=LOGLIK_TOLERANCE)
    np.testing.assert_allclose(logit_glm.params.to_numpy(), reference.x, rtol=ESTIMATE_RTOL, atol=1e-6)
    mean = expit(x @ reference.x)
    information = x.T @ (x * (mean * (1 - mean))[:, None])
    np.testing.assert_allclose(logit_glm.se.to_numpy(), np.sqrt(np.diag(np.linalg.inv(information))), rtol=ESTIMATE_RTOL)
    assert logit_glm.n_params == 4 and logit_glm.converged and logit_glm.nip == 0
    assert list(logit_glm.params.index) == ["beta[(Intercept)]", "beta[treatment]", "beta[month]", "beta[trt_month]"]


def test_poisson_glm_with_offset_matches_scipy():
    cbpp = pd.read_csv(DATA / "cbpp.csv")
    fit = glpp.Model("incidence ~ period2 + period3 + period4 + offset(log(size))", cbpp, family="poisson").fit()
    x = np.column_stack([np.ones(len(cbpp)), cbpp[["period2", "period3", "period4"]].to_numpy()])
    offset = np.log(cbpp["size"].to_numpy())
    reference = _maximise(lambda beta: -stats.poisson.logpmf(cbpp.incidence, np.exp(x @ beta + offset)).sum(), np.zeros(4))
    assert fit.loglik == pytest.approx(-reference.fun, abs=LOGLIK_TOLERANCE)
    np.testing.assert_allclose(fit.params.to_numpy(), reference.x, rtol=ESTIMATE_RTOL, atol=1e-6)


def test_gaussian_glm_is_least_squares_with_the_ml_sigma():
    sleep = pd.read_csv(DATA / "sleepstudy.csv")
    fit = glpp.Model("reaction ~ days", sleep).fit()
    x = np.column_stack([np.ones(len(sleep)), sleep.days])
    beta, residual_ss = np.linalg.lstsq(x, sleep.reaction, rcond=None)[:2]
    sigma = np.sqrt(residual_ss[0] / len(sleep))
    assert fit.loglik == pytest.approx(stats.norm.logpdf(sleep.reaction, x @ beta, sigma).sum(), abs=LOGLIK_TOLERANCE)
    np.testing.assert_allclose(fit.params[["beta[(Intercept)]", "beta[days]", "sigma"]], [*beta, sigma], rtol=ESTIMATE_RTOL)
    assert fit.n_params == 3


def test_glm_reports_no_latents(logit_glm):
    summary = logit_glm.summary()
    assert "No latent variables (a generalized linear model). Number of obs: 1908" in summary
    assert "Random effects" not in summary and logit_glm.variance_components == ()
    with pytest.raises(NotImplementedError, match="the model has no latent variables"):
        logit_glm.latent()


def test_glm_robust_ses_are_whites_sandwich(toenail, logit_glm):
    fit = glpp.Model("outcome ~ treatment + month + trt_month", toenail, family="binomial").fit(se="robust")
    assert fit.se_method == "robust (sandwich, clustered by row)"
    x = np.column_stack([np.ones(len(toenail)), toenail[["treatment", "month", "trt_month"]].to_numpy()])
    mean = expit(x @ logit_glm.params.to_numpy())
    bread = np.linalg.inv(x.T @ (x * (mean * (1 - mean))[:, None]))
    scores = x * (toenail.outcome.to_numpy() - mean)[:, None]
    sandwich = bread @ scores.T @ scores @ bread
    np.testing.assert_allclose(fit.se.to_numpy(), np.sqrt(np.diag(sandwich)), rtol=1e-4)


def test_bayesian_paths_of_a_glm_are_refused(toenail):
    model = glpp.Model("outcome ~ month", toenail, family="binomial")
    for call, what in [(model.pymc_model, "pymc_model()"), (model.sample, "sample()"), (lambda: model.fit(method="map"), "method='map'")]:
        with pytest.raises(glpp.SpecError, match=f"{what.replace('(', '[(]').replace(')', '[)]')} is not available for a model without latent variables"):
            call()
