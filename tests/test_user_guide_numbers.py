"""The numbers the user guide quotes are the ones glpp and the references compute: each test
recomputes one passage's numbers, formats them as the guide does and finds the passage.

Numbers that depend on timing or on a sampler's draws are not in the guide; it points to the
tables that ``benchmarks/`` scripts write instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import glpp
import model_library

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"
#: the user guide with its line breaks and indentation collapsed to single spaces
GUIDE = " ".join((ROOT / "docs" / "user-guide.md").read_text().split())


def short_exponent(value: float) -> str:
    """``4e-4`` as the guide writes a small number (one significant digit, no exponent padding)."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def reference(file: str, case: str) -> dict:
    return json.loads((REFERENCE / file).read_text())[case]


def test_loglik_at_quadrature_errors_at_the_lme4_estimate():
    """``loglik_at``'s default of 30 points: the error of 15 and 30 points at lme4's toenail
    estimate, against 200 points."""
    case = reference("reference.json", "toenail_logit")
    model = model_library.load("toenail")
    params = {f"beta[{name}]": value for name, value in case["fixef"].items()}
    params["sd[patient]"] = case["sdcor"]["patient:(Intercept):NA"]
    settled = model.loglik_at(params, nip=200)
    errors = {nip: abs(model.loglik_at(params, nip=nip) - settled) for nip in (15, 30)}
    assert f"15 points err by {errors[15]:.2f}, 30 by {short_exponent(errors[30])})" in GUIDE


def test_cace_wald_estimate_is_itt_over_the_compliance_rate():
    """The Wald (instrumental-variable) estimate the guide sets beside the CACE model's: the
    intention-to-treat effect of ``z`` adjusted for ``x`` (least squares of ``y`` on 1, x, z)
    over the share of compliers in the treated arm."""
    cace = model_library.read_data("cace")
    design = np.column_stack([np.ones(len(cace)), cace["x"], cace["z"]])
    itt = np.linalg.lstsq(design, cace["y"].to_numpy(), rcond=None)[0][2]
    compliance_rate = (cace.loc[cace["z"] == 1, "compliance"] == 1).mean()
    assert f"compliance rate of the treated arm, is {itt / compliance_rate:.3f})" in GUIDE


def test_flexmix_log_likelihoods_are_the_reference_ones():
    two, three = (reference("latent_classes.json", f"verbagg_lca{k}")["loglik"] for k in (2, 3))
    assert f"`flexmix::stepFlexmix` starts ({two:.4f}, {three:.4f};" in GUIDE


def test_blme_numbers_are_the_reference_ones():
    case = reference("blme.json", "singular_blme_gamma")
    assert f"log-likelihood {case['loglik']:.6f} and SD {case['sd']:.6f}" in GUIDE


@pytest.mark.slow
def test_npml_auto_and_normal_log_likelihoods_of_toenail():
    toenail = model_library.read_data("toenail")
    npml = glpp.Model(
        'outcome ~ treatment * month + (1 | patient); patient ~~ masspoints("auto")', toenail, family="binomial"
    ).fit(starts=4)
    normal = reference("reference.json", "toenail_logit")["loglik"]
    escaped = int((npml.points["escaped"] != "").sum())
    assert f"On toenail it stops at {len(npml.points)} points" in GUIDE
    assert f"(log-likelihood {npml.loglik:.2f} against {normal:.2f} for the normal random intercept)" in GUIDE
    assert escaped == 1 and "with one point escaped to minus infinity" in GUIDE


@pytest.mark.slow
def test_endogenous_treatment_joint_and_naive_effects():
    entry = model_library.MODELS["endogenous_treatment"]
    joint = model_library.load("endogenous_treatment").fit()
    data = model_library.read_data("endogenous_treatment")
    naive = glpp.Model("resp ~ x + treat + (1 | id)", data[data["eq"] == "outcome"], family="poisson").fit()
    truth = entry.truth["beta[d_out:treat]"]
    effect, effect_se = joint.params["beta[d_out:treat]"], joint.se["beta[d_out:treat]"]
    naive_effect, naive_se = naive.params["beta[treat]"], naive.se["beta[treat]"]
    assert (f"effect at {effect:.3f} (SE {effect_se:.3f}; truth {truth:g}), while a Poisson random-intercept "
            f"model of the outcome alone with the treatment as a covariate gives {naive_effect:.2f} "
            f"(SE {naive_se:.3f}), {(naive_effect - truth) / naive_se:.1f} SEs from the truth") in GUIDE


def test_no_timings_are_typed_into_the_guide():
    """Timings come from the benchmark tables (``benchmarks/results.md``), not from prose."""
    timings = re.findall(r".{40}\b\d+(?:\.\d+)? ?(?:s|seconds|min|minutes)\b", GUIDE)
    assert not timings
