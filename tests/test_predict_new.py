"""Predictions on new data of ordinal regressions, dispersion regressions and discrete latents, against numpy.

Marginal category probabilities are checked against 60-point Gauss-Hermite integrals of the
cumulative link over the random intercept, conditional ones against the cumulative link at
the fit's EB means (a new cluster: the marginal ones), SEs against an independent delta
method, and new rows equal to fitted ones against the fitted-row predictions. Discrete
latents: the class (point) means mixed by the class sizes or masses (marginal, new units)
or by a fitted unit's posterior. New units of measurement models: tests/test_predict_models.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

import glpp
import model_library

#: glpp's trapezoid rule against 60-point Gauss-Hermite of the same integral
INTEGRAL_TOLERANCE = 1e-8
#: the same formulas evaluated by two code paths
EXACT_TOLERANCE = 1e-10
#: central differences of two delta methods (glpp's in the optimised parameters, ours in the natural ones)
DELTA_RTOL = 1e-4
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(60)


def _cumulative_marginal(gap: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """``E[expit(gap - spread t)]``, ``t ~ N(0, 1)``, elementwise (Gauss-Hermite)."""
    values = expit(gap[..., None] - spread[..., None] * NODES)
    return values @ WEIGHTS / np.sqrt(2 * np.pi)


def _probabilities(cumulative: np.ndarray) -> np.ndarray:
    """Rows x categories from rows x thresholds of cumulative probabilities."""
    n_rows = cumulative.shape[0]
    return np.diff(np.column_stack([np.zeros(n_rows), cumulative, np.ones(n_rows)]), axis=1)


@pytest.fixture(scope="module")
def wine_fit():
    return model_library.load("wine").fit(nip=model_library.MODELS["wine"].nip)


@pytest.fixture(scope="module")
def wine_new() -> pd.DataFrame:
    """Rows of a fitted judge (1, 3) and of a judge not in the fit (99)."""
    return pd.DataFrame({"warm": [0, 1, 1], "contact": [1, 0, 1], "judge": [1, 99, 3]}, index=[10, 11, 12])


def _wine_probabilities(params: pd.Series, new: pd.DataFrame, shift: np.ndarray, spread: np.ndarray) -> np.ndarray:
    eta = params["beta[warm]"] * new["warm"].to_numpy() + params["beta[contact]"] * new["contact"].to_numpy() + shift
    tau = params[[name for name in params.index if name.startswith("tau[")]].to_numpy()
    gap = tau[None, :] - eta[:, None]
    cumulative = np.where(spread[:, None] > 0, _cumulative_marginal(gap, np.broadcast_to(spread[:, None], gap.shape)), expit(gap))
    return _probabilities(cumulative)


def test_ordinal_new_rows_marginal_and_conditional(wine_fit, wine_new):
    params = wine_fit.params
    sd = np.full(3, params["sd[judge]"])
    marginal = wine_fit.predict(wine_new, kind="marginal")
    assert list(marginal.index.names) == [None, "category"] and len(marginal) == 15
    expected = _wine_probabilities(params, wine_new, np.zeros(3), sd)
    np.testing.assert_allclose(marginal["prediction"].to_numpy().reshape(3, 5), expected, atol=INTEGRAL_TOLERANCE)
    assert not marginal["new_cluster"].any()

    conditional = wine_fit.predict(wine_new)
    eb = wine_fit.latent().set_index("cluster")["mean"]
    known = wine_new["judge"].isin(eb.index).to_numpy()
    shift = np.where(known, eb.reindex(wine_new["judge"]).fillna(0.0).to_numpy(), 0.0)
    expected = _wine_probabilities(params, wine_new, shift, np.where(known, 0.0, sd))
    np.testing.assert_allclose(conditional["prediction"].to_numpy().reshape(3, 5), expected, atol=INTEGRAL_TOLERANCE)
    assert list(conditional["new_cluster"].to_numpy().reshape(3, 5)[:, 0]) == [False, True, False]
    np.testing.assert_allclose(conditional.loc[11, "se"], marginal.loc[11, "se"], rtol=EXACT_TOLERANCE)


def test_ordinal_marginal_standard_errors_by_an_independent_delta_method(wine_fit, wine_new):
    """The logit of each probability differentiated in the natural parameters, with ``fit.vcov()``."""
    params = wine_fit.params
    names = list(params.index)

    def logits(values: np.ndarray) -> np.ndarray:
        natural = pd.Series(values, index=names)
        return logit(_wine_probabilities(natural, wine_new, np.zeros(3), np.full(3, natural["sd[judge]"]))).ravel()

    theta = params.to_numpy()
    step = 1e-5 * np.maximum(1.0, np.abs(theta))
    jacobian = np.column_stack([(logits(theta + h * unit) - logits(theta - h * unit)) / (2 * h) for h, unit in zip(step, np.eye(theta.size))])
    logit_se = np.sqrt(np.einsum("ra,ab,rb->r", jacobian, wine_fit.vcov().loc[names, names].to_numpy(), jacobian))
    predicted = wine_fit.predict(wine_new, kind="marginal")
    probability = predicted["prediction"].to_numpy()
    np.testing.assert_allclose(predicted["se"], probability * (1 - probability) * logit_se, rtol=DELTA_RTOL)


def test_ordinal_fitted_rows_as_new_data_predict_as_the_fitted_rows(wine_fit):
    data = wine_fit.model.data
    for kind in ("conditional", "marginal"):
        fitted, new = wine_fit.predict(kind=kind), wine_fit.predict(data, kind=kind)
        np.testing.assert_allclose(new["prediction"], fitted["prediction"], rtol=EXACT_TOLERANCE, atol=1e-14)
        np.testing.assert_allclose(new["se"], fitted["se"], rtol=1e-7)
        assert list(new.index) == list(fitted.index)


def _simulate_scaled_ordinal(n_clusters: int = 40, per_cluster: int = 8, seed: int = 5) -> pd.DataFrame:
    """Three ordered categories with threshold covariate ``z`` and a scale regression on ``w``."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_clusters), per_cluster)
    n = g.size
    x, z, w = rng.normal(size=n), rng.normal(size=n), rng.integers(0, 2, size=n).astype(float)
    latent = 0.8 * rng.normal(size=n_clusters)[g] + 0.7 * x + np.exp(0.4 * w) * rng.logistic(size=n)
    thresholds = np.column_stack([-0.5 + 0.3 * z, 1.0 - 0.2 * z])
    y = 1 + np.sum(latent[:, None] > thresholds, axis=1)
    return pd.DataFrame({"y": y, "x": x, "z": z, "w": w, "g": g})


