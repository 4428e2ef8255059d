"""Two-level GLMMs against lme4 / glmmTMB fits of the same data.

The references are in tests/reference/reference.json, produced by
tests/reference/make_reference.R from the CSVs in model_library/data/.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import glpp

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "model_library" / "data"
REFERENCE = json.loads((ROOT / "tests" / "reference" / "reference.json").read_text())

TOENAIL = "outcome ~ treatment + month + trt_month + (1 | patient)"
CASES = {
    "toenail_logit": ("toenail.csv", TOENAIL, "binomial", "logit"),
    "toenail_probit": ("toenail.csv", TOENAIL, "binomial", "probit"),
    "toenail_cloglog": ("toenail.csv", TOENAIL, "binomial", "cloglog"),
    "owls_poisson_offset": (
        "owls.csv",
        "SiblingNegotiation ~ FoodTreatment + ArrivalTime + offset(log_brood_size) + (1 | Nest)",
        "poisson",
        None,
    ),
    "cbpp_binomial_trials": (
        "cbpp.csv",
        "cbind(incidence, size - incidence) ~ period2 + period3 + period4 + (1 | herd)",
        "binomial",
        None,
    ),
    "sleepstudy_slopes_ml": ("sleepstudy.csv", "reaction ~ days + (days | subject)", "gaussian", None),
    "exam_slopes_ml": ("exam.csv", "normexam ~ standLRT + (standLRT | school)", "gaussian", None),
    "exam_slopes_uncorrelated": (
        "exam.csv",
        "normexam ~ standLRT + (1 | school) + (0 + standLRT | school)",
        "gaussian",
        None,
    ),
}

#: lme4 used nAGQ=30 for the toenail cases: compare like with like. (For
#: cloglog, 30 points are 0.025 off the exact log-likelihood there: see
#: test_auto_quadrature_finds_the_exact_maximum.)
NIP = {"toenail_logit": 30, "toenail_probit": 30, "toenail_cloglog": 30}

_FITS: dict[tuple[str, int | str], glpp.MLResult] = {}
_MODELS: dict[str, glpp.Model] = {}


def model(case: str) -> glpp.Model:
    if case not in _MODELS:
        file, formula, family, link = CASES[case]
        _MODELS[case] = glpp.Model(formula, pd.read_csv(DATA / file), family=family, link=link)
    return _MODELS[case]


def fitted(case: str, nip: int | str | None = None) -> glpp.MLResult:
    """Fit each case once per session (compiled functions are shared too)."""
    nip = NIP.get(case, "auto") if nip is None else nip
    if (case, nip) not in _FITS:
        _FITS[(case, nip)] = model(case).fit(nip=nip)
    return _FITS[(case, nip)]


def lme4_variance(params: pd.Series, key: str) -> float:
    """The glpp value of an lme4 ``as.data.frame(VarCorr())`` row name."""
    group, first, second = key.split(":")
    group = group.split(".")[0]
    if group == "Residual":
        return params["sigma"] ** 2

    def sd(name: str) -> float:
        if name == "(Intercept)" and f"sd[{group}]" in params:
            return params[f"sd[{group}]"]
        return params[f"sd[{name}|{group}]"]

    if second == "NA":
        return sd(first) ** 2
    return params[f"cor[{first},{second}|{group}]"] * sd(first) * sd(second)


def full_loglik(reference: dict) -> float:
    """lme4's nAGQ > 1 logLik leaves out the saturated log-likelihood (0 for 0/1 data)."""
    return reference["loglik"] + reference.get("loglik_saturated_missing", 0.0)


@pytest.mark.parametrize("case", list(CASES))
def test_loglik_and_df_match_reference(case):
    fit = fitted(case)
    reference = REFERENCE[case]
    assert fit.converged
    assert fit.n_params == reference["df"]
    assert fit.loglik == pytest.approx(full_loglik(reference), abs=0.01)


@pytest.mark.parametrize("case", list(CASES))
def test_estimates_match_reference(case):
    fit = fitted(case)
    reference = REFERENCE[case]
    for name, value in reference["fixef"].items():
        assert fit.params[f"beta[{name}]"] == pytest.approx(value, rel=1e-3, abs=1e-5), name
    for key, value in reference["vcov"].items():
        assert lme4_variance(fit.params, key) == pytest.approx(value, rel=1e-2, abs=1e-6), key


@pytest.mark.parametrize(
    "case,file,response,trials",
    [("owls_poisson_offset", "owls.csv", "SiblingNegotiation", None), ("cbpp_binomial_trials", "cbpp.csv", "incidence", "size")],
)
def test_saturated_constant_missing_from_lme4_agq_loglik(case, file, response, trials):
    # recompute, independently of R, the constant that lme4 leaves out with nAGQ > 1
    data = pd.read_csv(DATA / file)
    y = data[response].to_numpy()
    if trials is None:
        saturated = stats.poisson.logpmf(y, np.maximum(y, 1e-300)).sum()
    else:
        saturated = stats.binom.logpmf(y, data[trials], y / data[trials]).sum()
    assert saturated == pytest.approx(REFERENCE[case]["loglik_saturated_missing"], abs=1e-8)
    assert fitted(case).loglik - REFERENCE[case]["loglik"] == pytest.approx(saturated, abs=0.01)


