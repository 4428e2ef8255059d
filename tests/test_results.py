"""What a result reports: information criteria, tables, the notebook summary, robust SEs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import glpp

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "model_library" / "data"
REFERENCE = ROOT / "tests" / "reference"
CFA3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
TOENAIL = "outcome ~ treatment + month + trt_month + (1 | patient)"


@pytest.fixture(scope="module")
def cfa():
    return glpp.Model(CFA3, pd.read_csv(DATA / "holzinger.csv")).fit()


def test_information_criteria_count_units_as_lavaan(cfa):
    lavaan = json.loads((REFERENCE / "lavaan_bic.json").read_text())["holzinger_cfa3"]
    assert cfa.n_units == lavaan["n"] == 301 and cfa.n_obs == 2709
    assert cfa.aic == pytest.approx(lavaan["aic"], abs=1e-3)
    assert cfa.bic == pytest.approx(lavaan["bic"], abs=1e-3)
    assert "Number of obs: 2709 rows of 301 units" in cfa.summary()


def test_tables_cover_every_parameter(cfa):
    table = cfa.to_dataframe()
    assert list(table.index) == list(cfa.params.index)
    assert set(table["kind"]) == {"fixed", "sd", "cor", "loading", "aux"}
    np.testing.assert_allclose(table["Std. Error"], cfa.se)
    assert cfa.vcov().equals(cfa.covariance)
    assert cfa.vcov("optimised").shape == (30, 30)
    with pytest.raises(ValueError, match="'natural' or 'optimised'"):
        cfa.vcov("log")
    variance = cfa.coefficient_table("sd")
    assert list(variance.index) == ["visual", "textual", "speed"] and (variance["Std. Error"] > 0).all()


def test_to_dataframe_is_the_full_wald_table(cfa):
    table = cfa.to_dataframe()
    assert list(table.columns) == ["kind", "Estimate", "Std. Error", "z value", "Pr(>|z|)", "2.5 %", "97.5 %"]
    assert table["kind"].to_dict() == cfa.parameter_kinds.to_dict()
    estimate, se = cfa.params.to_numpy(), np.sqrt(np.diag(cfa.vcov()))
    z = estimate / se
    np.testing.assert_allclose(table["Estimate"], estimate, rtol=0)
    np.testing.assert_allclose(table["Std. Error"], se, rtol=1e-12)
    np.testing.assert_allclose(table["z value"], z, rtol=1e-12)
    np.testing.assert_allclose(table["Pr(>|z|)"], 2 * scipy.stats.norm.sf(np.abs(z)), rtol=1e-9, atol=1e-300)
    half_width = scipy.stats.norm.ppf(0.975) * se
    np.testing.assert_allclose(table[["2.5 %", "97.5 %"]], np.column_stack([estimate - half_width, estimate + half_width]))


def test_summary_is_text_and_html(cfa):
    summary = cfa.summary()
    assert isinstance(summary, str) and str(cfa) == summary
    assert "Variance components (SDs and correlations" in summary and "Dispersion:" in summary
    rendered = summary._repr_html_()
    assert rendered.count("<table") == 4 and "<h4>Loadings</h4>" in rendered and "<h4>Dispersion</h4>" in rendered
    assert "<h4>Variance components (SDs and correlations; SEs by the delta method)</h4>" in rendered


@pytest.fixture(scope="module")
def mimic():
    return glpp.Model(CFA3 + "\nvisual ~ female + ageyr", pd.read_csv(DATA / "holzinger.csv")).fit()


def _lines_after(summary: str, start: str, count: int) -> list[str]:
    lines = summary.splitlines()
    position = next(k for k, line in enumerate(lines) if line.startswith(start))
    return lines[position : position + count]


def test_each_correlation_is_printed_in_the_row_and_column_of_its_two_latents(mimic):
    # visual is regressed, so uncorrelated with textual and speed: the one correlation,
    # cor[textual,speed], was printed in a column that read as cor(visual, speed)
    speed = next(c for c in mimic.variance_components if c.name == "speed")
    assert speed.correlations[0] is None and speed.correlations[1] == pytest.approx(mimic.params["cor[textual,speed]"])
    assert speed.correlation_names == (None, "cor[textual,speed]")
    title, header, row = _lines_after(mimic.summary(), " Correlations of the unit latents", 3)
    assert header.split() == ["textual"]
    value, se = mimic.params["cor[textual,speed]"], mimic.se["cor[textual,speed]"]
    assert row.split() == ["speed", f"{value:.3f}", f"({se:.3f})"]
    assert len(header.rstrip()) == len(row.rstrip())  # right-aligned under its column's name


def test_the_random_effects_table_prints_each_sd_with_its_se(mimic):
    lines = _lines_after(mimic.summary(), " Groups", 4)
    assert lines[0].split() == ["Groups", "Name", "Variance", "Std.Dev.", "Std.Err."]
    for line, latent in zip(lines[1:], ["visual", "textual", "speed"]):
        fields = line.split()
        sd, se = mimic.params[f"sd[{latent}]"], mimic.se[f"sd[{latent}]"]
        assert fields[:2] == ["unit", latent] and [float(v) for v in fields[-3:]] == pytest.approx(
            [sd**2, sd, se], rel=1e-3
        )
    # visual's variance is its disturbance's (it is regressed on female and ageyr)
    assert lines[1].split()[2] == "(residual)" and "regressed latent's disturbance" in mimic.summary()
    variance = next(table for title, table in mimic.summary().sections.tables if title.startswith("Variance"))
    assert list(variance.index) == ["sd[textual]", "sd[speed]", "cor[textual,speed]", "sd[visual]"]
    np.testing.assert_allclose(variance["Std. Error"], mimic.se[variance.index])


def test_random_slopes_print_the_sd_se_and_the_correlation_matrix():
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(60), 8)
    x = rng.normal(size=groups.size)
    effects = rng.multivariate_normal([0, 0], [[1.0, 0.3], [0.3, 0.5]], size=60)
    y = 1 + 0.5 * x + effects[groups, 0] + effects[groups, 1] * x + rng.normal(size=groups.size)
    fit = glpp.Model("y ~ x + (1 + x | g)", pd.DataFrame({"y": y, "x": x, "g": groups})).fit()
    lines = _lines_after(fit.summary(), " Groups", 7)
    for line, name in zip(lines[1:4], ["sd[(Intercept)|g]", "sd[x|g]", "sigma"]):
        assert float(line.split()[-1]) == pytest.approx(fit.se[name], rel=1e-3)
    assert lines[3].split()[0] == "Residual"
    correlation = "cor[(Intercept),x|g]"
    assert lines[4] == " Correlations of the g latents (SE):"
    assert lines[5].split() == ["(Intercept)"]
    assert lines[6].split() == ["x", f"{fit.params[correlation]:.3f}", f"({fit.se[correlation]:.3f})"]


# ------------------------------------- toenail: robust SEs and EB predictions against numpy
#: EB means and SDs against a dense grid at the same parameters (issue 14: 1e-3 absolute)
EB_ATOL = 1e-3


def _toenail_cluster_log_densities(theta: np.ndarray, data: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """``log p(y_j | u)`` of each patient (rows) at standardised intercepts ``grid`` (columns)."""
    beta, sd = theta[:4], np.exp(theta[4])
    x = np.column_stack([np.ones(len(data)), data[["treatment", "month", "trt_month"]].to_numpy()])
    linear = (x @ beta)[:, None] + sd * grid[None, :]
    row_log = data.outcome.to_numpy()[:, None] * linear - np.logaddexp(0.0, linear)
    codes = pd.factorize(data.patient, sort=True)[0]
    per_cluster = np.zeros((codes.max() + 1, grid.size))
    np.add.at(per_cluster, codes, row_log)
    return per_cluster


def _toenail_cluster_logliks(theta: np.ndarray, data: pd.DataFrame) -> np.ndarray:
    """Each patient's log-likelihood by a dense trapezoid grid over the random intercept (numpy only)."""
    grid = np.linspace(-14.0, 14.0, 5601)  # standardised intercept
    weights = np.exp(-0.5 * grid**2) / np.sqrt(2 * np.pi) * (grid[1] - grid[0])
    per_cluster = _toenail_cluster_log_densities(theta, data, grid)
    peak = per_cluster.max(axis=1, keepdims=True)
    return (peak[:, 0] + np.log(np.exp(per_cluster - peak) @ weights))