@pytest.fixture(scope="module")
def scaled_fit():
    data = _simulate_scaled_ordinal()
    return glpp.Model("y ~ x + (1 | g)", data, family="ordinal", thresholds="~ z", dispersion="~ w").fit(nip=7)


def test_scaled_ordinal_new_rows_code_threshold_and_scale_covariates(scaled_fit):
    p = scaled_fit.params
    new = pd.DataFrame({"x": [0.5, -1.0, 0.0], "z": [1.0, 0.0, -2.0], "w": [1.0, 0.0, 1.0], "g": [0, 7, 500]})
    x, z, w = (new[column].to_numpy() for column in ("x", "z", "w"))
    scale = np.exp(p["log_scale[w]"] * w)
    tau = np.column_stack([p["tau[1|2]"] + p["tau[1|2~z]"] * z, p["tau[2|3]"] + p["tau[2|3~z]"] * z])
    eta = p["beta[x]"] * x
    gap = (tau - eta[:, None]) / scale[:, None]
    spread = np.broadcast_to((p["sd[g]"] / scale)[:, None], gap.shape)
    marginal = scaled_fit.predict(new, kind="marginal")
    expected = _probabilities(_cumulative_marginal(gap, spread))
    np.testing.assert_allclose(marginal["prediction"].to_numpy().reshape(3, 3), expected, atol=INTEGRAL_TOLERANCE)

    conditional = scaled_fit.predict(new)
    eb = scaled_fit.latent().set_index("cluster")["mean"]
    shift = np.array([eb.loc[0], eb.loc[7], 0.0])
    cumulative = expit((tau - (eta + shift)[:, None]) / scale[:, None])
    cumulative[2] = _cumulative_marginal(gap[2], spread[2])  # cluster 500 is new: integrated out
    np.testing.assert_allclose(conditional["prediction"].to_numpy().reshape(3, 3), _probabilities(cumulative), atol=INTEGRAL_TOLERANCE)
    assert list(conditional["new_cluster"].to_numpy().reshape(3, 3)[:, 0]) == [False, False, True]
    data = scaled_fit.model.data
    np.testing.assert_allclose(scaled_fit.predict(data)["se"], scaled_fit.predict()["se"], rtol=1e-7)
    with pytest.raises(glpp.DataError, match=r"column 'w' used in dispersion='~ w'"):
        scaled_fit.predict(new.drop(columns="w"))