@pytest.fixture(scope="module")
def gamma_model():
    return glpp.Model("y ~ x + (1 | cluster)", pd.read_csv(DATA / "gamma_sim.csv"), family="gamma", link="log")


def test_gamma_laplace_matches_glmmtmb(gamma_model):
    reference = REFERENCE["gamma_ri"]
    laplace = gamma_model.fit(nip=1)
    assert "Laplace" in laplace.quadrature
    assert laplace.n_params == reference["df"]
    assert laplace.loglik == pytest.approx(reference["loglik_laplace"], abs=0.01)
    assert laplace.params["shape"] == pytest.approx(reference["shape"], rel=1e-2)
    for name, value in reference["fixef"].items():
        assert laplace.params[f"beta[{name}]"] == pytest.approx(value, rel=1e-3)


def test_gamma_adaptive_quadrature_matches_exact_integration(gamma_model):
    reference = REFERENCE["gamma_ri"]
    at_reference = {
        "beta[(Intercept)]": reference["fixef"]["(Intercept)"],
        "beta[x]": reference["fixef"]["x"],
        "sd[cluster]": reference["sdcor"]["cluster:(Intercept):NA"],
        "shape": reference["shape"],
    }
    # R's per-cluster integrate() at glmmTMB's estimate
    assert gamma_model.loglik_at(at_reference, nip=30) == pytest.approx(reference["loglik_exact_at_estimate"], abs=1e-4)
    fit = gamma_model.fit()
    # the maximum of the exact likelihood is at least its value at another point, and close to it
    assert reference["loglik_exact_at_estimate"] - 1e-4 <= fit.loglik <= reference["loglik_exact_at_estimate"] + 0.01


def test_summary_prints_lme4_style_tables():
    text = fitted("sleepstudy_slopes_ml").summary()
    for expected in ("Random effects:", "Fixed effects:", "subject", "days", "Residual", "logLik", "Std. Error"):
        assert expected in text
    assert "-875.9697" in text


def test_result_attributes_are_consistent():
    fit = fitted("toenail_logit")
    assert list(fit.params.index) == list(fit.se.index)
    assert fit.aic == pytest.approx(-2 * fit.loglik + 2 * fit.n_params)
    assert fit.bic == pytest.approx(-2 * fit.loglik + np.log(1908) * fit.n_params)
    assert fit.n_obs == 1908 and fit.n_dropped == 0
    assert (fit.se > 0).all()
    table = fit.fixed_effects
    assert table.loc["month", "2.5 %"] < table.loc["month", "Estimate"] < table.loc["month", "97.5 %"]


@pytest.mark.parametrize("case", ["toenail_logit", "toenail_cloglog"])
def test_auto_quadrature_finds_the_exact_maximum(case):
    reference = REFERENCE[case]
    at_reference = {f"beta[{name}]": value for name, value in reference["fixef"].items()}
    at_reference["sd[patient]"] = reference["sdcor"]["patient:(Intercept):NA"]
    exact_at_reference = model(case).loglik_at(at_reference, nip=150)
    fit = fitted(case, "auto")
    exact_at_fit = model(case).loglik_at(fit.params, nip=150)
    assert fit.loglik == pytest.approx(exact_at_fit, abs=1e-3)
    assert exact_at_reference - 1e-4 <= exact_at_fit < exact_at_reference + 0.05
    for name, value in reference["fixef"].items():
        assert fit.params[f"beta[{name}]"] == pytest.approx(value, rel=1e-2), name


def test_nip_auto_reports_points_and_settles():
    fit = fitted("toenail_logit", "auto")
    # toenail needs many points (Lesaffre & Spiessens 2001): auto must go beyond 21
    assert fit.nip > 21
    assert f"{fit.nip} points" in fit.quadrature
    larger = max(fit.nip_path)
    assert abs(fit.nip_path[larger] - fit.loglik) < 1e-4
    # the gaussian model is exact at one point, so auto stops there
    assert fitted("sleepstudy_slopes_ml").nip == 1


def test_eb_predictions_match_lme4_modes_closely():
    # lme4 reports conditional modes; EB means differ a little for binary data
    fit = fitted("toenail_logit", "auto")
    latent = fit.latent()
    assert list(latent.columns) == ["level", "cluster", "latent", "mean", "sd"]
    assert len(latent) == 294
    modes = np.asarray(REFERENCE["toenail_logit"]["ranef"])
    assert np.corrcoef(latent["mean"], modes)[0, 1] > 0.99
    assert (latent["sd"] > 0).all()
