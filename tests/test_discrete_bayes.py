"""Bayesian fits of exchangeable latent classes (glpp.bayes.discrete, glpp.bayes.labels): the
membership prior against scipy, pivotal relabelling, and NUTS against ML."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import pytest
from scipy import stats
from scipy.special import expit

import glpp
from glpp.bayes.discrete import SLOPE_PRIOR_SD, _warn_if_switched, location_log_prior
from glpp.bayes.labels import relabel_draws
from glpp.fitting.discrete import permute_points

ITEMS = " + ".join(f"y{j}" for j in range(1, 7))
#: NUTS against ML: posterior means within this many posterior SDs of the ML estimates (the
#: posterior of a few hundred units is nearly normal and the priors weak: the two differ by the
#: prior's pull and Monte Carlo error, ~0.1 SD at 1000 draws)
MEAN_WITHIN_SD = 0.5
#: largest R-hat of any parameter (rank-normalised split R-hat, arviz)
MAX_RHAT = 1.01
#: prior draws against the documented distribution: a Kolmogorov-Smirnov test fails by chance
#: this rarely (seeded draws: it fails only if the prior is wrong)
KS_PVALUE = 1e-3
#: the same density written two ways, rounding only
EXACT_TOLERANCE = 1e-9


def simulate_classes(n_units: int = 600, seed: int = 21) -> pd.DataFrame:
    """Two well-separated classes of six binary items; membership log-odds 0.5 + 1.0 v."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=n_units)
    first = rng.random(n_units) < expit(0.5 + 1.0 * v)
    intercepts = np.where(first[:, None], 1.5, -1.5) + np.linspace(-0.5, 0.5, 6)
    items = (rng.random((n_units, 6)) < expit(intercepts)).astype(float)
    return pd.DataFrame(items, columns=[f"y{j}" for j in range(1, 7)]).assign(v=v)


def swap(logits: np.ndarray, order) -> np.ndarray:
    """Membership log-odds ``(K - 1, Q)`` of the classes relabelled by ``order``, written out."""
    full = np.vstack([logits, np.zeros((1, logits.shape[1]))])[list(order)]
    return full[:-1] - full[-1]


def test_exchangeable_prior_on_the_natural_scales():
    data = simulate_classes(200)
    model = glpp.Model(f"C ~~ classes(2); C =~ {ITEMS}; C ~ v", data, family="binomial")
    with model.pymc_model("marginal"), pytest.warns(UserWarning, match="Potentials"):  # the likelihood's
        prior = pm.sample_prior_predictive(draws=4000, var_names=["class[C1]", "class[C1:v]"], random_seed=3)
    draws = prior["prior"].to_dataset()
    # Dirichlet(1, 1) sizes: the log-odds of class 1 are Logistic(0, 1); slopes Normal(0, 5 sqrt(2) / s_v)
    assert stats.kstest(draws["class[C1]"].values.ravel(), stats.logistic.cdf).pvalue > KS_PVALUE
    slope_sd = SLOPE_PRIOR_SD * np.sqrt(2.0) / data["v"].std(ddof=0)
    assert stats.kstest(draws["class[C1:v]"].values.ravel(), stats.norm(0.0, slope_sd).cdf).pvalue > KS_PVALUE


def test_slope_prior_is_the_same_under_every_relabelling():
    covariance = np.eye(2) + np.ones((2, 2))  # of the log-odds slopes against the last of 3 classes
    for order in ([1, 0, 2], [2, 1, 0], [1, 2, 0]):
        relabel = np.column_stack([swap(column[:, None], order)[:, 0] for column in np.eye(2)])
        np.testing.assert_allclose(relabel @ covariance @ relabel.T, covariance, atol=1e-12)


def test_location_prior_of_mass_points_is_the_same_under_every_relabelling():
    weights = np.array([0.5, 0.3, 0.2])
    free = np.array([0.5, -1.2])
    to_all = np.vstack([np.eye(2), -weights[:-1] / weights[-1]])  # free locations -> all three
    free_variable, log_weights_variable = pt.vector("free"), pt.vector("log_weights")
    log_prior = location_log_prior(free_variable, log_weights_variable, 2.0).eval

    def value(free, weights):
        return log_prior({free_variable: free, log_weights_variable: np.log(weights)})

    for order in ([1, 0, 2], [2, 1, 0], [1, 2, 0]):
        relabel = to_all[order][:-1]  # the relabelled free locations, a linear map of the free ones
        moved = value(relabel @ free, weights[order]) + np.log(abs(np.linalg.det(relabel)))
        assert abs(moved - value(free, weights)) < EXACT_TOLERANCE  # the density of the relabelled draws