def test_gaussian_dispersion_regression_predicts_new_rows_without_the_dispersion_columns():
    """The mean of a gaussian response does not involve its SD: new rows need no ``male`` column."""
    fit = model_library.load("exam_heteroscedastic").fit()
    new = pd.DataFrame({"standLRT": [-1.0, 0.0, 2.0], "school": [1, 2, 10**6]})
    p = fit.params
    fixed = p["beta[(Intercept)]"] + p["beta[standLRT]"] * new["standLRT"].to_numpy()
    np.testing.assert_allclose(fit.predict(new, kind="marginal")["prediction"], fixed, rtol=EXACT_TOLERANCE)
    eb = fit.latent().set_index("cluster")["mean"]
    expected = fixed + np.array([eb.loc[1], eb.loc[2], 0.0])
    conditional = fit.predict(new)
    np.testing.assert_allclose(conditional["prediction"], expected, rtol=EXACT_TOLERANCE)
    assert list(conditional["new_cluster"]) == [False, False, True]


@pytest.fixture(scope="module")
def cace_fit():
    return model_library.load("cace").fit(starts=4)


def test_class_regression_new_rows_mix_the_classes_by_their_sizes(cace_fit):
    """``y ~ x + C + C1:z``: class c's mean ``x b + a_c + d z [c = 1]`` mixed by ``expit(class[C1])``;
    the classes vary over the rows, so every new row is a new unit (conditional = marginal)."""
    p = cace_fit.params
    new = pd.DataFrame({"x": [-1.0, 0.5, 2.0], "z": [0, 1, 1]}, index=["a", "b", "c"])
    x, z = new["x"].to_numpy(), new["z"].to_numpy()
    by_class = np.column_stack([p["beta[x]"] * x + p["beta[C1]"] + p["beta[C1:z]"] * z, p["beta[x]"] * x + p["beta[C2]"]])
    size = expit(p["class[C1]"])
    marginal = cace_fit.predict(new, kind="marginal")
    np.testing.assert_allclose(marginal["prediction"], by_class @ [size, 1 - size], rtol=EXACT_TOLERANCE)
    assert list(marginal.index) == ["a", "b", "c"] and np.all(marginal["se"] > 0)
    conditional = cace_fit.predict(new)
    assert conditional["new_cluster"].all()
    np.testing.assert_allclose(conditional[["prediction", "se"]], marginal[["prediction", "se"]], rtol=EXACT_TOLERANCE)
    with pytest.raises(glpp.DataError, match=r"column 'z' used in class term"):
        cace_fit.predict(new.drop(columns="z"))