@pytest.fixture(scope="module")
def toenail_data():
    return pd.read_csv(DATA / "toenail.csv")


@pytest.fixture(scope="module")
def toenail_robust(toenail_data):
    """Robust SEs; the estimates (and so the EB predictions) are the model-based fit's."""
    return glpp.Model(TOENAIL, toenail_data, family="binomial").fit(nip=45, se="robust")


def test_robust_ses_match_an_independent_sandwich(toenail_data, toenail_robust):
    data, fit = toenail_data, toenail_robust
    assert fit.se_method == "robust (sandwich, clustered by patient)"
    theta = np.r_[fit.params.iloc[:4].to_numpy(), np.log(fit.params["sd[patient]"])]
    step = 1e-5
    scores = np.column_stack([
        (_toenail_cluster_logliks(theta + step * e, data) - _toenail_cluster_logliks(theta - step * e, data)) / (2 * step)
        for e in np.eye(5)
    ])
    hessian = np.empty((5, 5))
    for k, e in enumerate(np.eye(5)):
        up = _toenail_cluster_logliks(theta + 1e-4 * e, data)
        down = _toenail_cluster_logliks(theta - 1e-4 * e, data)
        shifted_up = np.column_stack([
            (_toenail_cluster_logliks(theta + 1e-4 * e + step * f, data).sum() - up.sum()) / step for f in np.eye(5)
        ])
        shifted_down = np.column_stack([
            (_toenail_cluster_logliks(theta - 1e-4 * e + step * f, data).sum() - down.sum()) / step for f in np.eye(5)
        ])
        hessian[:, k] = ((shifted_up - shifted_down) / 2e-4).ravel()
    hessian = 0.5 * (hessian + hessian.T)
    bread = np.linalg.inv(-hessian)
    covariance = bread @ (scores.T @ scores) @ bread
    expected = np.sqrt(np.diag(covariance))
    expected[4] *= fit.params["sd[patient]"]  # delta method: sd = exp(log sd)
    np.testing.assert_allclose(fit.se.to_numpy(), expected, rtol=1e-3)


