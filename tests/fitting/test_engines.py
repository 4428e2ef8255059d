"""The engines agree on shared cases: closed form, one-level quadrature, multilevel quadrature.

Each engine is built by :func:`glpp.fitting.make_objective` (or, for the
multilevel graph on a model with one latent level, directly), and all are
evaluated at the same ``theta``: log-likelihood, gradient and per-cluster values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glpp
from glpp.fitting import make_objective
from glpp.fitting.multilevel import MultilevelObjective, compiled_multilevel

DATA = Path(__file__).resolve().parents[2] / "model_library" / "data"
#: the same integral by two graphs: rounding only
SAME_INTEGRAL = 1e-8


def _multilevel(model: glpp.Model, points: tuple[int, ...]) -> MultilevelObjective:
    return MultilevelObjective(compiled_multilevel(model.layout, model.family, model.link), model.design, points)


def _assert_same(first, second, n_clusters: int) -> None:
    total, gradient, clusters = first
    other_total, other_gradient, other_clusters = second
    assert total == pytest.approx(other_total, abs=SAME_INTEGRAL)
    np.testing.assert_allclose(gradient, other_gradient, atol=1e-6)
    assert len(clusters) == len(other_clusters) == n_clusters
    np.testing.assert_allclose(np.sort(clusters), np.sort(other_clusters), atol=SAME_INTEGRAL)


@pytest.mark.parametrize("nip", [1, 7, 15])
def test_one_level_and_multilevel_quadrature_agree_on_toenail(nip):
    toenail = pd.read_csv(DATA / "toenail.csv")
    model = glpp.Model("outcome ~ treatment + month + trt_month + (1 | patient)", toenail, family="binomial")
    theta = model.layout.theta_from_named(
        {"beta[(Intercept)]": -1.6, "beta[treatment]": -0.1, "beta[month]": -0.39, "beta[trt_month]": -0.14,
         "sd[patient]": 4.0}
    )
    one_level = make_objective(model.design, model.layout, model.family, model.link, nip=nip)
    _assert_same(one_level.loglik(theta), _multilevel(model, (nip,)).loglik(theta), 294)


def test_one_level_and_multilevel_quadrature_agree_with_two_correlated_latents():
    sleepstudy = pd.read_csv(DATA / "sleepstudy.csv")
    model = glpp.Model("reaction ~ days + (days | subject)", sleepstudy)
    theta = model.layout.theta_from_named(
        {"beta[(Intercept)]": 251.4, "beta[days]": 10.5, "sd[(Intercept)|subject]": 23.8,
         "sd[days|subject]": 5.7, "cor[(Intercept),days|subject]": 0.08, "sigma": 25.6}
    )
    for nip in (1, 5):
        one_level = make_objective(model.design, model.layout, model.family, model.link, nip=nip)
        _assert_same(one_level.loglik(theta), _multilevel(model, (nip,)).loglik(theta), 18)


def test_closed_form_and_both_quadratures_agree_on_a_cfa():
    """Gaussian items with identity link: one adaptive point is exact, so all three engines agree."""
    holzinger = pd.read_csv(DATA / "holzinger.csv")
    model = glpp.Model("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", holzinger)
    rng = np.random.default_rng(3)
    theta = model.layout.theta_from_natural(
        np.array([4.9, 6.1, 2.2, 3.1, 4.3, 2.2]),
        [np.array([[0.8, 0.4], [0.4, 1.0]])],
        list(rng.uniform(0.6, 1.2, 6)),
        list(rng.uniform(0.5, 1.5, 4)),
    )
    closed_form = make_objective(model.design, model.layout, model.family, model.link, nip="auto")
    assert closed_form.quadrature.startswith("exact")
    one_level = make_objective(model.design, model.layout, model.family, model.link, nip=1)
    exact = closed_form.loglik(theta)
    _assert_same(exact, one_level.loglik(theta), 301)
    _assert_same(exact, _multilevel(model, (1,)).loglik(theta), 301)
