"""The exported fitting stages: make_objective -> maximise_likelihood -> build_result."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glpp
from glpp.fitting import make_objective, maximise_likelihood
from glpp.fitting.engines import EB_TOLERANCE
from glpp.results.build import build_result

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "model_library" / "data"
TOENAIL = "outcome ~ treatment + month + trt_month + (1 | patient)"


@pytest.fixture(scope="module")
def toenail():
    return glpp.Model(TOENAIL, pd.read_csv(DATA / "toenail.csv"), family="binomial")


@pytest.fixture(scope="module")
def toenail_fit(toenail):
    return toenail.fit(nip=15)


def test_the_objective_alone_is_the_log_likelihood(toenail, toenail_fit):
    # lme4's devFunOnly: the objective of a model, evaluated wherever the user wants
    objective = make_objective(toenail.design, toenail.layout, toenail.family, toenail.link, nip=15)
    assert objective.engine == "quadrature" and objective.points == (15,)
    theta = toenail.layout.theta_from_named(dict(toenail_fit.params))
    loglik, gradient, per_cluster = objective.loglik(theta)
    assert loglik == pytest.approx(toenail_fit.loglik, abs=1e-8)
    assert per_cluster.shape == (toenail.design.levels[0].n_clusters,)
    assert np.max(np.abs(gradient)) < 1e-3
    value, negative_gradient = objective(theta)
    assert value == pytest.approx(-loglik) and np.allclose(negative_gradient, -gradient)


def test_the_stages_chain_to_the_fit(toenail, toenail_fit):
    objective = make_objective(toenail.design, toenail.layout, toenail.family, toenail.link, nip=15)
    estimate = maximise_likelihood(objective)
    assert estimate.converged and set(estimate.nip_path) == {1, 15}
    fit = build_result(objective, estimate, formula=toenail.formula)
    assert fit.loglik == pytest.approx(toenail_fit.loglik, abs=1e-6)
    pd.testing.assert_series_equal(fit.params, toenail_fit.params, atol=1e-5, rtol=0)
    assert fit.nip == 15 and fit.quadrature == toenail_fit.quadrature
    assert len(fit.latent()) == toenail.design.levels[0].n_clusters


def test_loglik_at_auto_is_thirty_points(toenail, toenail_fit):
    at = dict(toenail_fit.params)
    assert toenail.loglik_at(at) == toenail.loglik_at(at, nip=30)


def test_fit_and_sample_options_are_keyword_only(toenail):
    with pytest.raises(TypeError):
        toenail.fit("ml")
    with pytest.raises(TypeError):
        toenail.sample("marginal")


def test_bad_nip_is_a_spec_error(toenail):
    with pytest.raises(glpp.SpecError, match="nip must be 'auto' or a positive integer"):
        make_objective(toenail.design, toenail.layout, toenail.family, toenail.link, nip=0)


def _module_imports(path: Path) -> set[str]:
    """The glpp modules ``path`` imports at module level (not inside functions or ``TYPE_CHECKING``)."""
    imported = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("glpp"):
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names if alias.name.startswith("glpp"))
    return imported


def test_no_import_cycles_between_modules():
    package = ROOT / "glpp"
    modules = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = _module_imports(path)
    # only the package imports Model (bayes, fitting and results take the stage objects), not even lazily
    lazy = [
        path.name
        for path in package.rglob("*.py")
        if path != package / "__init__.py"
        and any(
            isinstance(node, ast.ImportFrom) and node.module == "glpp.model"
            for node in ast.walk(ast.parse(path.read_text()))
        )
    ]
    assert not lazy

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for module in modules.get(start, ()):
            if module == target or (
                module not in seen and not seen.add(module) and reaches(module, target, seen)
            ):
                return True
        return False

    # a package's __init__ importing its own modules (and they it) is not a cycle
    cyclic = [
        name
        for name in modules
        if "." in name and name.count(".") > 1 and reaches(name, name, set())
    ]
    assert not cyclic


def test_laplace_fit_reports_posterior_sds(toenail):
    """One node has no spread: EB moments of a Laplace fit start at EB_MIN_POINTS (a posterior SD
    of 0 for every patient was reported before) and raise the points until they settle (7 points
    erred by 0.11 at toenail's Laplace estimate)."""
    fit = toenail.fit(nip=1)
    latent = fit.latent()
    assert (latent["sd"] > 0.1).all()
    objective = make_objective(toenail.design, toenail.layout, toenail.family, toenail.link, nip=127)
    theta = toenail.layout.theta_from_named(dict(fit.params))
    ((mean, covariance),) = objective.posterior_moments(theta)
    factor = toenail.layout.cholesky_factors(theta)[0][0, 0]
    np.testing.assert_allclose(latent["sd"], factor * np.sqrt(covariance[:, 0, 0]), rtol=0, atol=10 * EB_TOLERANCE)
    np.testing.assert_allclose(latent["mean"], factor * mean[:, 0], rtol=0, atol=10 * EB_TOLERANCE)