@pytest.fixture(scope="module")
def toenail_laplace(toenail_data):
    return glpp.Model(TOENAIL, toenail_data, family="binomial").fit(nip=1)


@pytest.mark.parametrize("fit_name", ["toenail_robust", "toenail_laplace"])
def test_eb_means_and_sds_match_each_patients_posterior_on_a_grid(toenail_data, fit_name, request):
    # the Laplace fit (one point) has a larger SD: its EB moments need far more points than 7
    fit = request.getfixturevalue(fit_name)
    theta = np.r_[fit.params.iloc[:4].to_numpy(), np.log(fit.params["sd[patient]"])]
    grid = np.linspace(-12.0, 12.0, 4801)  # standardised intercept: step 0.005, posterior SDs 0.2 to 0.4
    log_posterior = _toenail_cluster_log_densities(theta, toenail_data, grid) - 0.5 * grid**2
    posterior = np.exp(log_posterior - log_posterior.max(axis=1, keepdims=True))
    posterior /= posterior.sum(axis=1, keepdims=True)
    intercept = fit.params["sd[patient]"] * grid
    mean = posterior @ intercept
    sd = np.sqrt(posterior @ intercept**2 - mean**2)
    latent = fit.latent()
    assert list(latent.cluster) == sorted(toenail_data.patient.unique()) and set(latent.latent) == {"(Intercept)"}
    np.testing.assert_allclose(latent["mean"], mean, atol=EB_ATOL, rtol=0)
    np.testing.assert_allclose(latent["sd"], sd, atol=EB_ATOL, rtol=0)


