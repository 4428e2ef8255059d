"""The notebooks of the documentation site (docs/notebooks/, stored executed) run from top to
bottom in a fresh kernel and show what they promise: no error, at least one plot, and the
tables and numbers their text refers to. The toenail notebook runs in the default test run;
the others sample or fit several models and are slow-marked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "docs" / "notebooks"
#: seconds one cell may run (a NUTS run with compilation on a busy two-core machine)
CELL_TIMEOUT = 1800


def execute(name: str, tmp_path: Path, monkeypatch) -> list:
    """Run ``docs/notebooks/<name>.ipynb`` in a fresh kernel (working directory ``tmp_path``) and
    return the outputs of its code cells; the run must raise no error."""
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    # the kernel imports this checkout's glpp; it draws with the inline backend (PNG outputs)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert any("image/png" in output.get("data", {}) for output in outputs), f"{name}: no plot"
    return outputs


def html_outputs(outputs: list) -> list[str]:
    return [output["data"]["text/html"] for output in outputs if "text/html" in output.get("data", {})]


def text_outputs(outputs: list) -> str:
    """Everything the notebook printed (streams) and every plain-text result, joined."""
    texts = [output.get("text", "") for output in outputs if output.output_type == "stream"]
    texts += [output["data"]["text/plain"] for output in outputs if "text/plain" in output.get("data", {})]
    return "\n".join(texts)


def test_every_notebook_is_on_the_site_and_tested():
    mkdocs = (ROOT / "mkdocs.yml").read_text()
    tested = Path(__file__).read_text()
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        assert f"notebooks/{notebook.name}" in mkdocs, f"{notebook.name} is not in mkdocs.yml's nav"
        assert f'execute("{notebook.stem}"' in tested, f"{notebook.name} is not executed by a test"


def test_toenail_notebook_runs_and_renders_the_html_summary(tmp_path, monkeypatch):
    outputs = execute("toenail", tmp_path, monkeypatch)
    assert any("glpp-summary" in text and "<h4>Fixed effects</h4>" in text for text in html_outputs(outputs))


@pytest.mark.slow
def test_ml_vs_bayes_notebook_tables_ml_and_both_posteriors(tmp_path, monkeypatch):
    outputs = execute("ml_vs_bayes", tmp_path, monkeypatch)
    html = html_outputs(outputs)
    columns = ("ML estimate", "marginal mean", "marginal MCSE", "full-latent mean", "full-latent MCSE")
    assert any(all(column in text for column in columns) and "sd[patient]" in text for text in html)
    assert any("profile (ML)" in text and "posterior 95% ETI (latent)" in text for text in html)
    # the three-level model: ML and both posteriors of both variance components, shrinkage at
    # both levels, Wald/profile/posterior intervals of both SDs
    assert any(
        all(column in text for column in columns) and "sd[schoolid:childid]" in text and "sd[schoolid]" in text
        for text in html
    )
    assert any("correlation of EB and posterior means" in text and "schoolid:childid" in text for text in html)
    assert any("Wald (ML)" in text and "width" in text and "sd[schoolid]" in text for text in html)


@pytest.mark.slow
def test_model_comparison_notebook_compares_by_leave_one_cluster_out(tmp_path, monkeypatch):
    outputs = execute("model_comparison", tmp_path, monkeypatch)
    html = html_outputs(outputs)
    assert any("random intercept" in text and "random slope" in text and "elpd_diff" in text for text in html)
    # factor models: leave-one-child-out on the 301 children, compared and set beside AIC/BIC
    printed = text_outputs(outputs)
    assert "one factor {'chain': 2, 'draw': 500, 'unit': 301}" in printed
    assert any("one factor" in text and "three factors" in text and "elpd_diff" in text for text in html)
    assert any("-2 elpd_loo" in text and "BIC" in text for text in html)
    for criterion in ("AIC", "BIC", "-2 elpd_loo"):
        assert f"{criterion} prefers: three factors" in printed


@pytest.mark.slow
def test_irt_notebook_fits_rasch_2pl_and_dif(tmp_path, monkeypatch):
    outputs = execute("irt", tmp_path, monkeypatch)
    printed = text_outputs(outputs)
    assert "wide Rasch log-likelihood" in printed and "2PL log-likelihood" in printed
    assert sum("image/png" in output.get("data", {}) for output in outputs) >= 3  # two ICC plots, DIF


@pytest.mark.slow
def test_quadrature_notebook_shows_the_laplace_gap_on_guimmun(tmp_path, monkeypatch):
    outputs = execute("quadrature", tmp_path, monkeypatch)
    printed = text_outputs(outputs)
    assert "lme4 nAGQ=1 log-likelihood" in printed and "above the Laplace fit" in printed
