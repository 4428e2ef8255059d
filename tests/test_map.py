"""MAP as a fit (fit(method="map")): flat priors give ML; boundary-avoiding priors keep SDs off zero."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import glpp

DATA = Path(__file__).resolve().parents[1] / "model_library" / "data"
REFERENCE = Path(__file__).resolve().parent / "reference"
TOENAIL = "outcome ~ treatment + month + trt_month + (1 | patient)"
CFA = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


@pytest.fixture(scope="module")
def toenail_model():
    return glpp.Model(TOENAIL, pd.read_csv(DATA / "toenail.csv"), family="binomial")


@pytest.mark.parametrize("case", ["toenail", "holzinger"])
def test_flat_priors_give_the_ml_fit(case, toenail_model):
    if case == "toenail":
        model, options = toenail_model, {"nip": 7}
    else:
        model, options = glpp.Model(CFA, pd.read_csv(DATA / "holzinger.csv")), {}
    ml = model.fit(**options)
    flat = model.fit(method="map", priors="flat", **options)
    assert flat.method == "map" and flat.log_prior == 0.0
    assert flat.loglik == pytest.approx(ml.loglik, abs=1e-6)
    np.testing.assert_allclose(flat.params, ml.params, atol=1e-6)


def test_default_priors_are_named_in_the_summary(toenail_model):
    fit = toenail_model.fit(method="map", nip=7)
    summary = fit.summary()
    assert "maximum a posteriori (MAP)" in summary
    assert "sd[patient] ~ halfnormal" in summary and "beta[month] ~ normal" in summary
    assert fit.converged and np.all(np.isfinite(fit.se))


@pytest.fixture(scope="module")
def singular_data() -> pd.DataFrame:
    """Eight clusters of ten, a random intercept with a tiny SD (simulated, seed 3): ML puts the SD at zero."""
    return pd.read_csv(DATA / "singular_intercept.csv")


def penalised_loglik(values: np.ndarray, data: pd.DataFrame) -> float:
    """Exact random-intercept log-likelihood (a multivariate normal per cluster) + log sd (gamma(2, 0))."""
    intercept, slope, sd, sigma = values
    total = np.log(sd)
    for _, rows in data.groupby("g"):
        size = len(rows)
        covariance = sigma**2 * np.eye(size) + sd**2 * np.ones((size, size))
        total += stats.multivariate_normal.logpdf(rows.y, intercept + slope * rows.x, covariance)
    return float(total)


def test_boundary_avoiding_priors_keep_the_sd_off_zero(singular_data):
    model = glpp.Model("y ~ x + (1 | g)", singular_data)
    ml = model.fit()
    assert ml.params["sd[g]"] < 1e-3 and ml.convergence.at_boundary == ("sd[g]",)
    fit = model.fit(method="map", priors="boundary_avoiding")
    names = ["beta[(Intercept)]", "beta[x]", "sd[g]", "sigma"]
    assert fit.params["sd[g]"] > 0.05 and fit.converged
    # the penalised objective at glpp's estimate, computed independently
    assert fit.loglik + fit.log_prior == pytest.approx(penalised_loglik(fit.params[names].to_numpy(), singular_data), abs=1e-6)
    # and glpp's estimate is its maximum
    best = optimize.minimize(
        lambda v: -penalised_loglik(np.r_[v[:2], np.exp(v[2:])], singular_data),
        np.r_[fit.params[names[:2]].to_numpy(), np.log(fit.params[names[2:]].to_numpy()) + 0.1],
        method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 5000},
    )
    np.testing.assert_allclose(fit.params[names[2:]], np.exp(best.x[2:]), rtol=1e-3)
    assert "sd[g] ~ Gamma(shape=2, rate->0)" in fit.summary()
    # blme's blmer with the same prior (tests/reference/make_blme.R)
    reference = json.loads((REFERENCE / "blme.json").read_text())
    assert ml.loglik == pytest.approx(reference["singular_ml"]["loglik"], abs=1e-6)
    blme = reference["singular_blme_gamma"]
    assert fit.loglik == pytest.approx(blme["loglik"], abs=1e-6)
    assert fit.params["sd[g]"] == pytest.approx(blme["sd"], rel=1e-4)
    assert fit.params["sigma"] == pytest.approx(blme["sigma"], rel=1e-5)
    assert fit.params["beta[x]"] == pytest.approx(blme["fixef"]["x"], abs=1e-5)


def test_bad_prior_choices_are_refused(toenail_model):
    with pytest.raises(glpp.SpecError, match=r"not a prior set.*'flat', 'boundary_avoiding'"):
        toenail_model.fit(method="map", priors="weak")
    with pytest.raises(glpp.SpecError, match=r"use method='ml', or 'map' with priors"):
        toenail_model.fit(priors="flat")
    with pytest.raises(glpp.SpecError, match=r"no parameter or parameter type 'sd\[clinic\]'"):
        toenail_model.fit(method="map", priors={"sd[clinic]": 1.0})


def test_boundary_avoiding_laplace_fit_is_blme_bglmer(toenail_model):
    """bglmer (Laplace, gamma(2, 0) on the SD) against fit(nip=1): glpp's penalised objective at its
    estimate is at least blme's at blme's estimate (Nelder-Mead stops a little short), estimates close."""
    blme = json.loads((REFERENCE / "blme.json").read_text())["toenail_bglmer_gamma"]
    fit = toenail_model.fit(method="map", priors="boundary_avoiding", nip=1)
    at_blme = {f"beta[{name}]": value for name, value in blme["fixef"].items()} | {"sd[patient]": blme["sd"]}
    penalised_at_blme = toenail_model.loglik_at(at_blme, nip=1) + np.log(blme["sd"])
    assert fit.loglik + fit.log_prior >= penalised_at_blme - 1e-6
    assert fit.loglik + fit.log_prior - penalised_at_blme < 1e-2
    assert fit.params["sd[patient]"] == pytest.approx(blme["sd"], rel=2e-2)
    for name, value in blme["fixef"].items():
        assert fit.params[f"beta[{name}]"] == pytest.approx(value, abs=0.03)


def test_map_of_an_ordinal_model_puts_its_priors_on_the_thresholds():
    wine = pd.read_csv(DATA / "wine.csv")
    model = glpp.Model("rating ~ warm + contact + (1 | judge)", wine, family="ordinal")
    ml = model.fit(nip=7)
    flat = model.fit(method="map", priors="flat", nip=7)
    np.testing.assert_allclose(flat.loglik, ml.loglik, atol=1e-6)
    np.testing.assert_allclose(flat.params, ml.params, atol=1e-4)
    posterior = model.fit(method="map", nip=7)
    assert "tau[1|2] ~ normal(0, 5)" in posterior.summary()
    # the default priors (Normal(0, 5) on each threshold) pull the outer thresholds inwards
    assert posterior.loglik < ml.loglik
    assert abs(posterior.params["tau[4|5]"]) < abs(ml.params["tau[4|5]"])
