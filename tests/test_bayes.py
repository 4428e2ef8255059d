"""Bayesian models (glpp.bayes): latent and marginal PyMC models, MAP, NUTS.

Fast tests check the graphs against the ML quadrature and the family
definitions at fixed points; the NUTS comparisons are marked slow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr
from scipy import stats

import glpp
from tests.lme4_estimates import lme4_estimates
from tests.pymc_points import assert_gradient_exact, point_at as _point
from glpp import bayes
from glpp.likelihood.two_level import COMPILE_MODE

DATA = Path(__file__).resolve().parents[1] / "model_library" / "data"
TOENAIL = "outcome ~ treatment + month + trt_month + (1 | patient)"
#: lme4's toenail estimates (nAGQ = 30, tests/reference/reference.json)
TOENAIL_ML = lme4_estimates("toenail_logit")
#: log-density agreement of two evaluations of the same graph (float64 sums of ~2000 terms)
LOGP_TOLERANCE = 1e-8
#: MAP vs ML: the priors are weak but not flat and the marginal kind uses 15 points
MAP_TOLERANCE = {"beta": 0.05, "sd": 0.1}


@pytest.fixture(scope="module")
def toenail() -> glpp.Model:
    return glpp.Model(TOENAIL, data=pd.read_csv(DATA / "toenail.csv"), family="binomial")


@pytest.fixture(scope="module")
def toenail_theta(toenail) -> np.ndarray:
    layout = toenail.layout
    beta = np.array([TOENAIL_ML[name] for name in layout.fixed_names])
    return layout.theta_from_natural(beta, [np.array([[TOENAIL_ML["sd[patient]"] ** 2]])], None)


# ------------------------------------------------------------------ priors
def test_priors_by_name_and_type(toenail):
    resolved = bayes.resolve_priors(toenail, {"sd[patient]": pm.HalfNormal.dist(2.0), "beta": pm.Normal.dist(0, 3)})
    assert pm.logp(resolved["sd[patient]"], 1.0).eval() == pytest.approx(stats.halfnorm(scale=2).logpdf(1.0))
    assert pm.logp(resolved["beta[month]"], 1.0).eval() == pytest.approx(stats.norm(0, 3).logpdf(1.0))


def test_prior_by_type_gives_each_parameter_its_own_variable(toenail):
    """One distribution set for a parameter type serves every parameter of that type as
    separate variables (they used to share a random generator and be merged)."""
    pm_model = toenail.pymc_model(kind="marginal", priors={"beta": pm.Normal.dist(0.0, 100.0)})
    betas = [pm_model[name] for name in toenail.layout.fixed_names]
    assert len({rv.owner for rv in betas}) == len(betas)
    point = _point(pm_model, TOENAIL_ML)
    logp = _compile_at(pm_model, pm_model.logp(vars=betas), point)
    expected = sum(stats.norm(0, 100).logpdf(TOENAIL_ML[name]) for name in toenail.layout.fixed_names)
    assert logp == pytest.approx(expected, rel=1e-6)  # PyMC keeps 100.0 as a float32 constant


def test_unknown_prior_name_lists_choices(toenail):
    with pytest.raises(glpp.SpecError, match="sd\\[patient\\]"):
        bayes.resolve_priors(toenail, {"sd[subject]": pm.HalfNormal.dist(1.0)})


def test_prior_must_be_a_distribution(toenail):
    with pytest.raises(glpp.SpecError, match=".dist"):
        bayes.resolve_priors(toenail, {"sd[patient]": 5.0})


# ------------------------------------------------------------ the models
@pytest.mark.parametrize("kind", ["latent", "marginal"])
def test_variable_names_are_ml_names(toenail, kind):
    pm_model = toenail.pymc_model(kind=kind)
    names = {rv.name for rv in pm_model.free_RVs}
    assert set(toenail.layout.natural_names) <= names
    if kind == "latent":
        assert "z[patient]" in names and "b[patient]" in pm_model.named_vars
    else:
        assert names == set(toenail.layout.natural_names)


def test_latent_likelihood_is_the_family_density(toenail):
    """At z = 0 the latent model's likelihood is the GLM's (checked with scipy)."""
    pm_model = toenail.pymc_model(kind="latent")
    point = _point(pm_model, TOENAIL_ML)
    point["z[patient]"] = np.zeros_like(point["z[patient]"])
    observed = pm_model.observed_RVs[0]
    logp = pm_model.compile_fn(pm_model.logp(vars=[observed]), mode=COMPILE_MODE)(point)
    design = toenail.design
    beta = np.array([TOENAIL_ML[f"beta[{name}]"] for name in design.fixed_names])
    probability = 1.0 / (1.0 + np.exp(-(design.fixed @ beta)))
    expected = stats.binom.logpmf(design.response, 1, probability).sum()
    assert logp == pytest.approx(expected, abs=1e-8)


def test_marginal_potential_is_the_quadrature_loglik(toenail, toenail_theta):
    pm_model = toenail.pymc_model(kind="marginal")
    point = _point(pm_model, TOENAIL_ML)
    potential_graph = pm_model.replace_rvs_by_values([pm_model.potentials[0]])[0]
    potential = pm_model.compile_fn(potential_graph, mode=COMPILE_MODE)(point)
    per_cluster, _ = bayes.cluster_loglik_draws(toenail, toenail_theta[None, :], nip=bayes.DEFAULT_NIP)
    assert potential == pytest.approx(per_cluster.sum(), abs=LOGP_TOLERANCE)
    # the ML quadrature at 15 adaptive points is within 0.2 of the exact -625.3975
    assert potential == pytest.approx(-625.3975, abs=0.25)


def test_marginal_kind_through_the_ml_objective(toenail, toenail_theta):
    """``marginal_likelihood="objective"``: the same log-likelihood as the in-graph quadrature
    (both adaptive, 15 points) and an exact gradient."""
    pm_model = bayes.build_pymc_model(toenail, "marginal", nip=bayes.DEFAULT_NIP, marginal_likelihood="objective")
    point = _point(pm_model, TOENAIL_ML)
    potential_graph = pm_model.replace_rvs_by_values([pm_model.potentials[0]])[0]
    potential = pm_model.compile_fn(potential_graph, mode=COMPILE_MODE)(point)
    per_cluster, _ = bayes.cluster_loglik_draws(toenail, toenail_theta[None, :], nip=bayes.DEFAULT_NIP)
    assert potential == pytest.approx(per_cluster.sum(), abs=1e-6)
    assert_gradient_exact(pm_model, point)


def test_marginal_gradient_is_exact(toenail):
    """NUTS gradient of the marginal kind vs central differences of its log-density."""
    pm_model = toenail.pymc_model(kind="marginal")
    assert_gradient_exact(pm_model, _point(pm_model, TOENAIL_ML))


def test_map_is_near_ml(toenail):
    estimate = bayes.map_estimate(toenail)
    assert list(estimate.index) == list(toenail.layout.natural_names)
    for name, ml in TOENAIL_ML.items():
        assert estimate[name] == pytest.approx(ml, abs=MAP_TOLERANCE[name.split("[")[0]])


def test_map_fit_is_pymc_find_map_of_the_marginal_model(toenail):
    """fit(method="map") (the ML stages plus the priors) and pm.find_MAP on the PyMC model agree."""
    fit = toenail.fit(method="map", nip=11)
    estimate = bayes.map_estimate(toenail, nip=11)
    np.testing.assert_allclose(fit.params[estimate.index], estimate, rtol=2e-3, atol=2e-3)
    idata = toenail.sample(kind="marginal", draws=5, tune=5, chains=1, random_seed=3, init=fit)
    assert idata["posterior"].attrs["glpp_init"] == "adapt_diag"


def test_sample_returns_datatree_with_cluster_loglik(toenail, tmp_path):
    # with the defaults' progress bar (PyMC's needs matplotlib: a glpp dependency)
    idata = toenail.sample(kind="marginal", draws=15, tune=15, chains=1, random_seed=3)
    # written and read back by netCDF (the h5netcdf backend, a glpp dependency)
    idata.to_netcdf(tmp_path / "toenail.nc")
    written = xr.open_datatree(tmp_path / "toenail.nc")
    assert set(written.children) == set(idata.children)
    np.testing.assert_array_equal(written["posterior"]["b[patient]"], idata["posterior"]["b[patient]"])
    for group in ("posterior", "sample_stats", "observed_data", "log_likelihood"):
        assert group in idata.children
    log_likelihood = idata["log_likelihood"]["outcome"]
    assert log_likelihood.dims == ("chain", "draw", "patient")
    assert log_likelihood.shape == (1, 15, 294)
    effects = idata["posterior"]["b[patient]"]
    assert effects.shape == (1, 15, 294, 1)
    assert np.all(np.isfinite(log_likelihood.values)) and np.all(np.isfinite(effects.values))
    for name in TOENAIL_ML:
        assert name in idata["posterior"]


def test_marginal_logp_does_not_depend_on_the_warm_start(toenail):
    """The modes start from earlier evaluations; the density (and gradient) must not
    depend on which: same point after a far jump, and after a cold start."""
    pm_model = toenail.pymc_model(kind="marginal")
    function = pm_model.logp_dlogp_function(mode=bayes.compile_mode(), ravel_inputs=True)
    function.set_extra_values({})
    point = _point(pm_model, TOENAIL_ML)
    x = np.concatenate([np.atleast_1d(point[v.name]).ravel() for v in pm_model.value_vars])
    first = function(x)
    far = x + np.array([1.0, -1.0, 0.2, 0.2, -1.5])  # sd[patient] / 4.5, intercept +1, ...
    function(far)
    again = function(x)
    cold = pm_model.logp_dlogp_function(mode=bayes.compile_mode(), ravel_inputs=True)
    cold.set_extra_values({})
    np.testing.assert_allclose(again[0], first[0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(again[1], first[1], rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(cold(x)[0], first[0], rtol=0, atol=1e-9)


def test_choose_nip():
    """Toenail needs 21 adaptive points (15 err by 0.2 in the log-likelihood); a gaussian
    model 1 (exact)."""
    model = glpp.Model(TOENAIL, data=pd.read_csv(DATA / "toenail.csv"), family="binomial")
    assert bayes.choose_nip(model) == 21
    cfa = glpp.Model(CFA, data=pd.read_csv(DATA / "holzinger.csv"), family="gaussian")
    assert bayes.choose_nip(cfa) == 1


def test_laplace_start_is_the_mode(toenail):
    """The Laplace start: zero gradient, a positive definite covariance, and the
    parameters near the ML estimates."""
    pm_model = toenail.pymc_model(kind="marginal")
    function = pm_model.logp_dlogp_function(mode=bayes.compile_mode(), ravel_inputs=True)
    function.set_extra_values({})
    start = bayes.laplace_start(pm_model, function)
    assert start is not None and start.names == [v.name for v in pm_model.value_vars]
    assert np.max(np.abs(function(start.mode)[1])) < 1e-3
    assert np.linalg.eigvalsh(start.covariance).min() > 0
    point = start.point(start.mode)
    assert np.exp(point["sd[patient]_log__"]) == pytest.approx(TOENAIL_ML["sd[patient]"], abs=0.3)
    assert point["beta[month]"] == pytest.approx(TOENAIL_ML["beta[month]"], abs=0.02)


# ------------------------------------------------------------------- NUTS
def _report(label: str, idata, summary: pd.DataFrame) -> None:
    """One line of sampling diagnostics (shown with ``pytest -rP``)."""
    attrs = idata["posterior"].attrs
    print(
        f"{label}: divergences {int(idata['sample_stats']['diverging'].sum())}, "
        f"max R-hat {summary['r_hat'].astype(float).max():.4f}, "
        f"min bulk ESS {summary['ess_bulk'].astype(float).min():.0f}, "
        f"NUTS {float(attrs['sampling_time']):.0f} s, nip {attrs.get('glpp_nip')}, init {attrs.get('glpp_init')}"
    )


#: NUTS settings of the toenail comparison: none, the defaults of Model.sample (4 chains of
#: 1000 draws after 1000 tuning steps; the latent kind's patients non-centred by the rule)
TOENAIL_NUTS: dict = {}


@pytest.fixture(scope="module")
def toenail_posteriors(toenail):
    return {
        kind: toenail.sample(kind=kind, **TOENAIL_NUTS, random_seed=1, progressbar=False)
        for kind in ("latent", "marginal")
    }


def _summaries(posteriors: dict, names: list[str]) -> dict:
    import arviz as az

    return {kind: az.summary(idata, var_names=names, kind="all") for kind, idata in posteriors.items()}


@pytest.mark.slow
def test_latent_and_marginal_posteriors_agree(toenail_posteriors):
    """Both kinds with the defaults (4 chains, seed 1; issue 14: 2 chains gave the latent kind
    R-hat 1.012): zero divergences, R-hat <= 1.01, and every posterior mean within 3 Monte
    Carlo SEs (of the difference) of the other kind's."""
    summaries = _summaries(toenail_posteriors, list(TOENAIL_ML))
    latent, marginal = summaries["latent"], summaries["marginal"]
    assert toenail_posteriors["latent"]["posterior"].attrs["glpp_parameterization"] == "patient: noncentered"
    for kind, idata in toenail_posteriors.items():
        assert idata["posterior"].sizes["chain"] == 4, kind
        _report(f"toenail {kind}", idata, summaries[kind])
        assert int(idata["sample_stats"]["diverging"].sum()) == 0, kind
        assert summaries[kind]["r_hat"].astype(float).max() <= 1.01, (kind, summaries[kind])
    standard_error = np.sqrt(latent["mcse_mean"].astype(float) ** 2 + marginal["mcse_mean"].astype(float) ** 2)
    difference = np.abs(latent["mean"].astype(float) - marginal["mean"].astype(float))
    print((difference / standard_error).round(2).to_dict())
    assert np.all(difference <= 3 * standard_error), pd.DataFrame({"difference": difference, "se": standard_error})


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["latent", "marginal"])
def test_nutpie_samples_both_kinds(toenail, toenail_posteriors, kind):
    """``nuts_sampler="nutpie"`` (a test dependency; the marginal kind's mode-search Ops run
    in numba's object mode): no divergences, and posterior means within 5 Monte Carlo SEs
    (of the difference) of PyMC's NUTS with the same kind."""
    idata = toenail.sample(kind=kind, draws=500, tune=500, chains=2, random_seed=13, nuts_sampler="nutpie", progressbar=False)
    assert idata["log_likelihood"]["outcome"].shape == (2, 500, 294)
    assert int(idata["sample_stats"]["diverging"].sum()) == 0
    summaries = _summaries({"nutpie": idata, "pymc": toenail_posteriors[kind]}, list(TOENAIL_ML))
    nutpie, pymc_nuts = summaries["nutpie"], summaries["pymc"]
    standard_error = np.sqrt(nutpie["mcse_mean"].astype(float) ** 2 + pymc_nuts["mcse_mean"].astype(float) ** 2)
    difference = np.abs(nutpie["mean"].astype(float) - pymc_nuts["mean"].astype(float))
    assert np.all(difference <= 5 * standard_error), pd.DataFrame({"difference": difference, "se": standard_error})


