"""Bayesian fits of exchangeable latent classes (glpp.bayes.discrete, glpp.bayes.labels): the
membership prior against scipy, pivotal relabelling, and NUTS against ML."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytensor.tensor as pt
import pytest
from scipy.special import expit, log_softmax
from scipy.stats import dirichlet, multivariate_normal

import glpp
from glpp.bayes.discrete import SLOPE_PRIOR_SD, membership_log_prior
from glpp.bayes.labels import relabel_draws
from glpp.fitting.discrete import permute_points

ITEMS = " + ".join(f"y{j}" for j in range(1, 7))
#: NUTS against ML: posterior means within this many posterior SDs of the ML estimates (the
#: posterior of a few hundred units is nearly normal and the priors weak: the two differ by the
#: prior's pull and Monte Carlo error, ~0.1 SD at 1000 draws)
MEAN_WITHIN_SD = 0.5
#: largest R-hat of any parameter (rank-normalised split R-hat, arviz)
MAX_RHAT = 1.01
#: the same sums as scipy's densities, rounding only
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


def test_membership_prior_is_dirichlet_sizes_and_normal_slopes():
    membership = np.column_stack([np.ones(50), np.random.default_rng(1).normal(0.0, 2.0, 50)])
    variable = pt.matrix("logits")
    alpha = 1.5
    log_prior = membership_log_prior(variable, membership, alpha).eval
    scale = SLOPE_PRIOR_SD / membership[:, 1].std()
    covariance = scale**2 * (np.eye(2) + np.ones((2, 2)))

    def expected(logits):  # Dirichlet on softmax([l, 0]) times the softmax's Jacobian prod p_c
        log_p = log_softmax(np.append(logits[:, 0], 0.0))
        sizes = dirichlet.logpdf(np.exp(log_p), np.full(3, alpha)) + log_p.sum()
        return sizes + multivariate_normal.logpdf(logits[:, 1], np.zeros(2), covariance)

    first, second = np.array([[0.7, 0.3], [-0.4, 1.1]]), np.array([[-1.2, -0.5], [0.9, 0.2]])
    difference = log_prior({variable: first}) - log_prior({variable: second})
    assert abs(difference - (expected(first) - expected(second))) < EXACT_TOLERANCE
    for order in ([1, 0, 2], [2, 1, 0], [1, 2, 0]):  # the same under every relabelling
        assert abs(log_prior({variable: swap(first, order)}) - log_prior({variable: first})) < EXACT_TOLERANCE


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


def test_prior_overrides_of_exchangeable_classes():
    model = glpp.Model(f"C ~~ classes(2); C =~ {ITEMS}; C ~ v", simulate_classes(60), family="binomial")
    assert "class_prior" in model.pymc_model("marginal", priors={"class": 2.0}).named_vars
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
    assert table["z"].abs().max() < MEAN_WITHIN_SD, table
    assert table["rhat"].max() <= MAX_RHAT, table
    assert len(idata["posterior"].attrs["glpp_relabelled"]) == 2
    assert idata["log_likelihood"].to_dataset()["items"].shape[-1] == 600
    assert int(idata["sample_stats"].to_dataset()["diverging"].sum()) == 0