def test_eb_moments_warn_when_the_points_cannot_be_raised_far_enough(toenail_data, monkeypatch):
    import glpp.fitting.engines as engines

    # a fit of its own: a fit computes its EB moments once (the shared fixture's may be done)
    toenail_laplace = glpp.Model(TOENAIL, toenail_data, family="binomial").fit(nip=1)
    monkeypatch.setattr(engines, "EB_MAX_NODES", 12)  # 7 and 11 points, not 15
    with pytest.warns(glpp.ConvergenceWarning, match=r"changed by 0.1\d when the points per dimension were raised to \(11,\)"):
        toenail_laplace.latent()


def test_robust_and_model_ses_agree_for_a_correct_gaussian_model():
    rng = np.random.default_rng(11)
    cluster = np.repeat(np.arange(300), 6)
    x = rng.normal(size=cluster.size)
    y = 0.5 + 0.8 * x + 0.7 * rng.normal(size=300)[cluster] + rng.normal(size=cluster.size)
    model = glpp.Model("y ~ x + (1 | g)", pd.DataFrame({"y": y, "x": x, "g": cluster}))
    ratio = model.fit(se="robust").se / model.fit().se
    assert ratio.between(0.85, 1.15).all(), ratio


def test_robust_ses_cluster_by_the_top_level_only():
    data = pd.read_csv(DATA / "toenail.csv")
    model = glpp.Model(TOENAIL, data, family="binomial")
    with pytest.raises(glpp.SpecError, match=r"cluster by the top level 'patient'"):
        model.fit(nip=1, se=("robust", "month"))
    with pytest.raises(glpp.SpecError, match=r"se='sandwich'"):
        model.fit(nip=1, se="sandwich")


# ----------------------------------------------------------------------------- ICC
def test_icc_of_a_logit_random_intercept_uses_pi_squared_over_three(toenail_laplace):
    icc = toenail_laplace.icc()
    variance = toenail_laplace.params["sd[patient]"] ** 2
    assert list(icc.index) == ["patient", "Residual"]
    assert icc.loc["Residual", "variance"] == pytest.approx(np.pi**2 / 3)
    assert icc.loc["patient", "icc"] == pytest.approx(variance / (variance + np.pi**2 / 3), rel=1e-12)
    assert icc["vpc"].sum() == pytest.approx(1.0) and np.isnan(icc.loc["Residual", "icc"])


def test_latent_response_variances_by_link():
    from glpp.families.base import get_family
    from glpp.families.links import LINKS

    binomial, ordinal, poisson = get_family("binomial"), get_family("ordinal"), get_family("poisson")
    assert binomial.latent_residual_variance(LINKS["probit"], None) == 1.0
    assert ordinal.latent_residual_variance(LINKS["cloglog"], None) == pytest.approx(np.pi**2 / 6)
    assert get_family("gaussian").latent_residual_variance(LINKS["identity"], 2.0) == 4.0
    assert poisson.latent_residual_variance(LINKS["log"], None) is None


def test_icc_refuses_counts_and_factor_models(cfa, toenail_laplace):
    with pytest.raises(ValueError, match="needs a random intercept at every level; level.s. unit"):
        cfa.icc()
    # a count model's result has no latent-response variance (see the test above)
    counts = dataclasses.replace(toenail_laplace, family="poisson", link="log", latent_residual_variance=None)
    with pytest.raises(ValueError, match=r"latent-response scale.*poisson \(log\)"):
        counts.icc()
