"""The parameter table: rows per kind, theta -> natural -> theta round trips, names and counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glpp
from glpp.params import KIND_ORDER

DATA = Path(__file__).resolve().parents[1] / "model_library" / "data"
CFA3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
DEMOCRACY = (
    "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem65 =~ y5 + y6 + y7 + y8\n"
    "dem60 ~ ind60\ndem65 ~ ind60 + dem60\ny1 ~~ y5\ny2 ~~ a*y4\ny3 ~~ a*y7"
)
#: theta -> natural -> theta is exact up to the Cholesky factorisation's rounding
ROUND_TRIP = 1e-9

MODELS = {
    "toenail": ("outcome ~ treatment + month + trt_month + (1 | patient)", "toenail.csv", {"family": "binomial"}),
    "sleepstudy_slopes": ("reaction ~ days + (days | subject)", "sleepstudy.csv", {}),
    "exam_independent": ("normexam ~ standLRT + (1 | school) + (0 + standLRT | school)", "exam.csv", {}),
    "owls_negbinomial": (
        "SiblingNegotiation ~ FoodTreatment + ArrivalTime + offset(log_brood_size) + (1 | Nest)",
        "owls.csv",
        {"family": "nbinom2"},
    ),
    "cfa3": (CFA3, "holzinger.csv", {}),
    "cfa3_std_lv": (CFA3, "holzinger.csv", {"std_lv": True}),
    "mimic_fixed_loading": (
        "visual =~ x1 + 2*x2 + x3\ntextual =~ x4 + x5 + x6\nvisual ~ female + ageyr\ntextual ~ visual",
        "holzinger.csv",
        {},
    ),
    "democracy_residual_covariances": (DEMOCRACY, "political_democracy.csv", {}),
    "two_level_cfa": ("level: 1\nfw =~ y1 + y2 + y3\nfw ~ fb\nlevel: cluster\nfb =~ y4 + y5 + y6", "crosslevel.csv", {}),
    "three_level": ("y ~ x + (1 | region/school/class)", "fourlevel.csv", {}),
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def layout(request):
    formula, file, options = MODELS[request.param]
    return glpp.Model(formula, pd.read_csv(DATA / file), **options).layout


def test_theta_natural_theta_round_trip(layout):
    rng = np.random.default_rng(11)
    for _ in range(5):
        theta = rng.normal(0.0, 0.5, layout.n_theta)
        natural = dict(zip(layout.natural_names, layout.natural(theta)))
        np.testing.assert_allclose(layout.theta_from_named(natural), theta, atol=ROUND_TRIP)


def test_free_rows_are_theta_in_kind_order(layout):
    kinds = [parameter.kind for parameter in layout.free]
    assert kinds == sorted(kinds, key=KIND_ORDER.index)
    assert layout.n_theta == len(layout.natural_names) == len(set(layout.natural_names))
    for kind in KIND_ORDER:
        assert layout.names(kind) == tuple(layout.natural_names[layout.kind_slice(kind)])
    # the sd and cor rows of the blocks hold exactly their Cholesky entries in theta
    assert len(layout.names("sd", "cor")) == len(layout.cholesky_entries)
    frame = layout.to_frame()
    assert list(frame.columns) == ["name", "kind", "level", "free", "value", "label", "transform"]
    assert frame["free"].sum() == layout.n_theta


def test_rows_of_each_kind():
    data = pd.read_csv(DATA / "holzinger.csv")
    formula, _, _ = MODELS["mimic_fixed_loading"]
    layout = glpp.Model(formula, data).layout
    fixed = layout.to_frame().query("not free")
    assert list(fixed["name"]) == ["lambda[visual,x2]"] and list(fixed["value"]) == [2.0]
    assert layout.names("path") == (
        "path[visual~female]",
        "path[visual~ageyr]",
        "path[textual~visual]",
    )
    assert layout.names("aux") == tuple(f"sigma[x{k}]" for k in range(1, 7))
    assert set(layout.kinds) == {"fixed", "sd", "loading", "path", "aux"}

    democracy = glpp.Model(MODELS["democracy_residual_covariances"][0], pd.read_csv(DATA / "political_democracy.csv"))
    table = democracy.layout.to_frame().set_index("name")
    assert democracy.layout.names("residual_covariance") == ("cov[y1,y5]", "cov[a]")  # equal labels: one row
    assert table.loc["cov[a]", "label"] == "a"
    assert table.loc["sigma[y1]", "transform"] == "log" and table.loc["sd[dem60]", "transform"] == "cholesky"


def test_summary_groups_by_kind_not_by_name():
    """A parameter is placed by its table row's kind: MLResult.parameter_kinds."""
    data = pd.read_csv(DATA / "owls.csv")
    formula, _, options = MODELS["owls_negbinomial"]
    model = glpp.Model(formula, data, **options)
    assert dict(model.layout.kinds) == {
        "beta[(Intercept)]": "fixed",
        "beta[FoodTreatment]": "fixed",
        "beta[ArrivalTime]": "fixed",
        "sd[Nest]": "sd",
        "size": "aux",
    }
