"""The progress line of ML fits: shown with ``progress=True``, silent with ``False`` and outside notebooks."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest

import glpp
from glpp.fitting.progress import FitProgress, in_notebook, show_progress

DATA = Path(__file__).resolve().parents[2] / "model_library" / "data"


@pytest.fixture(scope="module")
def model() -> glpp.Model:
    toenail = pd.read_csv(DATA / "toenail.csv")
    return glpp.Model("outcome ~ treatment * month + (1 | patient)", toenail.head(400), family="binomial")


def test_progress_shows_iterations_loglik_and_nip(model, capsys):
    fit = model.fit(nip=5, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    updates = re.findall(r"glpp fit: nip (\S+), iteration +(\d+), loglik (-?[\d.]+)", captured.err)
    assert updates, captured.err
    assert {nip for nip, _, _ in updates} == {"5"}
    assert int(updates[-1][1]) > 0
    assert float(updates[-1][2]) == pytest.approx(fit.loglik, abs=1e-3)
    assert captured.err.endswith("\n")


def test_no_progress_when_off_or_outside_notebooks(model, capsys):
    assert not in_notebook()
    model.fit(nip=5, progress=False)
    model.fit(nip=5)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_the_line_is_rewritten_in_place_and_only_when_enabled():
    stream = io.StringIO()
    display = FitProgress(True, stream)
    display.set_nip((7,))
    display.update(1, -10.5)
    display.close()
    assert stream.getvalue().startswith("\rglpp fit: nip (7,), iteration    0")
    assert stream.getvalue().endswith("iteration    1, loglik -10.500000\n")
    silent = io.StringIO()
    off = FitProgress(False, silent)
    off.set_nip(3), off.update(1, -1.0), off.close()
    assert silent.getvalue() == ""
    with pytest.raises(TypeError, match="progress must be True, False or None"):
        show_progress("yes")


def test_progress_before_the_first_evaluation_says_so():
    stream = io.StringIO()
    progress = FitProgress(True, stream)
    progress.set_nip(7)
    assert "loglik (not evaluated yet)" in stream.getvalue() and "nan" not in stream.getvalue()
    progress.update(1, -625.5)
    progress.close()
    assert "loglik -625.500000" in stream.getvalue()
