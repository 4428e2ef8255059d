"""Bayesian models with latents at two levels (three-level models): the latent kind's density
against scipy at random latents, the marginal kind's against the exact multivariate normal
likelihood computed here with numpy; sampling both kinds is slow-marked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import glpp
from glpp import bayes
from glpp.likelihood.two_level import COMPILE_MODE
from tests.pymc_points import assert_gradient_exact, point_at

FORMULA = "y ~ x + (1 | school/pupil)"
TRUTH = {"beta[(Intercept)]": 0.5, "beta[x]": -0.8, "sd[school:pupil]": 0.7, "sd[school]": 0.9, "sigma": 0.6}


@pytest.fixture(scope="module")
def three_levels() -> glpp.Model:
    """20 schools x 5 pupils x 3 measurements, rows shuffled (data order is not cluster order)."""
    rng = np.random.default_rng(11)
    school = np.repeat(np.arange(20), 15)
    pupil = np.tile(np.repeat(np.arange(5), 3), 20)
    x = rng.normal(size=school.size)
    school_effect = rng.normal(0.0, TRUTH["sd[school]"], 20)[school]
    pupil_effect = rng.normal(0.0, TRUTH["sd[school:pupil]"], 100)[school * 5 + pupil]
    y = 0.5 - 0.8 * x + school_effect + pupil_effect + rng.normal(0.0, TRUTH["sigma"], school.size)
    data = pd.DataFrame({"y": y, "x": x, "school": school, "pupil": pupil}).sample(frac=1.0, random_state=3)
    return glpp.Model(FORMULA, data=data.reset_index(drop=True))


def _effects_by_row(model: glpp.Model, effects: dict[str, np.ndarray]) -> np.ndarray:
    """Each row's sum of its clusters' effects (one value per cluster of each level, design order)."""
    return sum(effects[level.name][level.cluster_index] for level in model.design.levels)


@pytest.mark.parametrize("parameterization", ["noncentered", "centered"])
def test_latent_kind_is_the_normal_density_given_both_levels(three_levels, parameterization):
    model = three_levels
    pm_model = bayes.build_pymc_model(model, "latent", parameterization=parameterization)
    point = point_at(pm_model, TRUTH)
    rng = np.random.default_rng(5)
    effects = {}
    for level in model.design.levels:
        standard = rng.normal(size=(level.n_clusters, 1))
        effects[level.name] = TRUTH[f"sd[{level.name}]"] * standard[:, 0]
        if parameterization == "noncentered":
            point[f"z[{level.name}]"] = standard
        else:
            point[f"b[{level.name}]"] = effects[level.name][:, None]
    observed = pm_model.observed_RVs[0]
    logp = pm_model.compile_fn(pm_model.logp(vars=[observed]), mode=COMPILE_MODE)(point)
    design = model.design
    mean = design.fixed @ np.array([TRUTH["beta[(Intercept)]"], TRUTH["beta[x]"]]) + _effects_by_row(model, effects)
    expected = stats.norm.logpdf(design.response, mean, TRUTH["sigma"]).sum()
    assert logp == pytest.approx(expected, abs=1e-8)


def _exact_loglik(model: glpp.Model, natural: dict[str, float]) -> np.ndarray:
    """Each school's multivariate normal log-likelihood, written out with numpy and scipy."""
    design = model.design
    pupils, schools = design.levels
    mean = design.fixed @ np.array([natural["beta[(Intercept)]"], natural["beta[x]"]])
    school_of_row = schools.cluster_index
    pupil_of_row = pupils.cluster_index
    result = []
    for school in range(schools.n_clusters):
        rows = np.flatnonzero(school_of_row == school)
        same_pupil = pupil_of_row[rows][:, None] == pupil_of_row[rows][None, :]
        covariance = (
            natural["sd[school]"] ** 2
            + natural["sd[school:pupil]"] ** 2 * same_pupil
            + natural["sigma"] ** 2 * np.eye(rows.size)
        )
        result.append(stats.multivariate_normal.logpdf(design.response[rows], mean[rows], covariance))
    return np.array(result)


def test_marginal_kind_is_the_exact_three_level_likelihood(three_levels):
    pm_model = three_levels.pymc_model(kind="marginal")
    point = point_at(pm_model, TRUTH)
    potential_graph = pm_model.replace_rvs_by_values([pm_model.potentials[0]])[0]
    potential = pm_model.compile_fn(potential_graph, mode=COMPILE_MODE)(point)
    per_school = _exact_loglik(three_levels, TRUTH)
    assert potential == pytest.approx(per_school.sum(), abs=1e-8)
    theta = three_levels.layout.theta_from_named(TRUTH)
    stored, effects = bayes.cluster_loglik_draws(three_levels, theta[None, :], nip=1)
    np.testing.assert_allclose(stored[0], per_school, atol=1e-8)
    assert effects is None


def test_marginal_kind_gradient_is_exact(three_levels):
    pm_model = three_levels.pymc_model(kind="marginal")
    assert_gradient_exact(pm_model, point_at(pm_model, TRUTH))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["marginal", "latent"])
def test_sampling_three_levels_agrees_with_ml(three_levels, kind):
    """Both kinds sample; the posterior means lie within 3 posterior SDs of the ML estimates
    (weak priors, 20 schools) and the log-likelihoods are stored per school."""
    fit = three_levels.fit()
    posterior = three_levels.sample(kind=kind, draws=300, tune=300, chains=2, random_seed=1, progressbar=False)
    assert dict(posterior["log_likelihood"].sizes) == {"chain": 2, "draw": 300, "school": 20}
    if kind == "latent":
        assert {"b[school]", "b[school:pupil]"} <= set(posterior["posterior"].data_vars)
    for name, estimate in fit.params.items():
        draws = posterior["posterior"][name].to_numpy().ravel()
        assert abs(draws.mean() - estimate) < 3 * draws.std(), name
    assert int(posterior["sample_stats"]["diverging"].sum()) == 0


def test_loading_priors_of_factors_at_two_levels():
    """A two-level factor model (factors of units and of clusters): every free loading gets
    the loading prior of its own level's factor (lambda centred at the reference item's 1)."""
    import model_library

    model = model_library.load("demo_twolevel")
    priors = bayes.default_priors(model)
    loadings = list(model.layout.loading_parameters)
    assert any("fw" in name for name in loadings) and any("fb" in name for name in loadings)
    for name in loadings:
        assert priors[name].owner.op.name == "normal", name
        assert float(priors[name].owner.inputs[-2].eval()) == 1.0, name
