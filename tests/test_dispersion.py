"""Dispersion regressions (``dispersion="~ z"``): the heteroscedastic exam model against glmmTMB.

Reference: tests/reference/ordinal.json (``exam_heteroscedastic``), written by
tests/reference/make_ordinal.R. glmmTMB's gaussian dispersion model is on log(variance);
the script also records it halved (log SD), glpp's ``log_sigma``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import glpp

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = json.loads((ROOT / "tests" / "reference" / "ordinal.json").read_text())["exam_heteroscedastic"]
#: acceptance: log-likelihood within 0.01 of glmmTMB (exact for a gaussian response)
LOGLIK_TOLERANCE = 0.01
#: two ML optimisers of the same likelihood
ESTIMATE_RTOL, ESTIMATE_ATOL = 1e-3, 1e-4


@pytest.fixture(scope="module")
def exam_fit():
    data = pd.read_csv(ROOT / "model_library" / "data" / "exam.csv")
    return glpp.Model("normexam ~ standLRT + (1 | school)", data, dispersion="~ male").fit()


def test_heteroscedastic_gaussian_matches_glmmtmb(exam_fit):
    assert exam_fit.converged
    assert exam_fit.n_params == REFERENCE["df"]
    assert exam_fit.loglik == pytest.approx(REFERENCE["loglik"], abs=LOGLIK_TOLERANCE)
    for name, value in REFERENCE["fixef"].items():
        assert exam_fit.params[f"beta[{name}]"] == pytest.approx(value, rel=ESTIMATE_RTOL, abs=ESTIMATE_ATOL)
    for name, value in REFERENCE["log_sigma"].items():
        assert exam_fit.params[f"log_sigma[{name}]"] == pytest.approx(value, rel=ESTIMATE_RTOL, abs=ESTIMATE_ATOL)
    assert exam_fit.params["sd[school]"] == pytest.approx(REFERENCE["sd_school"], rel=1e-2)
    assert "sigma" not in exam_fit.params
    assert "Dispersion model" in exam_fit.summary()