#: flat-ish priors: wide normals on the coefficients, a wide half-normal on the SD
FLAT_PRIORS = {"beta": pm.Normal.dist(0.0, 100.0), "sd": pm.HalfNormal.dist(100.0)}


@pytest.mark.slow
def test_flat_prior_posterior_means_are_near_ml(toenail):
    """With flat-ish priors the marginal posterior means are the ML estimates up to the
    posterior's skewness: within half a posterior SD (beta), one for sd[patient] whose
    posterior is right-skewed (mean above the mode)."""
    idata = toenail.sample(kind="marginal", **TOENAIL_NUTS, priors=FLAT_PRIORS, random_seed=12, progressbar=False)
    summary = _summaries({"marginal": idata}, list(TOENAIL_ML))["marginal"]
    _report("toenail marginal, flat-ish priors", idata, summary)
    assert int(idata["sample_stats"]["diverging"].sum()) == 0
    assert summary["r_hat"].astype(float).max() <= 1.01
    for name, ml in TOENAIL_ML.items():
        mean, sd = float(summary.loc[name, "mean"]), float(summary.loc[name, "sd"])
        assert abs(mean - ml) <= (0.5 if name.startswith("beta") else 1.0) * sd, (name, mean, sd, ml)


@pytest.mark.slow
def test_marginal_latents_match_latent_kind(toenail_posteriors):
    means = {
        kind: idata["posterior"]["b[patient]"].mean(("chain", "draw")).values[:, 0]
        for kind, idata in toenail_posteriors.items()
    }
    assert np.corrcoef(means["latent"], means["marginal"])[0, 1] > 0.99
    np.testing.assert_allclose(means["latent"], means["marginal"], atol=0.5)


