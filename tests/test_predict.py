"""Predictions: marginal means against scipy's quadrature, conditional means against the EB formula,
delta-method SEs against independent derivatives, new data and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from scipy.special import expit, logit

import glpp
from glpp.design.prediction import check_predictable, new_data_obstacle
from glpp.results.predict import normal_expectation

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "model_library" / "data"
TOENAIL = "outcome ~ treatment + month + trt_month + (1 | patient)"
COVARIATES = ["treatment", "month", "trt_month"]
#: the trapezoid rule against scipy's adaptive quadrature of the same integral
INTEGRAL_TOLERANCE = 1e-6
#: predictions from two ML fits whose estimates agree to ~1e-6
LME4_RTOL = 1e-5


@pytest.fixture(scope="module")
def toenail() -> pd.DataFrame:
    return pd.read_csv(DATA / "toenail.csv")


@pytest.fixture(scope="module")
def fit(toenail):
    return glpp.Model(TOENAIL, toenail, family="binomial").fit()


def _fixed_eta(fit, data: pd.DataFrame, beta: np.ndarray | None = None) -> np.ndarray:
    x = np.column_stack([np.ones(len(data)), data[COVARIATES].to_numpy(dtype=float)])
    return x @ (fit.params.iloc[:4].to_numpy() if beta is None else beta)


def _marginal_by_quad(eta: np.ndarray, sd: float) -> np.ndarray:
    """E[expit(eta + sd t)], t ~ N(0, 1), by scipy.integrate.quad for each distinct eta."""
    distinct, position = np.unique(eta, return_inverse=True)
    values = [
        integrate.quad(lambda t, e=e: expit(e + sd * t) * stats.norm.pdf(t), -np.inf, np.inf, epsabs=1e-12, epsrel=1e-12)[0]
        for e in distinct
    ]
    return np.asarray(values)[position]


def test_marginal_predictions_match_brute_force_integration(fit, toenail):
    predicted = fit.predict(kind="marginal")
    assert list(predicted.columns) == ["prediction", "se", "lower", "upper", "new_cluster"]
    some = toenail.iloc[::7]  # scipy's quad row by row takes a while
    expected = _marginal_by_quad(_fixed_eta(fit, some), fit.params["sd[patient]"])
    np.testing.assert_allclose(predicted.loc[some.index, "prediction"], expected, atol=INTEGRAL_TOLERANCE, rtol=0)
    link = fit.predict(kind="marginal", scale="link")
    np.testing.assert_allclose(link.loc[some.index, "prediction"], logit(expected), atol=1e-5)
    assert (predicted["lower"] < predicted["prediction"]).all() and (predicted["prediction"] < predicted["upper"]).all()


def test_conditional_predictions_plug_in_the_eb_means(fit, toenail):
    effects = fit.latent().set_index("cluster")["mean"]
    eta = _fixed_eta(fit, toenail) + effects.loc[toenail.patient].to_numpy()
    np.testing.assert_allclose(fit.predict()["prediction"], expit(eta), rtol=1e-12)
    np.testing.assert_allclose(fit.predict(scale="link")["prediction"], eta, rtol=1e-12)


def test_conditional_standard_errors_add_the_eb_variance_to_the_fixed_parts(fit, toenail):
    """Link scale: central differences of x' beta (an independent delta method) with ``fit.vcov()``,
    plus the patient's posterior variance (the EB SD of ``fit.latent()``)."""
    names = list(fit.params.index[:4])
    beta, step = fit.params[names].to_numpy(), 1e-6
    jacobian = np.column_stack([(_fixed_eta(fit, toenail, beta + step * unit) - _fixed_eta(fit, toenail, beta - step * unit)) / (2 * step)
                                for unit in np.eye(4)])
    fixed_variance = np.einsum("ra,ab,rb->r", jacobian, fit.vcov().loc[names, names].to_numpy(), jacobian)
    eb_sd = fit.latent().set_index("cluster")["sd"].loc[toenail.patient].to_numpy()
    expected = np.sqrt(fixed_variance + eb_sd**2)
    link = fit.predict(scale="link", level=0.9)
    np.testing.assert_allclose(link["se"], expected, rtol=1e-5)
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(link["upper"], link["prediction"] + z * expected, rtol=1e-5)
    response = fit.predict(level=0.9)
    np.testing.assert_allclose(response["lower"], expit(link["prediction"] - z * expected), rtol=1e-5)
    probability = expit(link["prediction"])
    np.testing.assert_allclose(response["se"], probability * (1 - probability) * expected, rtol=1e-4)