def test_relabelling_puts_switched_draws_back():
    data = simulate_classes(60)
    layout = glpp.Model(f"C ~~ classes(3); C =~ {ITEMS}; C ~ v", data, family="binomial").layout
    rng = np.random.default_rng(4)
    pivot = np.zeros(layout.n_theta)
    pivot[layout.block("class_intercept")] = np.tile([2.0, 0.0, -2.0], 6)
    pivot[layout.block("class_logodds")] = [1.0, 0.3, 0.5, -0.2]
    draws = pivot + rng.normal(0.0, 0.2, size=(2, 40, layout.n_theta))
    switched = draws.copy()
    orders = ([1, 0, 2], [2, 0, 1])
    for chain, order in enumerate(orders):  # chain 0: draws 10.. switched; chain 1: draws 30..
        for k in range(10 + 20 * chain, 40):
            switched[chain, k] = permute_points(layout, draws[chain, k], np.array(order), regression=False)
    relabelled, count = relabel_draws(layout, switched, pivot, np.full(layout.n_theta, 0.2), regression=False)
    np.testing.assert_allclose(relabelled, draws, atol=1e-12)
    assert count.tolist() == [30, 10]
    with pytest.warns(glpp.ConvergenceWarning, match=r"switched within chains .*\[30, 10\] of 40"):
        _warn_if_switched(count, 40)


def test_prior_overrides_of_exchangeable_classes():
    model = glpp.Model(f"C ~~ classes(2); C =~ {ITEMS}; C ~ v", simulate_classes(60), family="binomial")
    assert "pi[C]" in model.pymc_model("marginal", priors={"class": 2.0}).named_vars
    with pytest.raises(glpp.SpecError, match="one joint prior"):
        model.pymc_model("marginal", priors={"class[C1]": 1.0})
    with pytest.raises(glpp.SpecError, match="positive number"):
        model.pymc_model("marginal", priors={"class": -1.0})


def agreement(fit, idata) -> pd.DataFrame:
    """Posterior mean and SD, ML estimate and R-hat of each parameter."""
    posterior = idata["posterior"].to_dataset()
    rhat = az.rhat(posterior[list(fit.params.index)])
    rows = {
        name: {"ml": fit.params[name], "mean": float(posterior[name].mean()), "sd": float(posterior[name].std()),
               "rhat": float(rhat[name])}
        for name in fit.params.index
    }
    table = pd.DataFrame(rows).T
    table["z"] = (table["mean"] - table["ml"]) / table["sd"]
    return table


@pytest.mark.slow
def test_class_regression_by_nuts_agrees_with_ml():
    model = glpp.Model(f"C ~~ classes(2); C =~ {ITEMS}; C ~ v", simulate_classes(), family="binomial")
    fit = model.fit(starts=4)
    idata = model.sample(draws=500, tune=500, chains=2, random_seed=2, init=fit, progressbar=False)
    table = agreement(fit, idata)
    print(table.to_string())  # shown with pytest -s: the numbers of the docs
    assert table["z"].abs().max() < MEAN_WITHIN_SD, table
    assert table["rhat"].max() <= MAX_RHAT, table
    assert len(idata["posterior"].attrs["glpp_relabelled"]) == 2
    assert idata["log_likelihood"].to_dataset()["items"].shape[-1] == 600
    assert int(idata["sample_stats"].to_dataset()["diverging"].sum()) == 0


def simulate_mass_points(n_units: int = 300, n_rows: int = 8, seed: int = 11) -> pd.DataFrame:
    """A binary response with a random intercept of two points, 1.0 (probability 0.6) and -1.5."""
    rng = np.random.default_rng(seed)
    point = np.where(rng.random(n_units) < 0.6, 1.0, -1.5)
    unit = np.repeat(np.arange(n_units), n_rows)
    x = rng.normal(size=n_units * n_rows)
    y = (rng.random(n_units * n_rows) < expit(-0.3 + 0.8 * x + point[unit])).astype(float)
    return pd.DataFrame({"y": y, "x": x, "g": unit})


@pytest.mark.slow
def test_mass_points_by_nuts_agree_with_ml():
    model = glpp.Model("y ~ x + (1 | g); g ~~ masspoints(2)", simulate_mass_points(), family="binomial")
    fit = model.fit(starts=4)
    # 1000 draws: R-hat's own noise at 2 x 500 draws reaches 1.01 (1.0103 seen, no switching)
    idata = model.sample(draws=1000, tune=500, chains=2, random_seed=5, init=fit, progressbar=False)
    table = agreement(fit, idata)
    print(table.to_string())
    assert table["z"].abs().max() < MEAN_WITHIN_SD, table
    assert table["rhat"].max() <= MAX_RHAT, table
    probability = idata["posterior"].to_dataset()["pi[g]"].mean(("chain", "draw")).values
    np.testing.assert_allclose(probability, fit.points["probability"], atol=0.05)