@pytest.mark.slow
def test_loo_is_leave_one_cluster_out(toenail_posteriors):
    import arviz as az

    result = az.loo(toenail_posteriors["marginal"], pointwise=True)
    pareto_k = np.asarray(result.pareto_k)
    assert pareto_k.shape == (294,)
    assert np.mean(pareto_k < 0.7) > 0.95


@pytest.mark.slow
def test_compare_ranks_random_slopes_first():
    import arviz as az

    data = pd.read_csv(DATA / "sleepstudy.csv")
    idatas = {
        name: glpp.Model(formula, data=data, family="gaussian").sample(
            kind="marginal", draws=500, tune=500, chains=2, random_seed=5, progressbar=False
        )
        for name, formula in {
            "slopes": "reaction ~ days + (days | subject)",
            "intercepts": "reaction ~ days + (1 | subject)",
        }.items()
    }
    comparison = az.compare(idatas)
    assert comparison.index[0] == "slopes"


# ------------------------------------------------- factor and IRT models
CFA = "visual =~ x1 + x2 + x3"
#: the Holzinger-Swineford three-factor CFA (correlated factors)
CFA3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
TWO_PL = "F =~ i1 + i2 + i3 + i4 + i5 + i6"
#: posterior means vs ML: the loadings' posteriors are skewed (a 3-item factor is just
#: identified), so the mean may sit up to this many posterior SDs from the ML estimate
FACTOR_MEAN_TOLERANCE_SD = 1.0
#: NUTS settings of the factor-model checks (R-hat <= 1.01 needs a few hundred effective draws;
#: the latent kind of the three-factor CFA, 903 latents, reached R-hat 1.013 with 1500 draws)
FACTOR_NUTS = {"draws": 1500, "tune": 1000, "chains": 2}
FACTOR_DRAWS = {"latent": 3000, "marginal": 1500}


