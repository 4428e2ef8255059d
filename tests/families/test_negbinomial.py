"""Negative binomial (NB2) random-intercept model against glmmTMB and an independent quadrature.

The reference is tests/reference/negbinomial.json, produced by
tests/reference/make_negbinomial.R (glmmTMB, Laplace) from model_library/data/owls.csv.

NB2 here: y ~ NegBin(size, mu), Var(y) = mu + mu^2 / size, log(mu) = X beta +
offset + u_Nest, u_Nest ~ N(0, sd^2). glmmTMB reports size as sigma(fit).

``nb2_cluster_logliks`` is a plain numpy/scipy adaptive Gauss-Hermite quadrature
of that model, written without glpp. It is checked against glmmTMB (Laplace)
first, and glpp's family is then checked against it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.polynomial.hermite import hermgauss
from scipy import optimize, special, stats

import glpp

ROOT = Path(__file__).resolve().parents[2]
OWLS = ROOT / "model_library" / "data" / "owls.csv"
REFERENCE = json.loads((ROOT / "tests" / "reference" / "negbinomial.json").read_text())["owls_nbinom2"]

FORMULA = "SiblingNegotiation ~ FoodTreatment + ArrivalTime + offset(log_brood_size) + (1 | Nest)"
FIXED = ["(Intercept)", "FoodTreatment", "ArrivalTime"]
PARAM_NAMES = {"beta[(Intercept)]", "beta[FoodTreatment]", "beta[ArrivalTime]", "sd[Nest]", "size"}

#: same integrand, exact mode and analytic curvature as glmmTMB's Laplace (observed difference ~1e-12)
INDEPENDENT_VS_GLMMTMB = 1e-4
#: 30 and 60 adaptive points agree to far below this for 6-12 observations per nest
QUADRATURE_CONVERGED = 1e-6
#: glpp and the independent code evaluate the same 30-point rule at the same parameters
SAME_RULE = 1e-6
#: glpp's maximised Laplace loglik vs glmmTMB's: two optimisers of the same objective
LOGLIK_VS_GLMMTMB = 0.01
#: fixed effects of two optimisers of the same objective
FIXEF_REL, FIXEF_ABS = 1e-3, 1e-5
#: variance parameters are flatter in the likelihood than the fixed effects
VARIANCE_REL = 1e-2
#: fit.loglik (at fit.nip points, settled) vs the 30-point value at the same parameters
AUTO_VS_30 = 1e-3


# --------------------------------------------------------------------------- independent code


def nb2_cluster_logliks(params, data: pd.DataFrame, n_points: int) -> np.ndarray:
    """Marginal log-likelihood of each Nest (sorted by Nest) by adaptive Gauss-Hermite quadrature.

    ``params`` maps glpp's names (``beta[...]``, ``sd[Nest]``, ``size``) to values.
    ``n_points = 1`` is the Laplace approximation.
    """
    beta = np.array([params[f"beta[{name}]"] for name in FIXED])
    sd, size = float(params["sd[Nest]"]), float(params["size"])
    X = np.column_stack([np.ones(len(data)), data["FoodTreatment"], data["ArrivalTime"]])
    eta0 = X @ beta + data["log_brood_size"].to_numpy()
    y = data["SiblingNegotiation"].to_numpy()
    nodes, weights = hermgauss(n_points)
    out = []
    for _, rows in sorted(data.groupby("Nest").indices.items()):
        yc, ec = y[rows], eta0[rows]

        def log_joint(u, yc=yc, ec=ec):
            mu = np.exp(ec[:, None] + np.atleast_1d(u)[None, :])
            conditional = stats.nbinom.logpmf(yc[:, None], n=size, p=size / (size + mu)).sum(axis=0)
            return conditional + stats.norm.logpdf(np.atleast_1d(u), 0.0, sd)

        def gradient_and_curvature(u, yc=yc, ec=ec):
            mu = np.exp(ec + u)
            gradient = np.sum(size * (yc - mu) / (size + mu)) - u / sd**2
            curvature = np.sum(size * mu * (yc + size) / (size + mu) ** 2) + 1.0 / sd**2
            return gradient, curvature

        mode = optimize.minimize_scalar(lambda u: -log_joint(u)[0], bracket=(-sd, sd), tol=1e-12).x
        for _ in range(50):  # polish the mode by Newton steps (the log joint is concave in u)
            gradient, curvature = gradient_and_curvature(mode)
            mode += gradient / curvature
            if abs(gradient / curvature) < 1e-13:
                break
        _, curvature = gradient_and_curvature(mode)
        scale = np.sqrt(2.0 / curvature)
        values = log_joint(mode + scale * nodes)
        out.append(np.log(scale) + special.logsumexp(values + nodes**2, b=weights))
    return np.array(out)


def reference_params() -> dict[str, float]:
    params = {f"beta[{name}]": REFERENCE["fixef"][name] for name in FIXED}
    params["sd[Nest]"] = REFERENCE["sd_Nest"]
    params["size"] = REFERENCE["size"]
    return params


@pytest.fixture(scope="module")
def owls() -> pd.DataFrame:
    return pd.read_csv(OWLS)


def test_independent_laplace_matches_glmmtmb(owls):
    laplace = nb2_cluster_logliks(reference_params(), owls, 1)
    assert len(laplace) == owls["Nest"].nunique()
    assert laplace.sum() == pytest.approx(REFERENCE["loglik"], abs=INDEPENDENT_VS_GLMMTMB)


def test_independent_quadrature_converges(owls):
    params = reference_params()
    q30 = nb2_cluster_logliks(params, owls, 30)
    q60 = nb2_cluster_logliks(params, owls, 60)
    assert q30.sum() == pytest.approx(q60.sum(), abs=QUADRATURE_CONVERGED)
    np.testing.assert_allclose(q30, q60, rtol=0, atol=QUADRATURE_CONVERGED)
    # R's per-nest integrate() at the same point (make_negbinomial.R)
    assert q60.sum() == pytest.approx(REFERENCE["loglik_exact_at_estimate"], abs=QUADRATURE_CONVERGED)
    # and the quadrature is not just the Laplace value again
    assert abs(q30.sum() - nb2_cluster_logliks(params, owls, 1).sum()) > 0.01


# --------------------------------------------------------------------------- glpp's family


@pytest.fixture(scope="module")
def model(owls) -> glpp.Model:
    return glpp.Model(FORMULA, data=owls, family="negbinomial")


@pytest.fixture(scope="module")
def laplace_fit(model) -> glpp.MLResult:
    return model.fit(nip=1)


@pytest.fixture(scope="module")
def auto_fit(model) -> glpp.MLResult:
    return model.fit()


def test_parameter_names(laplace_fit):
    assert set(laplace_fit.params.index) == PARAM_NAMES


def test_laplace_matches_glmmtmb(laplace_fit):
    fit = laplace_fit
    assert fit.converged
    assert fit.n_params == REFERENCE["df"]
    assert fit.loglik == pytest.approx(REFERENCE["loglik"], abs=LOGLIK_VS_GLMMTMB)
    for name, value in REFERENCE["fixef"].items():
        assert fit.params[f"beta[{name}]"] == pytest.approx(value, rel=FIXEF_REL, abs=FIXEF_ABS), name
    assert fit.params["sd[Nest]"] == pytest.approx(REFERENCE["sd_Nest"], rel=VARIANCE_REL)
    assert fit.params["size"] == pytest.approx(REFERENCE["size"], rel=VARIANCE_REL)


def test_nbinom2_is_an_alias(model, owls, laplace_fit):
    alias = glpp.Model(FORMULA, data=owls, family="nbinom2")
    at = laplace_fit.params
    assert alias.loglik_at(at, nip=1) == pytest.approx(model.loglik_at(at, nip=1), abs=1e-9)
    assert alias.loglik_at(at, nip=30) == pytest.approx(model.loglik_at(at, nip=30), abs=1e-9)


def test_laplace_loglik_at_matches_independent_code(model, owls):
    params = reference_params()
    assert model.loglik_at(params, nip=1) == pytest.approx(
        nb2_cluster_logliks(params, owls, 1).sum(), abs=SAME_RULE
    )


def test_adaptive_quadrature_matches_independent_code(model, owls, auto_fit):
    fit = auto_fit
    assert fit.converged
    glpp_30 = model.loglik_at(fit.params, nip=30)
    independent_30 = nb2_cluster_logliks(fit.params, owls, 30).sum()
    assert glpp_30 == pytest.approx(independent_30, abs=SAME_RULE)
    assert fit.loglik == pytest.approx(glpp_30, abs=AUTO_VS_30)
    # the quadrature maximum is at least the exact loglik at glmmTMB's Laplace estimates
    assert fit.loglik >= REFERENCE["loglik_exact_at_estimate"] - AUTO_VS_30