def test_new_clusters_are_integrated_out(fit, toenail):
    new = pd.DataFrame({"treatment": [0, 1, 1], "month": [6.0, 6.0, 3.0], "trt_month": [0.0, 6.0, 3.0], "patient": [1, 10**6, 3]})
    conditional = fit.predict(new)
    marginal = fit.predict(new, kind="marginal")
    assert list(conditional["new_cluster"]) == [False, True, False] and not marginal["new_cluster"].any()
    assert conditional["prediction"].iloc[1] == pytest.approx(marginal["prediction"].iloc[1], abs=1e-12)
    assert conditional["se"].iloc[1] == pytest.approx(marginal["se"].iloc[1], rel=1e-9)
    effects = fit.latent().set_index("cluster")["mean"]
    expected = expit(_fixed_eta(fit, new.iloc[[0, 2]]) + effects.loc[[1, 3]].to_numpy())
    np.testing.assert_allclose(conditional["prediction"].iloc[[0, 2]], expected, rtol=1e-12)
    # marginal predictions need no grouping column; rows with a missing covariate are left out
    partial = new.drop(columns="patient").assign(month=[6.0, np.nan, 3.0])
    assert list(fit.predict(partial, kind="marginal").index) == [0, 2]


def test_marginal_standard_errors_by_an_independent_delta_method(fit):
    new = pd.DataFrame({"treatment": [0, 1], "month": [6.0, 12.0], "trt_month": [0.0, 12.0]})
    predicted = fit.predict(new, kind="marginal", scale="link")
    theta = np.r_[fit.params.iloc[:4].to_numpy(), np.log(fit.params["sd[patient]"])]

    def link_scale(values: np.ndarray) -> np.ndarray:
        return logit(_marginal_by_quad(_fixed_eta(fit, new, values[:4]), np.exp(values[4])))

    step = 1e-4
    jacobian = np.column_stack([(link_scale(theta + step * e) - link_scale(theta - step * e)) / (2 * step) for e in np.eye(5)])
    covariance = fit.vcov("optimised").to_numpy()
    expected = np.sqrt(np.einsum("ra,ab,rb->r", jacobian, covariance, jacobian))
    np.testing.assert_allclose(predicted["se"], expected, rtol=1e-4)
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(fit.predict(new, kind="marginal", level=0.9)["upper"], expit(predicted["prediction"] + z * expected), rtol=1e-4)


def test_glm_predictions_and_their_standard_errors(toenail):
    glm = glpp.Model("outcome ~ treatment + month + trt_month", toenail, family="binomial").fit()
    predicted = glm.predict(scale="link")
    x = np.column_stack([np.ones(len(toenail)), toenail[COVARIATES].to_numpy()])
    np.testing.assert_allclose(predicted["prediction"], x @ glm.params.to_numpy(), rtol=1e-10)
    se = np.sqrt(np.einsum("ra,ab,rb->r", x, glm.vcov().to_numpy(), x))
    np.testing.assert_allclose(predicted["se"], se, rtol=1e-5)
    np.testing.assert_allclose(glm.predict()["prediction"], expit(x @ glm.params.to_numpy()), rtol=1e-10)


