"""Discrete latents: latent classes (flexmix references), class regression, NPML mass points."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logsumexp

import glpp
import model_library

DATA = Path(__file__).resolve().parents[1] / "model_library" / "data"
REFERENCE = Path(__file__).resolve().parent / "reference"
ITEMS = " + ".join(f"i{j}" for j in range(1, 25))
#: flexmix's EM stops at a relative change of 1e-6, so its best may lie a little below the maximum
LOGLIK_TOLERANCE = 0.01
#: the likelihood written out in numpy at the estimate: the same sums, rounding only
EXACT_TOLERANCE = 1e-8


def flexmix(case: str) -> dict:
    return json.loads((REFERENCE / "latent_classes.json").read_text())[case]


@pytest.fixture(scope="module")
def verbagg() -> pd.DataFrame:
    return pd.read_csv(DATA / "verbagg_wide.csv")


@pytest.fixture(scope="module")
def lca2(verbagg):
    return glpp.Model(f"C ~~ classes(2); C =~ {ITEMS}", verbagg, family="binomial").fit()


def test_two_classes_match_flexmix(lca2):
    reference = flexmix("verbagg_lca2")
    assert lca2.n_params == reference["df"]
    assert lca2.loglik >= reference["loglik"] - LOGLIK_TOLERANCE
    assert abs(lca2.loglik - reference["loglik"]) < LOGLIK_TOLERANCE
    assert lca2.n_best >= 2
    np.testing.assert_allclose(lca2.points["probability"], reference["prior"], atol=1e-3)


def test_classes_are_ordered_by_size_and_classified(lca2):
    sizes = lca2.points["probability"].to_numpy()
    assert np.all(np.diff(sizes) <= 0)
    posterior = lca2.latent()
    assert list(posterior.columns) == ["C1", "C2", "modal"]
    np.testing.assert_allclose(posterior[["C1", "C2"]].sum(axis=1), 1.0)
    classification = lca2.classification()
    assert classification.table["n_modal"].sum() == len(posterior)
    assert 0.0 < classification.relative_entropy <= 1.0
    assert "Class intercepts" in lca2.summary()


@pytest.mark.slow
def test_three_classes_match_flexmix(verbagg):
    reference = flexmix("verbagg_lca3")
    fit = glpp.Model(f"C ~~ classes(3); C =~ {ITEMS}", verbagg, family="binomial").fit(starts=20)
    assert fit.n_params == reference["df"]
    assert fit.loglik >= reference["loglik"] - LOGLIK_TOLERANCE


#: the library's class_regression (simulated, model_library/simulate.py): its membership
#: coefficients within RECOVERY_SE standard errors of the truth, every estimate within
#: ALL_RECOVERY_SE (14 estimates at 2 SE each: one or more outside by chance half the time)
RECOVERY_SE = 2.0
ALL_RECOVERY_SE = 3.0
CLASS_REGRESSION_KEY = ("class[C1]", "class[C1:v]")


@pytest.fixture(scope="module")
def class_regression():
    data = model_library.read_data("class_regression")
    truth = model_library.MODELS["class_regression"].truth
    return data, truth, model_library.load("class_regression").fit(starts=4)


def test_class_regression_recovers_its_truth(class_regression):
    _, truth, fit = class_regression
    assert fit.converged
    assert sorted(fit.params.index) == sorted(truth)
    z = {name: (fit.params[name] - value) / fit.se[name] for name, value in truth.items()}
    assert all(abs(z[name]) < RECOVERY_SE for name in CLASS_REGRESSION_KEY), z
    assert all(abs(value) < ALL_RECOVERY_SE for value in z.values()), z


def test_class_regression_loglik_equals_numpy(class_regression):
    data, _, fit = class_regression
    items = data[[f"y{j}" for j in range(1, 7)]].to_numpy()
    intercepts = np.array([[fit.params[f"nu[C{c}:y{j}]"] for c in (1, 2)] for j in range(1, 7)])
    probability = expit(intercepts)  # (items, classes)
    conditional = (items[:, :, None] * np.log(probability) + (1 - items[:, :, None]) * np.log1p(-probability)).sum(1)
    logit = fit.params["class[C1]"] + fit.params["class[C1:v]"] * data["v"].to_numpy()
    log_weights = np.column_stack([logit, np.zeros_like(logit)])
    log_weights -= logsumexp(log_weights, axis=1, keepdims=True)
    expected = logsumexp(conditional + log_weights, axis=1).sum()
    assert abs(fit.loglik - expected) < EXACT_TOLERANCE


def _class_mixture(params: pd.Series, v: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Units x items means: each class's item probabilities mixed by ``weights`` (default: the
    membership model's class probabilities at ``v``)."""
    probability = expit(np.array([[params[f"nu[C{c}:y{j}]"] for c in (1, 2)] for j in range(1, 7)]))
    if weights is None:
        first = expit(params["class[C1]"] + params["class[C1:v]"] * v)
        weights = np.column_stack([first, 1.0 - first])
    return weights @ probability.T


