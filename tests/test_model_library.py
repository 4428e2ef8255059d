"""The model library: every entry has its data (listed with source, licence and rows), a
description with its equation, and a reference (an R fit, an independent numpy fit or
simulated truth) whose parameter count it matches; the command line lists, fits and refuses
what it cannot sample.

The numbers themselves are checked where each model type is tested (test_glmm_reference,
test_multilevel, test_factor, test_ordinal, test_discrete, ...); here the library's own model
strings are tied to those references. ``test_library_model_reproduces_its_reference``
(slow) fits the entries that no other test fits with the same string, options and rule, and
checks the key estimates of those whose reference is written for the library (irt.json,
irt_2pl.json, npml.json).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import model_library
from model_library.__main__ import main

REFERENCED = [name for name, entry in model_library.MODELS.items() if entry.truth is None]
SIMULATED = [name for name, entry in model_library.MODELS.items() if entry.truth is not None]
DATA_README = (model_library.DATA / "README.md").read_text()
#: log-likelihood against the R reference at the reference's own quadrature rule (STYLE.md)
LOGLIK_TOLERANCE = 0.01
#: entries whose model string, options and ``nip`` no other test fits against the reference (the
#: others are fitted with the same string in test_glmm_reference, test_multilevel, test_factor,
#: test_ordinal, test_dispersion, test_discrete and families/test_negbinomial)
NOT_FITTED_ELSEWHERE = [
    "verbagg_lltm", "fourlevel_binary", "verbagg_2pl", "verbagg_dif", "toenail_npml",
]
#: estimates against the reference's: both are maxima of the same likelihood, apart by the
#: reference's stopping rule (lme4's, flexmix's EM at 1e-10, BFGS at gradient 1e-6) and by
#: glpp's 15 adaptive quadrature points against the reference's own rule
ESTIMATE_TOLERANCE = 1e-3
#: NPML mass-point locations and sizes: flexmix's EM stops with the escaped point at a finite
#: intercept, which moves the other points a little (variance components, STYLE.md)
MASS_POINT_TOLERANCE = 1e-2


def reference_estimates(name: str) -> dict[str, float]:
    """The key estimates of an entry's reference, under glpp's parameter names."""
    case = model_library.reference_case(name)
    if "est" in case:  # the 2PL's numpy reference names them as glpp does
        return case["est"]
    estimates = {}
    for term, value in case["fixef"].items():
        glpp_term = re.sub(r"^factor\((\w+)\)(\w+)$", r"C(\1)[\2]", term)  # factor(item)1: C(item)[1]
        estimates[f"beta[{glpp_term}]"] = value
    for component, sd in case.get("sdcor", {}).items():  # lme4's "id:(Intercept):NA"
        estimates[f"sd[{component.split(':')[0]}]"] = sd
    return estimates


@pytest.fixture(scope="module")
def library_fit():
    """Fit a library model by its entry's rule, once per module."""
    fits = {}

    def fit(name: str):
        if name not in fits:
            fits[name] = model_library.load(name).fit(nip=model_library.MODELS[name].nip)
        return fits[name]

    return fit


def expected_loglik(name: str) -> float:
    """The reference log-likelihood in glpp's terms: lme4's nAGQ > 1 logLik of Poisson and
    binomial-with-trials responses leaves out the saturated log-likelihood."""
    case = model_library.reference_case(name)
    return case["loglik"] + case.get("loglik_saturated_missing", 0.0)


@pytest.mark.parametrize("name", list(model_library.MODELS))
def test_library_entry_is_documented(name):
    entry = model_library.MODELS[name]
    assert (model_library.DATA / entry.data).exists()
    assert f"| `{entry.data}` |" in DATA_README, f"{entry.data} is not in data/README.md's table"
    assert entry.category in model_library.CATEGORIES
    assert entry.title and entry.equation and "=" in entry.equation
    assert len(entry.description) > 80 and entry.description.endswith(".")
    assert (entry.reference is None) != (entry.truth is None), "a reference or a truth, not both"


@pytest.mark.parametrize("name", REFERENCED)
def test_library_model_has_the_reference_parameter_count(name):
    reference = model_library.reference_case(name)
    assert reference["data"] == model_library.MODELS[name].data
    model = model_library.load(name)
    assert model.layout.n_theta == reference["df"]
    assert model.design.n_dropped == 0


