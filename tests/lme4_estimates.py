"""lme4's estimates of a reference fit (``tests/reference/reference.json``) under glpp's
parameter names, for tests that evaluate glpp at lme4's optimum instead of fitting."""

from __future__ import annotations

import json
from pathlib import Path

REFERENCE = Path(__file__).resolve().parent / "reference" / "reference.json"


def lme4_estimates(case: str) -> dict[str, float]:
    """``beta[...]`` for the fixed effects and ``sd[group]`` for random intercepts of ``case``.

    Raises
    ------
    ValueError
        A case with random slopes or correlations (their glpp names need the model).
    """
    reference = json.loads(REFERENCE.read_text())[case]
    estimates = {f"beta[{name}]": value for name, value in reference["fixef"].items()}
    for key, value in reference["sdcor"].items():
        group, term, other = key.split(":")
        if term != "(Intercept)" or other != "NA":
            raise ValueError(f"{case}: only random intercepts are named here, not {key!r}")
        estimates[f"sd[{group}]"] = value
    return estimates