@pytest.fixture(scope="module")
def cfa() -> glpp.Model:
    return glpp.Model(CFA, data=pd.read_csv(DATA / "holzinger.csv"), family="gaussian")


@pytest.fixture(scope="module")
def two_pl() -> glpp.Model:
    return glpp.Model(TWO_PL, data=pd.read_csv(DATA / "verbagg_wide.csv"), family="binomial")


@pytest.fixture(scope="module")
def factor_fits(cfa, two_pl):
    return {"cfa": (cfa, cfa.fit()), "2pl": (two_pl, two_pl.fit())}


def _compile_at(pm_model: pm.Model, output, point):
    graph = pm_model.replace_rvs_by_values([output])[0]
    function = pm_model.compile_fn(graph, inputs=pm_model.value_vars, on_unused_input="ignore", mode=COMPILE_MODE)
    return function(point)


@pytest.mark.parametrize("name", ["cfa", "2pl"])
@pytest.mark.parametrize("kind", ["latent", "marginal"])
def test_factor_model_variables_and_theta(factor_fits, name, kind):
    """Loadings, SDs and item dispersions are PyMC variables under their ML names, and map
    back to the ML theta exactly."""
    model, fit = factor_fits[name]
    pm_model = model.pymc_model(kind=kind)
    assert set(model.layout.natural_names) <= {rv.name for rv in pm_model.free_RVs}
    point = _point(pm_model, dict(fit.params))
    theta = _compile_at(pm_model, pm_model.glpp_theta, point)
    np.testing.assert_allclose(theta, model.layout.theta_from_named(dict(fit.params)), atol=1e-12)