@pytest.mark.parametrize("sd", [0.5, 2.0, 5.0])
def test_normal_expectation_of_exponential_and_logistic_means(sd):
    mean = np.array([-2.0, 0.0, 1.5])
    np.testing.assert_allclose(normal_expectation(np.exp, mean, np.full(3, sd)), np.exp(mean + sd**2 / 2), rtol=1e-10)
    np.testing.assert_allclose(normal_expectation(expit, mean, np.full(3, 2 * sd)), _marginal_by_quad(mean, 2 * sd), atol=1e-9)


def test_bad_prediction_arguments_are_refused(fit, toenail):
    with pytest.raises(ValueError, match=r"kind must be one of \['conditional', 'marginal'\], not 'average'"):
        fit.predict(kind="average")
    with pytest.raises(ValueError, match=r"scale must be one of \['response', 'link'\]"):
        fit.predict(scale="mean")
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        fit.predict(level=95)
    with pytest.raises(TypeError, match="data must be a pandas DataFrame"):
        fit.predict(toenail.to_numpy())
    with pytest.raises(glpp.DataError, match=r"column 'patient' used in random term"):
        fit.predict(toenail.drop(columns="patient"))
    holzinger = pd.read_csv(DATA / "holzinger.csv")
    factor = glpp.Model("visual =~ x1 + x2 + x3", holzinger)
    check_predictable(factor.spec, factor.design, factor.family)
    assert new_data_obstacle(factor.spec, factor.design) is None  # new units: tests/test_predict_models.py
    choice = pd.DataFrame({"situation": np.repeat(np.arange(12), 3), "alt": np.tile([1, 2, 3], 12)})
    choice = choice.assign(alt2=(choice.alt == 2) * 1.0, alt3=(choice.alt == 3) * 1.0, g=choice.situation // 3,
                           chosen=(choice.alt == choice.situation % 3 + 1) * 1.0)
    multinomial = glpp.Model("chosen ~ 0 + alt2 + alt3 + (0 + alt2 | g)", choice, family="multinomial", choice_set="situation")
    check_predictable(multinomial.spec, multinomial.design, multinomial.family)  # tests/test_predict_choice.py


def test_gaussian_predictions_match_lme4():
    """Identity link: the EB means are lme4's conditional modes, and the marginal mean is the
    fixed part (lme4's ``re.form = NA``); a subject not in the data gets the fixed part."""
    reference = json.loads((ROOT / "tests" / "reference" / "predict.json").read_text())
    sleep = pd.read_csv(DATA / "sleepstudy.csv")
    fit = glpp.Model("reaction ~ days + (days | subject)", sleep).fit()
    np.testing.assert_allclose(fit.predict()["prediction"], reference["conditional"], rtol=LME4_RTOL)
    new = pd.DataFrame(reference["new"]).astype({"subject": int})
    np.testing.assert_allclose(fit.predict(new)["prediction"], reference["new_conditional"], rtol=LME4_RTOL)
    np.testing.assert_allclose(fit.predict(new, kind="marginal")["prediction"], reference["new_population"], rtol=LME4_RTOL)


def test_categorical_columns_are_coded_as_in_the_fit(toenail):
    data = toenail.assign(period=np.where(toenail.month < 2, "early", np.where(toenail.month < 6, "middle", "late")))
    glm = glpp.Model("outcome ~ C(period) + treatment", data, family="binomial").fit()
    fitted = glm.predict()["prediction"]
    late = data[data.period == "late"].head(3)
    np.testing.assert_allclose(glm.predict(late)["prediction"], fitted.loc[late.index], rtol=1e-12)
    with pytest.raises(glpp.DataError, match="cannot code the new data for fixed part"):
        glm.predict(late.assign(period="never"))


def test_predictions_do_not_see_later_changes_to_the_callers_data(toenail):
    data = toenail.copy()
    glm = glpp.Model("outcome ~ month", data, family="binomial").fit()
    before = glm.predict()["prediction"].to_numpy()
    data["month"] = 0.0
    np.testing.assert_array_equal(glm.predict()["prediction"].to_numpy(), before)