@pytest.mark.parametrize("name", SIMULATED)
def test_simulated_library_model_has_the_parameters_of_its_truth(name):
    """Models on simulated data (``model_library/simulate.py``): every parameter has a
    true value (their recovery is tested in tests/test_row_families.py and
    tests/test_class_regression.py)."""
    model = model_library.load(name)
    layout = model.layout
    names = layout.names() if callable(layout.names) else layout.names  # a discrete layout's are a tuple
    assert sorted(names) == sorted(model_library.MODELS[name].truth)
    assert model.design.n_dropped == 0


def test_data_readme_lists_every_file_with_its_rows():
    rows = dict(re.findall(r"^\| `([\w.]+\.csv)` \|.*\| (\d+) \|$", DATA_README, flags=re.MULTILINE))
    files = sorted(path.name for path in model_library.DATA.glob("*.csv"))
    assert sorted(rows) == files
    for file, count in rows.items():
        assert len(pd.read_csv(model_library.DATA / file)) == int(count), file


def test_unknown_library_model_names_the_choices():
    with pytest.raises(KeyError, match="choose one of"):
        model_library.load("toenails")


def test_list_shows_every_model_with_type_rows_and_reference(capsys):
    assert main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "type", "family", "rows", "reference"]
    listed = {line.split()[0]: line for line in lines[1:]}
    assert list(listed) == list(model_library.MODELS)
    assert "lme4: toenail_logit" in listed["toenail"]
    assert listed["endogenous_treatment"].endswith("simulated truth")
    assert f" {len(model_library.read_data('wine'))} " in listed["wine"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("political_democracy", "residual covariances"),
        ("growth_mixture", "growth mixture"),
    ],
)
def test_bayes_refuses_models_sampling_does_not_support(name, reason, capsys):
    assert main([name, "--bayes"]) == 2
    error = capsys.readouterr().err
    assert "Bayesian sampling is not available for this model" in error and reason in error


@pytest.mark.slow
@pytest.mark.parametrize("name", NOT_FITTED_ELSEWHERE)
def test_library_model_reproduces_its_reference(name, library_fit):
    fit = library_fit(name)
    assert fit.n_params == model_library.reference_case(name)["df"]
    assert fit.loglik == pytest.approx(expected_loglik(name), abs=LOGLIK_TOLERANCE)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["verbagg_2pl", "verbagg_dif", "toenail_npml"])
def test_library_model_has_the_estimates_of_its_reference(name, library_fit):
    """The 2PL's every intercept and loading, the DIF model's item effects, male, male:do and
    sd[id], the NPML model's common slopes."""
    estimates = reference_estimates(name)
    assert len(estimates) >= 3
    params = library_fit(name).params
    for parameter, value in estimates.items():
        assert params[parameter] == pytest.approx(value, abs=ESTIMATE_TOLERANCE), parameter


@pytest.mark.slow
def test_npml_library_model_has_the_mass_points_of_flexmix(library_fit):
    """Sizes and intercepts (b0 + location) of the points, largest first; the point that runs
    off is escaped in glpp and flexmix's smallest intercept."""
    fit = library_fit("toenail_npml")
    reference = model_library.reference_case("toenail_npml")
    points = fit.points
    assert len(points) == reference["n_points"]
    np.testing.assert_allclose(points["probability"], reference["prior"], atol=MASS_POINT_TOLERANCE)
    escaped = (points["escaped"] == "-inf").to_numpy()
    assert escaped.sum() == 1
    intercepts = np.asarray(reference["intercepts"])
    assert np.argmin(intercepts) == np.flatnonzero(escaped)[0]
    finite = fit.params["beta[(Intercept)]"] + points["location"].to_numpy()[~escaped]
    np.testing.assert_allclose(finite, intercepts[~escaped], atol=MASS_POINT_TOLERANCE)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["marginal", "latent"])
def test_bayes_prints_the_posterior_of_the_ml_parameters(kind, capsys):
    """A short run: the summary lists the parameters under their ML names only, then the
    diagnostics (the latent kind's parameterisation included)."""
    assert main(["sleepstudy", "--bayes", "--draws", "50", "--tune", "50", "--chains", "2", "--kind", kind]) == 0
    output = capsys.readouterr().out
    summary = output[output.index("mean"):]
    for name in model_library.load("sleepstudy").layout.names():
        assert name in summary
    assert "cor_chol" not in summary and "b[" not in summary
    assert f"{kind}: max R-hat" in summary and "divergences" in summary
    assert ("subject: " in summary) == (kind == "latent")