def test_factor_marginal_potential_is_the_ml_loglik(factor_fits):
    """Gaussian CFA: one adaptive point is exact, so the potential is the ML log-likelihood."""
    model, fit = factor_fits["cfa"]
    pm_model = model.pymc_model(kind="marginal")
    potential = _compile_at(pm_model, pm_model.potentials[0], _point(pm_model, dict(fit.params)))
    assert potential == pytest.approx(fit.loglik, abs=LOGP_TOLERANCE)


def test_jointly_normal_marginal_kind_is_the_exact_normal_model(factor_fits):
    """Gaussian CFA (jointly normal items: the marginal kind evaluates the ML fit's exact
    likelihood): each unit's stored log-likelihood is its multivariate normal density, and the
    factor draws follow the normal posterior, both written out here with numpy and scipy."""
    model, fit = factor_fits["cfa"]
    params = fit.params
    theta = model.layout.theta_from_named(dict(params))
    repeats = 2000
    loglik, effects = bayes.cluster_loglik_draws(model, np.tile(theta, (repeats, 1)), nip=1, latents=True, rng=3)
    data = pd.read_csv(DATA / "holzinger.csv")
    items = ["x1", "x2", "x3"]
    y = data[items].to_numpy() - np.array([params[f"nu[{item}]"] for item in items])
    loading = np.array([1.0, params["lambda[visual,x2]"], params["lambda[visual,x3]"]])
    residual = np.array([params[f"sigma[{item}]"] ** 2 for item in items])
    variance = params["sd[visual]"] ** 2
    covariance = variance * np.outer(loading, loading) + np.diag(residual)
    np.testing.assert_allclose(loglik[0], stats.multivariate_normal(np.zeros(3), covariance).logpdf(y), atol=1e-8)
    posterior_variance = 1.0 / (1.0 / variance + np.sum(loading**2 / residual))
    posterior_mean = posterior_variance * (y @ (loading / residual))
    draws = effects[:, :, 0]
    standard_error = np.sqrt(posterior_variance / repeats)
    assert np.max(np.abs(draws.mean(axis=0) - posterior_mean) / standard_error) < 5.0
    assert draws.std(axis=0).mean() == pytest.approx(np.sqrt(posterior_variance), rel=0.02)