def test_class_predictions_mix_the_classes_by_posterior_or_size(class_regression):
    data, _, fit = class_regression
    conditional = fit.predict()
    assert conditional.index.names[1] == "item" and len(conditional) == 6 * len(data)
    expected = _class_mixture(fit.params, data["v"].to_numpy(), fit.posterior.to_numpy())
    np.testing.assert_allclose(conditional["prediction"].to_numpy().reshape(-1, 6), expected, rtol=EXACT_TOLERANCE)
    marginal = fit.predict(kind="marginal")
    expected = _class_mixture(fit.params, data["v"].to_numpy())
    np.testing.assert_allclose(marginal["prediction"].to_numpy().reshape(-1, 6), expected, rtol=EXACT_TOLERANCE)
    link = fit.predict(kind="marginal", scale="link")["prediction"].to_numpy().reshape(-1, 6)
    np.testing.assert_allclose(link, np.log(expected / (1 - expected)), rtol=1e-9)


def test_class_marginal_standard_errors_by_an_independent_delta_method(class_regression):
    """Central differences of the numpy mixture in the natural parameters, with ``fit.vcov()``."""
    data, _, fit = class_regression
    names = list(fit.params.index)
    v = data["v"].to_numpy()[:5]

    def logit_mean(values: np.ndarray) -> np.ndarray:
        mean = _class_mixture(pd.Series(values, index=names), v).ravel()
        return np.log(mean / (1 - mean))

    estimate, step = fit.params.to_numpy(), 1e-6
    jacobian = np.column_stack([
        (logit_mean(estimate + step * unit) - logit_mean(estimate - step * unit)) / (2 * step)
        for unit in np.eye(len(names))
    ])
    expected = np.sqrt(np.einsum("ra,ab,rb->r", jacobian, fit.vcov().to_numpy(), jacobian))
    predicted = fit.predict(kind="marginal", scale="link")["se"].to_numpy()[:30]
    np.testing.assert_allclose(predicted, expected, rtol=1e-4)


@pytest.fixture(scope="module")
def toenail() -> pd.DataFrame:
    return pd.read_csv(DATA / "toenail.csv")


def normal_loglik() -> float:
    return json.loads((REFERENCE / "reference.json").read_text())["toenail_logit"]["loglik"]


def test_npml_beats_the_normal_random_intercept(toenail):
    fit = glpp.Model(
        "outcome ~ treatment * month + (1 | patient); patient ~~ masspoints(3)", toenail, family="binomial"
    ).fit(starts=4)
    assert fit.loglik >= normal_loglik()
    assert fit.n_params == 4 + 2 + 2
    np.testing.assert_allclose(fit.points["probability"].sum(), 1.0)
    mean = fit.points["probability"] @ fit.points["location"]
    assert abs(mean) < 1e-8  # the latent's mean is fixed at zero
    # predictions: each point's expit(x'beta + location) mixed by the posterior or the sizes
    beta = fit.params[["beta[(Intercept)]", "beta[treatment]", "beta[month]", "beta[treatment:month]"]].to_numpy()
    x = np.column_stack([np.ones(len(toenail)), toenail.treatment, toenail.month, toenail.treatment * toenail.month])
    by_point = expit((x @ beta)[:, None] + fit.points["location"].to_numpy()[None, :])
    unit = pd.Index(fit.posterior.index).get_indexer(toenail.patient)
    conditional = np.sum(fit.posterior.to_numpy()[unit] * by_point, axis=1)
    np.testing.assert_allclose(fit.predict()["prediction"], conditional, rtol=EXACT_TOLERANCE)
    marginal = by_point @ fit.points["probability"].to_numpy()
    np.testing.assert_allclose(fit.predict(kind="marginal")["prediction"], marginal, rtol=EXACT_TOLERANCE)


