"""Quadrature accuracy is checked, not assumed.

The reference for the toenail data is an independent per-cluster
``scipy.integrate.quad`` computation written here with plain numpy/scipy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

import glpp
from glpp.likelihood.quadrature import gauss_hermite, product_rule, sparse_rule

ROOT = Path(__file__).resolve().parents[1]
TOENAIL = pd.read_csv(ROOT / "model_library" / "data" / "toenail.csv")
REFERENCE = json.loads((ROOT / "tests" / "reference" / "reference.json").read_text())["toenail_logit"]
AT_LME4 = {
    "beta[(Intercept)]": REFERENCE["fixef"]["(Intercept)"],
    "beta[treatment]": REFERENCE["fixef"]["treatment"],
    "beta[month]": REFERENCE["fixef"]["month"],
    "beta[trt_month]": REFERENCE["fixef"]["trt_month"],
    "sd[patient]": float(np.sqrt(REFERENCE["vcov"]["patient:(Intercept):NA"])),
}


def exact_cluster_logliks(data: pd.DataFrame, values: dict[str, float]) -> np.ndarray:
    """log int prod_i Bernoulli(y_i | logit^-1(x_i'b + u)) N(u; 0, sd^2) du, by adaptive quad."""
    beta = np.array([values[f"beta[{n}]"] for n in ("(Intercept)", "treatment", "month", "trt_month")])
    sd = values["sd[patient]"]
    logliks = []
    for _, rows in data.groupby("patient", sort=True):
        x = np.column_stack([np.ones(len(rows)), rows[["treatment", "month", "trt_month"]].to_numpy()])
        eta = x @ beta
        y = rows["outcome"].to_numpy()

        def log_integrand(u: float) -> float:
            linear = eta + u
            return float(np.sum(y * linear - np.logaddexp(0.0, linear)) + stats.norm.logpdf(u, 0.0, sd))

        # integrate exp(log f - peak) around the peak for accuracy
        grid = np.linspace(-8 * sd, 8 * sd, 2001)
        linear = eta[:, None] + grid[None, :]
        on_grid = np.sum(y[:, None] * linear - np.logaddexp(0.0, linear), axis=0) + stats.norm.logpdf(grid, 0.0, sd)
        peak_u = grid[np.argmax(on_grid)]
        peak = log_integrand(peak_u)
        value, _ = integrate.quad(
            lambda u: np.exp(log_integrand(u) - peak), -12 * sd, 12 * sd, points=[peak_u], limit=400, epsabs=0, epsrel=1e-12
        )
        logliks.append(np.log(value) + peak)
    return np.asarray(logliks)


@pytest.fixture(scope="module")
def toenail_model():
    return glpp.Model("outcome ~ treatment + month + trt_month + (1 | patient)", TOENAIL, family="binomial")


@pytest.fixture(scope="module")
def exact(toenail_model):
    return exact_cluster_logliks(TOENAIL, AT_LME4)


def test_adaptive_quadrature_matches_scipy_quad_per_cluster(toenail_model, exact):
    per_cluster = toenail_model.loglik_at(AT_LME4, nip=100, per_cluster=True)
    np.testing.assert_allclose(per_cluster, exact, atol=1e-6, rtol=0)
    assert abs(per_cluster.sum() - exact.sum()) < 1e-5


def test_adaptive_beats_non_adaptive_at_equal_points(toenail_model, exact):
    truth = exact.sum()
    for nip in (11, 21, 31):
        adaptive_error = abs(toenail_model.loglik_at(AT_LME4, nip=nip) - truth)
        plain_error = abs(toenail_model.loglik_at(AT_LME4, nip=nip, adaptive=False) - truth)
        assert adaptive_error < plain_error, nip


def test_toenail_is_a_hard_case_for_few_points(toenail_model, exact):
    # Lesaffre & Spiessens (2001): 7 adaptive points are ~2 units off
    truth = exact.sum()
    assert abs(toenail_model.loglik_at(AT_LME4, nip=7) - truth) > 1.0
    assert abs(toenail_model.loglik_at(AT_LME4, nip=45) - truth) < 1e-3


def test_gauss_hermite_weights_integrate_normal_moments():
    rule = gauss_hermite(10)
    z = rule.nodes[:, 0]
    assert rule.weights.sum() == pytest.approx(1.0)
    for power in range(0, 19, 2):
        assert np.sum(rule.weights * z**power) == pytest.approx(special.factorial2(power - 1) if power else 1.0, rel=1e-10)


@pytest.mark.parametrize("n_dims,level", [(2, 3), (3, 3), (4, 2)])
def test_sparse_rule_is_exact_for_low_total_degree(n_dims, level):
    rule = sparse_rule(level, n_dims)
    product = product_rule(level + 1, n_dims)
    assert rule.n_nodes < product.n_nodes or n_dims == 2
    rng = np.random.default_rng(level)
    for _ in range(5):
        powers = rng.multinomial(2 * level - 2, np.ones(n_dims) / n_dims) if level > 1 else np.zeros(n_dims, int)
        assert np.sum(rule.weights * np.prod(rule.nodes**powers, axis=1)) == pytest.approx(
            np.sum(product.weights * np.prod(product.nodes**powers, axis=1)), abs=1e-10
        )


def test_sparse_rule_agrees_with_product_rule_on_a_two_latent_glmm():
    model = glpp.Model("outcome ~ treatment + month + trt_month + (1 + month | patient)", TOENAIL, family="binomial")
    values = dict(AT_LME4)
    values.pop("sd[patient]")
    values.update({"sd[(Intercept)|patient]": 2.0, "sd[month|patient]": 0.2, "cor[(Intercept),month|patient]": -0.2})
    converged = model.loglik_at(values, nip=31)
    assert model.loglik_at(values, nip=41) == pytest.approx(converged, abs=1e-5)
    assert model.loglik_at(values, nip=7, rule="sparse") == pytest.approx(converged, abs=2e-3)


def test_sparse_rule_is_cheaper_for_three_latents():
    model = glpp.Model(
        "outcome ~ treatment + month + trt_month + (1 + month + trt_month | patient)", TOENAIL, family="binomial"
    )
    values = {name: value for name, value in AT_LME4.items() if name != "sd[patient]"}
    values.update(
        {
            "sd[(Intercept)|patient]": 2.0,
            "sd[month|patient]": 0.2,
            "sd[trt_month|patient]": 0.1,
            "cor[(Intercept),month|patient]": -0.2,
            "cor[(Intercept),trt_month|patient]": 0.1,
            "cor[month,trt_month|patient]": 0.0,
        }
    )
    converged = model.loglik_at(values, nip=17)  # 4913 nodes per cluster
    product_error = abs(model.loglik_at(values, nip=11) - converged)  # 1331 nodes
    sparse_error = abs(model.loglik_at(values, nip=6, rule="sparse") - converged)  # 735 nodes
    assert sparse_rule(6, 3).n_nodes < product_rule(11, 3).n_nodes / 1.5
    assert sparse_error < 0.015
    assert sparse_error < 1.5 * product_error
