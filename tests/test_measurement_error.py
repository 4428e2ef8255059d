"""Covariate measurement error and a missing covariate: the library's joint models of a logit
outcome and replicate gaussian measurements of its covariate (model_library/simulate.py).

Each model's log-likelihood at its estimate is checked against numpy (per unit, plain
Gauss-Hermite quadrature over the true covariate of the product of the unit's rows, written
from scipy's densities); each recovers its truth, where the naive regression on the mean of the
measurements attenuates the covariate's effect and a complete-case analysis of the missing
covariate is biased.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import glpp
import model_library

#: glpp's adaptive quadrature (30 points) against numpy's plain rule of NUMPY_POINTS points
#: (both converged: the integrand is a normal density times a logistic probability)
LOGLIK_TOLERANCE = 1e-6
NUMPY_POINTS = 100
#: simulation truth (as tests/test_class_regression.py): the effect of the true covariate and of
#: z within RECOVERY_SE standard errors, every estimate within ALL_RECOVERY_SE
RECOVERY_SE = 2.0
ALL_RECOVERY_SE = 3.0
KEY_PARAMETERS = ("lambda[F,d_y]", "beta[d_y:z]")
#: the naive estimate of the covariate's effect and the complete-case outcome intercept lie at
#: least this many of their standard errors from the truth; the naive effect of z, whose bias is
#: only path[F~z] times the part of the covariate's effect that the mean misses, at least
#: NAIVE_Z_BIAS_SE
NAIVE_BIAS_SE = 3.0
NAIVE_Z_BIAS_SE = 2.0


def numpy_loglik(data: pd.DataFrame, params: dict[str, float]) -> float:
    """Sum over units of log integral N(F; path z, sd^2) prod_rows f(row | F) dF: the outcome
    row's logit probability and each measurement row's normal density (scipy)."""
    nodes, weights = np.polynomial.hermite.hermgauss(NUMPY_POINTS)
    log_weights = np.log(weights) - 0.5 * np.log(np.pi)
    data = data.sort_values("id", kind="stable")
    z = data["z"].to_numpy()
    latent = params["path[F~z]"] * z[:, None] + np.sqrt(2.0) * params["sd[F]"] * nodes[None, :]  # (rows, Q)
    outcome = (data["eq"] == "y").to_numpy()
    response = data["resp"].to_numpy()[:, None]
    log_odds = params["beta[d_y]"] + params["beta[d_y:z]"] * z[:, None] + params["lambda[F,d_y]"] * latent
    log_outcome = np.where(response == 1.0, special.log_expit(log_odds), special.log_expit(-log_odds))
    log_measurement = stats.norm.logpdf(response, params["beta[d_x]"] + latent, params["sigma"])
    log_row = np.where(outcome[:, None], log_outcome, log_measurement)
    unit = data["id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1]])
    return float(special.logsumexp(np.add.reduceat(log_row, starts, axis=0) + log_weights, axis=1).sum())


def measurement_mean(data: pd.DataFrame) -> pd.DataFrame:
    """One row per unit with both measurements: y, z and the mean of x1 and x2."""
    wide = data.pivot(index="id", columns="eq", values="resp").join(data.groupby("id")["z"].first())
    return wide.dropna().assign(x_mean=lambda frame: (frame["x1"] + frame["x2"]) / 2.0)


def recovery_z(fit: glpp.MLResult, truth: dict[str, float]) -> pd.Series:
    names = list(truth)
    return (fit.params[names] - pd.Series(truth)) / fit.se[names]


@pytest.fixture(scope="module", params=["covariate_measurement_error", "missing_covariate"])
def joint(request):
    name = request.param
    model = model_library.load(name)
    return name, model, model.fit()


def test_loglik_at_the_estimate_matches_numpy(joint):
    name, model, fit = joint
    data = model_library.read_data(name)
    assert model.loglik_at(fit.params, nip=30) == pytest.approx(numpy_loglik(data, fit.params), abs=LOGLIK_TOLERANCE)


def test_joint_model_recovers_its_truth(joint):
    name, _, fit = joint
    truth = model_library.MODELS[name].truth
    assert fit.converged
    assert sorted(fit.params.index) == sorted(truth)
    z = recovery_z(fit, truth)
    assert z[list(KEY_PARAMETERS)].abs().max() < RECOVERY_SE, z
    assert z.abs().max() < ALL_RECOVERY_SE, z


def test_naive_regression_on_the_mean_measurement_is_attenuated():
    """y on z and the mean of x1 and x2: the covariate's effect biased toward 0, z's away from it
    (z predicts the true covariate and picks up the part of its effect the mean misses)."""
    truth = model_library.MODELS["covariate_measurement_error"].truth
    wide = measurement_mean(model_library.read_data("covariate_measurement_error"))
    naive = glpp.Model("y ~ x_mean + z", wide.reset_index(), family="binomial").fit()
    effect = truth["lambda[F,d_y]"]
    assert 0.0 < naive.params["beta[x_mean]"] < effect - NAIVE_BIAS_SE * naive.se["beta[x_mean]"]
    assert naive.params["beta[z]"] > truth["beta[d_y:z]"] + NAIVE_Z_BIAS_SE * naive.se["beta[z]"]


def test_complete_cases_are_a_biased_sample():
    """The joint model on the units with both measurements: the outcome's intercept is biased
    down (units with y = 1 keep their measurements less often)."""
    truth = model_library.MODELS["missing_covariate"].truth
    data = model_library.read_data("missing_covariate")
    complete = data[data["id"].isin(data.loc[data["eq"] == "x2", "id"])]
    entry = model_library.MODELS["missing_covariate"]
    fit = glpp.Model(entry.formula, complete, family=entry.family, link=entry.link).fit()
    z = recovery_z(fit, truth)
    assert z["beta[d_y]"] < -NAIVE_BIAS_SE, z
