"""glpp.plots: each plot is drawn and written (matplotlib's Agg backend; graphviz when installed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import glpp
import glpp.plots

matplotlib.use("Agg")

DATA = Path(__file__).resolve().parents[1] / "model_library" / "data"
MIMIC = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\nvisual ~ female + ageyr"


@pytest.fixture(scope="module")
def toenail_data():
    return pd.read_csv(DATA / "toenail.csv")


@pytest.fixture(scope="module")
def toenail_model(toenail_data):
    return glpp.Model("outcome ~ treatment + month + trt_month + (1 | patient)", toenail_data, family="binomial")


@pytest.fixture(scope="module")
def toenail_fit(toenail_model):
    return toenail_model.fit(nip=1)


def test_caterpillar_writes_a_sorted_panel_per_latent(toenail_fit, tmp_path):
    figure = glpp.plots.caterpillar(toenail_fit)
    (ax,) = figure.axes
    means = [line.get_xdata() for line in ax.lines if len(line.get_xdata()) > 2][0]
    assert len(means) == 294 and list(means) == sorted(means)
    # each interval is the EB mean +- 1.96 EB SDs
    latent = toenail_fit.latent().sort_values("mean")
    segments = np.array(ax.collections[0].get_segments())  # (clusters, 2 ends, x and y)
    np.testing.assert_allclose(segments[:, 0, 0], latent["mean"] - 1.959963984540054 * latent["sd"], rtol=1e-12)
    np.testing.assert_allclose(segments[:, 1, 0], latent["mean"] + 1.959963984540054 * latent["sd"], rtol=1e-12)
    path = tmp_path / "caterpillar.png"
    figure.savefig(path)
    assert path.stat().st_size > 1000
    with pytest.raises(ValueError, match=r"no level 'school'; the fit's levels are \['patient'\]"):
        glpp.plots.caterpillar(toenail_fit, level="school")


def test_observed_vs_predicted_averages_rows_by_patient(toenail_data, toenail_model, toenail_fit, tmp_path):
    fit = toenail_fit
    figure = glpp.plots.observed_vs_predicted(toenail_model, fit)
    (ax,) = figure.axes
    points = ax.collections[0].get_offsets()
    # by hand: the logit at each patient's EB mean, averaged over the patient's visits
    effects = fit.latent().set_index("cluster")["mean"]
    beta = fit.params[["beta[(Intercept)]", "beta[treatment]", "beta[month]", "beta[trt_month]"]].to_numpy()
    x = np.column_stack([np.ones(len(toenail_data)), toenail_data[["treatment", "month", "trt_month"]]])
    rows = toenail_data.assign(predicted=expit(x @ beta + effects[toenail_data["patient"]].to_numpy()))
    by_patient = rows.groupby("patient")[["predicted", "outcome"]].mean()
    np.testing.assert_allclose(points, by_patient.to_numpy(), rtol=1e-10)
    path = tmp_path / "observed.png"
    figure.savefig(path)
    assert path.stat().st_size > 1000
    with pytest.raises(ValueError, match=r"no level 'visit'; the model's levels are \['patient'\]"):
        glpp.plots.observed_vs_predicted(toenail_model, fit, level="visit")


def test_path_diagram_says_what_to_install_or_draws(tmp_path):
    model = glpp.Model(MIMIC, pd.read_csv(DATA / "holzinger.csv"))
    try:
        import graphviz  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install graphviz"):
            glpp.plots.path_diagram(model)
        pytest.skip("the graphviz Python package is not installed")
    if shutil.which("dot") is None:
        with pytest.raises(ImportError, match="graphviz's dot program"):
            glpp.plots.path_diagram(model)
        pytest.skip("graphviz's dot program is not installed")
    fit = model.fit()
    diagram = glpp.plots.path_diagram(model, fit)
    source = diagram.source.replace('"', "")
    assert "visual -> x1 [label=1]" in source  # the fixed first loading
    assert f"visual -> x2 [label={fit.params['lambda[visual,x2]']:.2f}]" in source
    assert f"female -> visual [label={fit.params['path[visual~female]']:.2f}]" in source
    assert f"textual -> speed [label={fit.params['cor[textual,speed]']:.2f} " in source and "dashed" in source
    written = Path(diagram.render(tmp_path / "mimic", cleanup=True))
    assert written.suffix == ".svg" and written.stat().st_size > 1000


def test_item_characteristic_curves_are_the_2pl_probabilities(tmp_path):
    model = glpp.Model("F =~ i1 + i2 + i3 + i4", pd.read_csv(DATA / "verbagg_wide.csv"), family="binomial")
    fit = model.fit(nip=7)
    figure = glpp.plots.item_characteristic_curves(model, fit)
    (ax,) = figure.axes
    assert [line.get_label() for line in ax.lines] == ["i1", "i2", "i3", "i4"]
    for line, item in zip(ax.lines, ["i1", "i2", "i3", "i4"]):
        latent = line.get_xdata()
        loading = fit.params.get(f"lambda[F,{item}]", 1.0)  # i1's loading is fixed at 1
        np.testing.assert_allclose(line.get_ydata(), expit(fit.params[f"nu[{item}]"] + loading * latent), rtol=1e-12)
    assert latent.max() == pytest.approx(3 * fit.params["sd[F]"])
    path = tmp_path / "icc.png"
    figure.savefig(path)
    assert path.stat().st_size > 1000
    with pytest.raises(ValueError, match=r"needs a measurement statement .*latents: \['F'\]"):
        glpp.plots.item_characteristic_curves(model, fit, latent="G")
    with pytest.raises(ValueError, match="draws regressions with random effects .no factors or paths."):
        glpp.plots.observed_vs_predicted(model, fit)
