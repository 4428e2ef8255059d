"""The example notebooks run from top to bottom and show what they promise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]


def test_toenail_notebook_runs_and_renders_the_html_summary(tmp_path, monkeypatch):
    notebook = nbformat.read(ROOT / "examples" / "toenail.ipynb", as_version=4)
    # the kernel imports this checkout's glpp; it draws with the inline backend (PNG outputs)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    html = [output["data"]["text/html"] for output in outputs if "text/html" in output.get("data", {})]
    assert any("glpp-summary" in text and "<h4>Fixed effects</h4>" in text for text in html)
    assert any("image/png" in output.get("data", {}) for output in outputs)  # the caterpillar plot
