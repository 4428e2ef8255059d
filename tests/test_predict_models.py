"""Predictions of factor models, a family per row or item, and latent classes, against numpy.

Each marginal prediction is checked against an independent integral over the latent
(closed forms for probit and identity links, Gauss-Hermite quadrature for logit); each
conditional one against the formula with the fit's EB means (posterior class
probabilities for latent classes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, ndtr

import glpp

#: the trapezoid rule of glpp's marginal predictions against closed forms / 60-point Gauss-Hermite
INTEGRAL_TOLERANCE = 1e-8
#: the same sums in a different order
EXACT_TOLERANCE = 1e-10


#: quadrature points of the fits (predictions need a fit, not the most accurate one)
NIP = 7


def _simulate(n: int = 200, seed: int = 11) -> pd.DataFrame:
    """Per unit: gaussian items y1 (with covariate x) and y4, a probit item y2, a logit item y3; one factor."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "y1": 0.4 + 0.7 * x + latent + 0.6 * rng.normal(size=n),
            "y2": (-0.3 + 1.2 * latent + rng.normal(size=n) > 0).astype(float),
            "y3": (rng.random(n) < expit(0.5 + 1.5 * latent)).astype(float),
            "y4": 1.0 - 0.8 * latent + 0.5 * rng.normal(size=n),
            "x": x,
        }
    )


@pytest.fixture(scope="module")
def wide() -> pd.DataFrame:
    return _simulate()


@pytest.fixture(scope="module")
def wide_fit(wide):
    families = {"y1": "gaussian", "y2": ("binomial", "probit"), "y3": "binomial", "y4": "gaussian"}
    return glpp.Model("F =~ y1 + y2 + y3 + y4\ny1 ~ x", wide, family=families).fit(nip=NIP)


def _wide_linear_parts(fit, wide):
    """Each unit's fixed part and loading of every item (units x items)."""
    p = fit.params
    fixed = np.column_stack([p["nu[y1]"] + p["path[y1~x]"] * wide["x"], np.full(len(wide), p["nu[y2]"]),
                             np.full(len(wide), p["nu[y3]"]), np.full(len(wide), p["nu[y4]"])])
    loadings = np.array([1.0, p["lambda[F,y2]"], p["lambda[F,y3]"], p["lambda[F,y4]"]])
    return fixed, loadings


def test_wide_marginal_predictions_integrate_the_factor(wide_fit, wide):
    predicted = wide_fit.predict(kind="marginal")
    assert predicted.index.names[1] == "item" and len(predicted) == 4 * len(wide)
    fixed, loadings = _wide_linear_parts(wide_fit, wide)
    sd = wide_fit.params["sd[F]"]
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    logit_mean = expit(fixed[:, 2, None] + loadings[2] * sd * nodes[None, :]) @ weights / np.sqrt(2 * np.pi)
    probit_mean = ndtr(fixed[:, 1] / np.sqrt(1 + (loadings[1] * sd) ** 2))
    expected = np.column_stack([fixed[:, 0], probit_mean, logit_mean, fixed[:, 3]])
    np.testing.assert_allclose(predicted["prediction"].to_numpy().reshape(-1, 4), expected, atol=INTEGRAL_TOLERANCE)
    link = wide_fit.predict(kind="marginal", scale="link")["prediction"].to_numpy().reshape(-1, 4)
    np.testing.assert_allclose(link[:, 1], fixed[:, 1] / np.sqrt(1 + (loadings[1] * sd) ** 2), atol=1e-6)


def test_wide_conditional_predictions_use_the_eb_means(wide_fit, wide):
    fixed, loadings = _wide_linear_parts(wide_fit, wide)
    eb = wide_fit.latent()["mean"].to_numpy()
    eta = fixed + eb[:, None] * loadings[None, :]
    expected = np.column_stack([eta[:, 0], ndtr(eta[:, 1]), expit(eta[:, 2]), eta[:, 3]])
    predicted = wide_fit.predict()
    np.testing.assert_allclose(predicted["prediction"].to_numpy().reshape(-1, 4), expected, rtol=EXACT_TOLERANCE)
    np.testing.assert_allclose(wide_fit.predict(scale="link")["prediction"].to_numpy().reshape(-1, 4), eta, rtol=EXACT_TOLERANCE)
    assert predicted.index.get_level_values(0)[4] == wide.index[1]


def test_wide_conditional_standard_errors(wide_fit, wide):
    """The gaussian item y4: the delta method of ``nu + lambda * F`` in (nu, lambda) with the EB
    mean ``F`` held fixed, plus ``lambda^2`` times F's posterior variance."""
    eb = wide_fit.latent()
    names = ["nu[y4]", "lambda[F,y4]"]
    jacobian = np.column_stack([np.ones(len(wide)), eb["mean"].to_numpy()])
    covariance = wide_fit.vcov().loc[names, names].to_numpy()
    expected = np.sqrt(np.einsum("ra,ab,rb->r", jacobian, covariance, jacobian)
                       + (wide_fit.params["lambda[F,y4]"] * eb["sd"].to_numpy()) ** 2)
    predicted = wide_fit.predict()["se"].to_numpy().reshape(-1, 4)[:, 3]
    np.testing.assert_allclose(predicted, expected, rtol=1e-5)


