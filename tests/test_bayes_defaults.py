"""Bayesian defaults (issue 14): 4 chains on parallel processes, and the latent kind's
parameterisation per level (glpp.bayes.parameterization).

The rule's share (mean posterior variance of the standardised latents) is checked against
independent numpy computations: a Newton search per toenail patient, and the closed form
``1 / (1 + n_j sd^2 / sigma^2)`` of a gaussian random intercept.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glpp
from tests.lme4_estimates import lme4_estimates
from glpp import bayes
from glpp.bayes.parameterization import (
    CENTRED_BELOW_SHARE,
    check_parameterization,
    choose_parameterization,
    posterior_variance_share,
)
from glpp.bayes.sample import default_cores
from glpp.likelihood.two_level import COMPILE_MODE

DATA = Path(__file__).resolve().parents[1] / "model_library" / "data"
TOENAIL = "outcome ~ treatment + month + trt_month + (1 | patient)"
#: lme4's toenail estimates (nAGQ = 30, tests/reference/reference.json)
TOENAIL_ML = lme4_estimates("toenail_logit")
#: share agreement: both sides converge their modes to ~1e-9, the curvature is then exact
SHARE_TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def toenail() -> glpp.Model:
    return glpp.Model(TOENAIL, data=pd.read_csv(DATA / "toenail.csv"), family="binomial")


def _toenail_share_numpy(model: glpp.Model) -> float:
    """Mean over patients of 1 / (1 + sd^2 sum_r p_r (1 - p_r)) at each patient's mode of
    ``sum_r log f(y_r | x_r beta + sd u) - u^2 / 2`` (bisection on the score, which decreases
    in u: the log-posterior is concave; vectorised over patients)."""
    design = model.design
    beta = np.array([TOENAIL_ML[f"beta[{name}]"] for name in design.fixed_names])
    sd = TOENAIL_ML["sd[patient]"]
    cluster = design.levels[0].cluster_index
    n_clusters = design.levels[0].n_clusters
    fixed, y = design.fixed @ beta, design.response

    def probability(u: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(fixed + sd * u[cluster])))

    lower, upper = np.full(n_clusters, -50.0), np.full(n_clusters, 50.0)
    for _ in range(200):
        middle = 0.5 * (lower + upper)
        score = sd * np.bincount(cluster, y - probability(middle), n_clusters) - middle
        lower, upper = np.where(score > 0, middle, lower), np.where(score > 0, upper, middle)
    p = probability(0.5 * (lower + upper))
    return float(np.mean(1.0 / (sd**2 * np.bincount(cluster, p * (1.0 - p), n_clusters) + 1.0)))


def test_toenail_share_is_the_numpy_laplace_share(toenail):
    """Seven binary visits per patient and sd 4: share 0.26, above the threshold (NUTS mixed
    better non-centred there), so non-centred."""
    theta = toenail.layout.theta_from_named(TOENAIL_ML)
    share = posterior_variance_share(toenail, theta)["patient"]
    assert share == pytest.approx(_toenail_share_numpy(toenail), abs=SHARE_TOLERANCE)
    assert share > CENTRED_BELOW_SHARE
    assert choose_parameterization(toenail, TOENAIL_ML) == {"patient": "noncentered"}


def _gaussian_pairs(sd: float, sigma: float, n_clusters: int = 60, seed: int = 4) -> pd.DataFrame:
    """Two rows per cluster of a gaussian random intercept."""
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(n_clusters), 2)
    y = 1.0 + sd * rng.standard_normal(n_clusters)[group] + sigma * rng.standard_normal(group.size)
    return pd.DataFrame({"y": y, "g": group})


@pytest.mark.parametrize(("sd", "expected"), [(0.3, "noncentered"), (3.0, "centered")])
def test_gaussian_share_is_the_closed_form(sd, expected):
    """Two rows per cluster, sigma 1: share 1 / (1 + 2 sd^2), non-centred for a small SD (0.85)
    and centred for a large one (0.053)."""
    model = glpp.Model("y ~ 1 + (1 | g)", data=_gaussian_pairs(sd, 1.0), family="gaussian")
    params = {"beta[(Intercept)]": 1.0, "sd[g]": sd, "sigma": 1.0}
    share = posterior_variance_share(model, model.layout.theta_from_named(params))["g"]
    assert share == pytest.approx(1.0 / (1.0 + 2.0 * sd**2), abs=SHARE_TOLERANCE)
    assert choose_parameterization(model, params) == {"g": expected}


def test_no_pilot_estimate_is_noncentred(toenail):
    assert choose_parameterization(toenail, None) == {"patient": "noncentered"}


def test_override_names_level_and_choice(toenail):
    assert check_parameterization(toenail, "centered") == {"patient": "centered"}
    assert check_parameterization(toenail, {}) == {"patient": "auto"}
    with pytest.raises(glpp.SpecError, match=r"unknown level.*'school'.*\['patient'\]"):
        check_parameterization(toenail, {"school": "centered"})
    with pytest.raises(glpp.SpecError, match=r"'patient'.*'centred'.*'noncentered'"):
        check_parameterization(toenail, "centred")


def test_centred_and_noncentred_likelihoods_agree(toenail):
    """The responses' log-density of the centred model at effects b equals the non-centred
    model's at z = b / sd; the centred model samples b[patient] itself."""
    models = {
        choice: bayes.build_pymc_model(toenail, "latent", parameterization=choice)
        for choice in ("centered", "noncentered")
    }
    assert "b[patient]" in {rv.name for rv in models["centered"].free_RVs}
    assert "z[patient]" not in models["centered"].named_vars
    assert models["centered"].glpp_parameterization == {"patient": "centered"}
    rng = np.random.default_rng(0)
    effects = TOENAIL_ML["sd[patient]"] * rng.standard_normal((toenail.design.levels[0].n_clusters, 1))
    values = {"centered": {"b[patient]": effects}, "noncentered": {"z[patient]": effects / TOENAIL_ML["sd[patient]"]}}
    logps = {}
    for choice, pm_model in models.items():
        point = pm_model.initial_point()
        point["sd[patient]_log__"] = np.log(TOENAIL_ML["sd[patient]"])
        for name in toenail.layout.fixed_names:
            point[name] = np.asarray(TOENAIL_ML[name])
        point.update(values[choice])
        observed = pm_model.observed_RVs[0]
        logps[choice] = pm_model.compile_fn(pm_model.logp(vars=[observed]), mode=COMPILE_MODE)(point)
    assert logps["centered"] == pytest.approx(logps["noncentered"], abs=1e-8)


def test_four_chains_by_default_on_parallel_processes():
    for function in (glpp.Model.sample, bayes.sample):
        assert inspect.signature(function).parameters["chains"].default == 4, function
    assert default_cores(4) == min(4, os.cpu_count() or 1)
    assert default_cores(1) == 1
    assert default_cores(8) <= 4
