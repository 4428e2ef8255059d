"""Bayesian ordinal models: thresholds as an ordered PyMC vector from the same family definition.

Compiling PyMC functions of a new model structure costs minutes on a loaded machine: marked slow.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

import glpp
from glpp.likelihood.two_level import COMPILE_MODE
from tests.pymc_points import point_at as _point

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = json.loads((ROOT / "tests" / "reference" / "ordinal.json").read_text())["wine_ordinal_logit"]


@pytest.fixture(scope="module")
def wine():
    data = pd.read_csv(ROOT / "model_library" / "data" / "wine.csv")
    return glpp.Model("rating ~ warm + contact + (1 | judge)", data, family="ordinal")


@pytest.mark.slow
def test_latent_kind_density_is_the_cumulative_logit(wine):
    """At z = 0 the observed log-density is clm's (numpy) at clmm's estimates."""
    pm_model = wine.pymc_model(kind="latent")
    names = {rv.name for rv in pm_model.free_RVs}
    assert {"tau", "beta[warm]", "sd[judge]"} <= names and "tau[1|2]" in pm_model.named_vars
    thresholds = np.array(list(REFERENCE["thresholds"].values()))
    values = {"tau": thresholds, **{f"beta[{k}]": v for k, v in REFERENCE["beta"].items()}}
    point = _point(pm_model, values)
    point["z[judge]"] = np.zeros_like(point["z[judge]"])
    observed = pm_model.observed_RVs[0]
    logp = pm_model.compile_fn(pm_model.logp(vars=[observed]), mode=COMPILE_MODE)(point)
    data = pd.read_csv(ROOT / "model_library" / "data" / "wine.csv")
    eta = REFERENCE["beta"]["warm"] * data["warm"] + REFERENCE["beta"]["contact"] * data["contact"]
    bounds = np.concatenate([[-np.inf], thresholds, [np.inf]])
    code = data["rating"].to_numpy() - 1
    expected = np.log(special.expit(bounds[code + 1] - eta) - special.expit(bounds[code] - eta)).sum()
    assert logp == pytest.approx(expected, abs=1e-8)


@pytest.mark.slow
def test_marginal_sampling_keeps_thresholds_ordered(wine):
    idata = wine.sample(kind="marginal", draws=100, tune=100, chains=1, random_seed=5, progressbar=False)
    tau = idata["posterior"]["tau"].values[0]
    assert np.all(np.diff(tau, axis=1) > 0)
    mean = tau.mean(axis=0)
    thresholds = np.array(list(REFERENCE["thresholds"].values()))
    # the posterior mean of each threshold is near the ML estimate (its posterior SD is ~0.7-1)
    np.testing.assert_allclose(mean, thresholds, atol=1.5)
    assert "tau[1|2]" in idata["posterior"]
