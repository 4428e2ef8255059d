"""What a result reports: information criteria, tables, the notebook summary, robust SEs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

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


def test_summary_is_text_and_html(cfa):
    summary = cfa.summary()
    assert isinstance(summary, str) and str(cfa) == summary
    assert "Variance components (SDs and correlations" in summary and "Dispersion:" in summary
    rendered = summary._repr_html_()
    assert rendered.count("<table") == 3 and "<h4>Loadings</h4>" in rendered and "<h4>Dispersion</h4>" in rendered


def test_correlations_sit_under_the_latent_they_pair_with():
    data = pd.read_csv(DATA / "holzinger.csv")
    fit = glpp.Model(CFA3 + "\nvisual ~ female + ageyr", data).fit()
    speed = next(c for c in fit.variance_components if c.name == "speed")
    assert speed.correlations[0] is None and speed.correlations[1] == pytest.approx(fit.params["cor[textual,speed]"])
    line = next(line for line in fit.summary().splitlines() if line.startswith(" unit  speed"))
    assert line.endswith(f"{' ' * 6} {fit.params['cor[textual,speed]']:6.3f}")


# ------------------------------------------------------------------ robust SEs
def _toenail_cluster_logliks(theta: np.ndarray, data: pd.DataFrame) -> np.ndarray:
    """Each patient's log-likelihood by a dense trapezoid grid over the random intercept (numpy only)."""
    beta, sd = theta[:4], np.exp(theta[4])
    x = np.column_stack([np.ones(len(data)), data[["treatment", "month", "trt_month"]].to_numpy()])
    eta = x @ beta
    codes = pd.factorize(data.patient, sort=True)[0]
    grid = np.linspace(-14.0, 14.0, 5601)  # standardised intercept
    weights = np.exp(-0.5 * grid**2) / np.sqrt(2 * np.pi) * (grid[1] - grid[0])
    linear = eta[:, None] + sd * grid[None, :]
    row_log = data.outcome.to_numpy()[:, None] * linear - np.logaddexp(0.0, linear)
    per_cluster = np.zeros((codes.max() + 1, grid.size))
    np.add.at(per_cluster, codes, row_log)
    peak = per_cluster.max(axis=1, keepdims=True)
    return (peak[:, 0] + np.log(np.exp(per_cluster - peak) @ weights))


def test_robust_ses_match_an_independent_sandwich():
    data = pd.read_csv(DATA / "toenail.csv")
    fit = glpp.Model(TOENAIL, data, family="binomial").fit(nip=45, se="robust")
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