@pytest.mark.slow
def test_npml_auto_stops_by_the_gateaux_criterion(toenail):
    fit = glpp.Model(
        'outcome ~ treatment * month + (1 | patient); patient ~~ masspoints("auto")', toenail, family="binomial"
    ).fit(starts=4)
    assert "Gateaux" in fit.stop_reason
    assert fit.selection["max_gateaux"].iloc[-1] <= glpp.fitting.discrete_fit.GATEAUX_TOLERANCE
    assert fit.loglik >= normal_loglik()
    assert len(fit.points) == fit.selection["n_points"].iloc[-1]


@pytest.mark.parametrize(
    ("statement", "fragment"),
    [
        ("C ~~ classes(1)", "C ~~ classes(1)"),
        ("C ~~ masspoints(0)", "C ~~ masspoints(0)"),
        ("C ~~ classes(40)", "distinct response patterns"),
    ],
)
def test_bad_discrete_statements(statement, fragment):
    data = pd.DataFrame({"y1": [0, 1, 0, 1] * 3, "y2": [0, 0, 1, 1] * 3})
    with pytest.raises(glpp.SpecError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        glpp.Model(f"{statement}; C =~ y1 + y2", data, family="binomial")


def test_loglik_at_and_a_pymc_model_for_a_class_regression(class_regression):
    data, _, fit = class_regression
    model = model_library.load("class_regression")
    assert abs(model.loglik_at(fit.params) - fit.loglik) < EXACT_TOLERANCE
    assert model.loglik_at(fit.params, per_cluster=True).shape == (len(data),)
    assert "pi[C]" in model.pymc_model("marginal").named_vars  # exchangeable labels: glpp.bayes.discrete


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("F ~~ masspoints(3); F =~ y1 + y2 + y3", "factor with loadings"),
        ("C ~~ classes(2); C =~ y1 + y2 + y3; level: g; B =~ y1 + y2 + y3", "latents at other levels"),
    ],
)
def test_discrete_latents_not_available_yet_are_refused(source, fragment):
    rng = np.random.default_rng(3)
    data = pd.DataFrame(rng.integers(0, 2, size=(40, 3)), columns=["y1", "y2", "y3"]).assign(g=np.arange(40) // 4)
    with pytest.raises(glpp.SpecError, match=fragment):
        glpp.Model(source, data, family="binomial")


def test_classes_with_a_family_per_item_recover_the_simulation():
    rng = np.random.default_rng(5)
    first = rng.random(600) < 0.6
    data = pd.DataFrame({
        "b1": (rng.random(600) < np.where(first, 0.85, 0.2)).astype(float),
        "g1": rng.normal(np.where(first, 2.0, -1.0), 1.0),
        "g2": rng.normal(np.where(first, 0.5, 1.5), 0.5),
        "p1": rng.poisson(np.where(first, 4.0, 1.0)).astype(float),
    })
    families = {"b1": "binomial", "g1": "gaussian", "g2": "gaussian", "p1": "poisson"}
    fit = glpp.Model("C ~~ classes(2); C =~ b1 + g1 + g2 + p1", data, family=families).fit(starts=4)
    truth = {
        "nu[C1:b1]": np.log(0.85 / 0.15), "nu[C2:b1]": np.log(0.2 / 0.8), "nu[C1:g1]": 2.0, "nu[C2:g1]": -1.0,
        "nu[C1:g2]": 0.5, "nu[C2:g2]": 1.5, "nu[C1:p1]": np.log(4.0), "nu[C2:p1]": 0.0,
        "class[C1]": np.log(0.6 / 0.4), "sigma[g1]": 1.0, "sigma[g2]": 0.5,
    }
    assert fit.n_params == len(truth)
    z = [(fit.params[name] - value) / fit.se[name] for name, value in truth.items()]
    assert np.max(np.abs(z)) < 3.5  # 11 estimates: all within 3.5 SE (each 2 SE would fail by chance)


def test_map_is_refused_for_discrete_latents(toenail):
    model = glpp.Model("outcome ~ month + (1 | patient); patient ~~ masspoints(2)", toenail, family="binomial")
    with pytest.raises(glpp.SpecError, match="discrete latents"):
        model.fit(method="map")
    auto = glpp.Model('outcome ~ month + (1 | patient); patient ~~ masspoints("auto")', toenail, family="binomial")
    with pytest.raises(glpp.SpecError, match=r"number of mass points is chosen by fit\(\).*masspoints\(3\)"):
        auto.sample(draws=10, tune=10, chains=1)