def test_mass_point_new_rows_mix_by_posterior_or_masses(toenail_npml):
    """``(1 | patient)`` with ``patient ~~ masspoints(3)``: each point's ``expit(x'b + location)``
    mixed by a fitted patient's posterior, or by the masses for a new patient (and marginally)."""
    fit = toenail_npml
    new = pd.DataFrame({"treatment": [1, 0, 1], "month": [3.0, 6.0, 12.0], "patient": [1, 10**6, 3]})
    beta = fit.params[["beta[(Intercept)]", "beta[treatment]", "beta[month]", "beta[treatment:month]"]].to_numpy()
    x = np.column_stack([np.ones(3), new.treatment, new.month, new.treatment * new.month])
    by_point = expit((x @ beta)[:, None] + fit.points["location"].to_numpy()[None, :])
    masses = fit.points["probability"].to_numpy()
    marginal = fit.predict(new, kind="marginal")
    np.testing.assert_allclose(marginal["prediction"], by_point @ masses, rtol=EXACT_TOLERANCE)
    posterior = fit.posterior.to_numpy()[pd.Index(fit.posterior.index).get_indexer([1, 3])]
    expected = np.array([posterior[0] @ by_point[0], by_point[1] @ masses, posterior[1] @ by_point[2]])
    conditional = fit.predict(new)
    np.testing.assert_allclose(conditional["prediction"], expected, rtol=EXACT_TOLERANCE)
    assert list(conditional["new_cluster"]) == [False, True, False]
    assert np.isnan(conditional["se"].iloc[[0, 2]]).all()
    assert conditional["se"].iloc[1] == pytest.approx(marginal["se"].iloc[1], rel=EXACT_TOLERANCE)


@pytest.fixture(scope="module")
def toenail_npml():
    toenail = pd.read_csv(Path(model_library.__file__).parent / "data" / "toenail.csv")
    return glpp.Model(
        "outcome ~ treatment * month + (1 | patient); patient ~~ masspoints(3)", toenail, family="binomial"
    ).fit(starts=4)


def test_classes_of_a_grouping_use_a_fitted_units_posterior_and_new_units_membership_model():
    """``y ~ x + C`` with ``C@id ~~ classes(2)`` and ``C ~ v``: a fitted id's rows mixed by its
    posterior, a new id's by ``expit(class[C1] + class[C1:v] v)`` at its own ``v``."""
    rng = np.random.default_rng(8)
    n_ids, per_id = 80, 4
    ids = np.repeat(np.arange(n_ids), per_id)
    v = rng.normal(size=n_ids)
    first = rng.random(n_ids) < expit(0.3 + 0.8 * v)
    x = rng.normal(size=ids.size)
    y = np.where(first[ids], 2.0, -1.0) + 0.5 * x + 0.7 * rng.normal(size=ids.size)
    data = pd.DataFrame({"y": y, "x": x, "v": v[ids], "id": ids})
    fit = glpp.Model("y ~ x + C\nC@id ~~ classes(2)\nC ~ v", data).fit(starts=4)
    p = fit.params
    new = pd.DataFrame({"x": [0.5, -1.0], "v": [v[3], 1.2], "id": [3, 999]})
    by_class = np.column_stack([p["beta[C1]"] + p["beta[x]"] * new["x"], p["beta[C2]"] + p["beta[x]"] * new["x"]])
    size = expit(p["class[C1]"] + p["class[C1:v]"] * new["v"].to_numpy())
    sizes = np.column_stack([size, 1 - size])
    marginal = fit.predict(new, kind="marginal")
    np.testing.assert_allclose(marginal["prediction"], np.sum(sizes * by_class, axis=1), rtol=EXACT_TOLERANCE)
    posterior = fit.posterior.to_numpy()[pd.Index(fit.posterior.index).get_indexer([3])[0]]
    conditional = fit.predict(new)
    expected = [posterior @ by_class[0], sizes[1] @ by_class[1]]
    np.testing.assert_allclose(conditional["prediction"], expected, rtol=EXACT_TOLERANCE)
    assert list(conditional["new_cluster"]) == [False, True]