def test_factor_latent_likelihood_is_the_family_density(factor_fits):
    """CFA latent kind at fixed latents: item-specific sigmas and loadings, checked with scipy."""
    model, fit = factor_fits["cfa"]
    pm_model = model.pymc_model(kind="latent")
    point = _point(pm_model, dict(fit.params))
    rng = np.random.default_rng(0)
    standard = rng.standard_normal(point["z[unit]"].shape)
    point["z[unit]"] = standard
    logp = _compile_at(pm_model, pm_model.logp(vars=[pm_model.observed_RVs[0]], sum=True), point)
    data = pd.read_csv(DATA / "holzinger.csv")
    params = fit.params
    factor = params["sd[visual]"] * standard[:, 0]
    expected = 0.0
    for item, loading in (("x1", 1.0), ("x2", params["lambda[visual,x2]"]), ("x3", params["lambda[visual,x3]"])):
        mean = params[f"nu[{item}]"] + loading * factor
        expected += stats.norm(mean, params[f"sigma[{item}]"]).logpdf(data[item].to_numpy()).sum()
    assert logp == pytest.approx(expected, abs=1e-6)


def test_std_lv_first_loading_is_positive():
    """With unit-variance latents all loadings are free: the first one's prior is positive
    (HalfNormal), which identifies the sign."""
    model = glpp.Model(CFA, data=pd.read_csv(DATA / "holzinger.csv"), family="gaussian", std_lv=True)
    priors = bayes.default_priors(model)
    assert "sd[visual]" not in priors
    assert pm.logp(priors["lambda[visual,x1]"], -0.1).eval() == -np.inf
    assert np.isfinite(pm.logp(priors["lambda[visual,x2]"], -0.1).eval())
    pm_model = model.pymc_model(kind="latent")
    assert pm_model.rvs_to_transforms[pm_model["lambda[visual,x1]"]] is not None


@pytest.fixture(scope="module")
def sampled_factor_models() -> dict:
    """The models of the sampling checks and their ML fits: the three-factor CFA and the 2PL."""
    cfa3 = glpp.Model(CFA3, data=pd.read_csv(DATA / "holzinger.csv"), family="gaussian")
    two_pl = glpp.Model(TWO_PL, data=pd.read_csv(DATA / "verbagg_wide.csv"), family="binomial")
    return {"cfa3": (cfa3, cfa3.fit()), "2pl": (two_pl, two_pl.fit())}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cfa3", "2pl"])
@pytest.mark.parametrize("kind", ["latent", "marginal"])
def test_factor_models_sample(sampled_factor_models, name, kind):
    """A CFA (three correlated factors) and a 2PL sample with both kinds: converged, no
    divergences, loadings near the ML estimates and positive in every chain (no sign or
    label switching)."""
    import arviz as az

    model, fit = sampled_factor_models[name]
    settings = {**FACTOR_NUTS, "draws": FACTOR_DRAWS[kind]}
    idata = model.sample(kind=kind, **settings, random_seed=21, progressbar=False)
    names = list(model.layout.natural_names)
    summary = az.summary(idata, var_names=names, kind="all")
    _report(f"{name} {kind}", idata, summary)
    assert int(idata["sample_stats"]["diverging"].sum()) == 0
    assert summary["r_hat"].astype(float).max() <= 1.01, summary
    for loading in model.layout.loading_parameters:
        ml = fit.params[loading]
        mean, sd = float(summary.loc[loading, "mean"]), float(summary.loc[loading, "sd"])
        assert abs(mean - ml) <= FACTOR_MEAN_TOLERANCE_SD * sd, (loading, mean, sd, ml)
        assert ml > 0
        chain_means = idata["posterior"][loading].mean("draw").values
        assert np.all(chain_means > 0), (loading, chain_means)