def test_new_units_of_a_factor_model_predict_marginally(wide_fit, wide):
    """New units (covariate ``x`` only): each item's mean integrated over the factor, as for fitted
    units' marginal predictions (closed forms and 60-point Gauss-Hermite); conditional = marginal."""
    new = pd.DataFrame({"x": [-1.5, 0.0, 2.0]}, index=[101, 102, 103])
    fixed, loadings = _wide_linear_parts(wide_fit, new)
    sd = wide_fit.params["sd[F]"]
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    logit_mean = expit(fixed[:, 2, None] + loadings[2] * sd * nodes[None, :]) @ weights / np.sqrt(2 * np.pi)
    expected = np.column_stack([fixed[:, 0], ndtr(fixed[:, 1] / np.sqrt(1 + (loadings[1] * sd) ** 2)), logit_mean, fixed[:, 3]])
    marginal = wide_fit.predict(new, kind="marginal")
    assert list(marginal.index.get_level_values(0)[::4]) == [101, 102, 103] and marginal.index.names[1] == "item"
    np.testing.assert_allclose(marginal["prediction"].to_numpy().reshape(-1, 4), expected, atol=INTEGRAL_TOLERANCE)
    fitted = wide_fit.predict(kind="marginal")
    again = wide_fit.predict(wide.head(2), kind="marginal")
    np.testing.assert_allclose(again[["prediction", "se"]], fitted[["prediction", "se"]].iloc[:8], rtol=EXACT_TOLERANCE)
    conditional = wide_fit.predict(new)
    assert conditional["new_cluster"].all()
    np.testing.assert_allclose(conditional[["prediction", "se"]], marginal[["prediction", "se"]], rtol=EXACT_TOLERANCE)
    with pytest.raises(glpp.SpecError, match=r"the new rows hold item responses \(y1, y2, y3, y4\)"):
        wide_fit.predict(wide.head(3))


@pytest.fixture(scope="module")
def long_pairs(wide) -> pd.DataFrame:
    """Items y1, y2 and y4 of ``wide`` in long form, each row with its own family and link."""
    rows = pd.concat(
        [
            pd.DataFrame({"id": wide.index, "x": wide["x"], "eq": "y1", "resp": wide["y1"], "fam": "gaussian", "lnk": "identity"}),
            pd.DataFrame({"id": wide.index, "x": wide["x"], "eq": "y2", "resp": wide["y2"], "fam": "binomial", "lnk": "probit"}),
            pd.DataFrame({"id": wide.index, "x": wide["x"], "eq": "y4", "resp": wide["y4"], "fam": "gaussian", "lnk": "identity"}),
        ]
    ).sort_values(["id", "eq"]).reset_index(drop=True)
    for number in (1, 2, 4):
        rows[f"d{number}"] = (rows["eq"] == f"y{number}").astype(float)
    return rows


def test_a_family_per_row_is_predicted_with_each_rows_link(long_pairs):
    model = glpp.Model("resp ~ 0 + d1 + d1:x + d2 + d4\nF@id =~ eq", long_pairs, family="fam", link="lnk")
    fit = model.fit(nip=NIP)
    p = fit.params
    item = long_pairs["eq"].to_numpy()
    fixed = np.select([item == "y1", item == "y2"], [p["beta[d1]"] + p["beta[d1:x]"] * long_pairs["x"], p["beta[d2]"]], p["beta[d4]"])
    loading = np.select([item == "y1", item == "y2"], [1.0, p["lambda[F,y2]"]], p["lambda[F,y4]"])
    gaussian = item != "y2"
    marginal = fit.predict(kind="marginal")
    expected = np.where(gaussian, fixed, ndtr(fixed / np.sqrt(1 + (loading * p["sd[F]"]) ** 2)))
    np.testing.assert_allclose(marginal["prediction"], expected, atol=INTEGRAL_TOLERANCE)
    assert list(marginal.index) == list(long_pairs.index)
    eb = fit.latent().set_index("cluster")["mean"]
    eta = fixed + loading * eb.loc[long_pairs["id"]].to_numpy()
    np.testing.assert_allclose(fit.predict()["prediction"], np.where(gaussian, eta, ndtr(eta)), rtol=EXACT_TOLERANCE)


def test_new_units_of_a_mimic_model_integrate_the_factor_around_its_regression():
    """``F ~ v``: a new unit's factor is normal with mean ``gamma v`` and the residual SD, so a
    gaussian item's mean is ``nu + lambda gamma v`` and a logit item's the Gauss-Hermite integral."""
    rng = np.random.default_rng(3)
    n = 300
    v = rng.normal(size=n)
    factor = 0.8 * v + rng.normal(size=n)
    data = pd.DataFrame({"y1": factor + 0.5 * rng.normal(size=n), "y2": 1.0 + 0.7 * factor + 0.5 * rng.normal(size=n),
                         "y3": (rng.random(n) < expit(-0.2 + 1.1 * factor)).astype(float), "v": v})
    fit = glpp.Model("F =~ y1 + y2 + y3\nF ~ v", data, family={"y1": "gaussian", "y2": "gaussian", "y3": "binomial"}).fit(nip=NIP)
    p = fit.params
    new = pd.DataFrame({"v": [-1.0, 0.5, 2.5]})
    mean = p["path[F~v]"] * new["v"].to_numpy()
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    factor_values = mean[:, None] + p["sd[F]"] * nodes[None, :]
    logit_mean = expit(p["nu[y3]"] + p["lambda[F,y3]"] * factor_values) @ weights / np.sqrt(2 * np.pi)
    expected = np.column_stack([p["nu[y1]"] + mean, p["nu[y2]"] + p["lambda[F,y2]"] * mean, logit_mean])
    predicted = fit.predict(new, kind="marginal")["prediction"].to_numpy().reshape(-1, 3)
    np.testing.assert_allclose(predicted, expected, atol=INTEGRAL_TOLERANCE)
