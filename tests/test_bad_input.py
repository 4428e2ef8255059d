"""The bad-input table: each case gets the exact error class and a message naming the term or column.

Every case builds a :class:`glpp.Model` (no fitting, no compilation): the
checks run before any graph exists. Add a row for every new kind of input a
feature can refuse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

import glpp

DATA = Path(__file__).resolve().parents[1] / "model_library" / "data"
TOENAIL_MODEL = "outcome ~ treatment + month + (1 | patient)"


def _read(name: str) -> Callable[[], pd.DataFrame]:
    return lambda: pd.read_csv(DATA / name)


def _toenail(**columns) -> Callable[[], pd.DataFrame]:
    """The toenail data with columns added or replaced (callables receive the data)."""

    def make() -> pd.DataFrame:
        data = pd.read_csv(DATA / "toenail.csv")
        for name, value in columns.items():
            data[name] = value(data) if callable(value) else value
        return data

    return make


def _with_cell(column: str, row: int, value) -> Callable[[], pd.DataFrame]:
    def make() -> pd.DataFrame:
        data = pd.read_csv(DATA / "toenail.csv")
        data[column] = data[column].astype(float)
        data.loc[row, column] = value
        return data

    return make


toenail, holzinger, cbpp, verbagg_wide = (_read(name) for name in ("toenail.csv", "holzinger.csv", "cbpp.csv", "verbagg_wide.csv"))
cace, growth_mixture = _read("cace.csv"), _read("growth_mixture.csv")
CACE_MODEL = "y ~ x + C + C1:z\nC ~~ classes(2, known = compliance)"

#: (id, model string, data maker, family, keyword arguments, error class, message pattern)
CASES = [
    # --- the model string
    ("typo-operator", "F =~~ x1 + x2 + x3", holzinger, "gaussian", {}, glpp.SpecError, r"expected a term before '~'.*column 5"),
    ("unknown-operator", "F ~= x1 + x2 + x3", holzinger, "gaussian", {}, glpp.SpecError, r"unexpected character '='.*column 4"),
    ("unclosed-parenthesis", "outcome ~ month + (1 | patient", toenail, "binomial", {}, glpp.SpecError, r"'\(' is never closed"),
    ("unmatched-parenthesis", "outcome ~ month + 1 | patient)", toenail, "binomial", {}, glpp.SpecError, r"unmatched '\)'"),
    ("empty-right-hand-side", "outcome ~ ", toenail, "binomial", {}, glpp.SpecError, r"'~' needs a right-hand side"),
    # a model without latents is a GLM (tests/test_glm.py); a latent statement needs a latent or grouping
    ("no-latent-variable", "outcome ~ month\npatient ~~ masspoints(5)", toenail, "binomial", {}, glpp.SpecError, r"no latent or grouping 'patient' in the model; available: \[\]"),
    ("random-term-without-latent", "outcome ~ month + (0 | patient)", toenail, "binomial", {}, glpp.SpecError, r"'\(0 \| patient\)' has no intercept"),
    ("repeated-random-term", "outcome ~ month + (1 | patient) + (1 | patient)", toenail, "binomial", {}, glpp.SpecError, r"\(1 \| patient\) repeats '\(Intercept\)'"),
    ("latent-defined-twice", "F =~ x1 + x2 + x3\nF =~ x4 + x5 + x6", holzinger, "gaussian", {}, glpp.SpecError, r"latent 'F' is already defined.*line 2"),
    ("latent-never-defined", "F =~ x1 + x2 + x3\nF ~ G", holzinger, "gaussian", {}, glpp.DataError, r"'G' in 'F ~ \.\.\.' is neither a latent variable"),
    ("cyclic-structural-model", "F =~ x1 + x2 + x3\nG =~ x4 + x5 + x6\nF ~ G\nG ~ F", holzinger, "gaussian", {}, glpp.SpecError, r"cycle: F <- G <- F"),
    ("covariance-with-unknown-latent", "F =~ x1 + x2 + x3\nF ~~ H", holzinger, "gaussian", {}, glpp.SpecError, r"'F ~~ H': 'H' is not a latent variable"),
    ("label-across-kinds", "F =~ x1 + a*x2 + x3\nF ~ a*x4", holzinger, "gaussian", {}, glpp.SpecError, r"label 'a' is given to parameters of different kinds \(lambda\[a\], path\[F~x4\]\)"),
    ("label-on-two-paths", "F =~ x1 + x2 + x3\nG =~ x4 + x5 + x6\nH =~ x7 + x8 + x9\nG ~ a*F\nH ~ a*F", holzinger, "gaussian", {}, glpp.SpecError, r"label 'a' is given to the structural paths path\[G~F\], path\[H~F\]"),
    ("label-on-latent-covariance", "F =~ x1 + x2 + x3\nG =~ x4 + x5 + x6\nF ~~ b*G", holzinger, "gaussian", {}, glpp.SpecError, r"'F ~~ b\*G': labels .* latent variances and covariances are not supported"),
    ("classes-1", "C =~ i1 + i2 + i3\nC ~~ classes(1)", verbagg_wide, "binomial", {}, glpp.SpecError, r"classes\(\) takes one whole number of at least 2.*got '1'"),
    ("masspoints-0", TOENAIL_MODEL + "\npatient ~~ masspoints(0)", toenail, "binomial", {}, glpp.SpecError, r"masspoints\(\) takes one whole number of at least 2.*got '0'"),
    ("class-number-beyond-k", "y ~ C + C3:z\nC ~~ classes(2)", cace, "gaussian", {}, glpp.SpecError, r"'C3': C has 2 classes.*name a class C1 to C2"),
    ("class-variable-times-covariate", "y ~ C*z\nC ~~ classes(2)", cace, "gaussian", {}, glpp.SpecError, r"'C\*z': a latent class variable enters a regression as C.*C \+ C:x instead of C\*x"),
    ("known-column-missing", CACE_MODEL.replace("= compliance", "= complied"), cace, "gaussian", {}, glpp.SpecError, r"'C ~~ classes\(2, known = complied\)': no column 'complied' in the data for known="),
    ("known-class-outside-1-k", CACE_MODEL, lambda: cace().replace({"compliance": {2.0: 3.0}}), "gaussian", {}, glpp.SpecError, r"column 'compliance' holds 3.0; known= takes the class numbers 1 to 2"),
    ("known-class-varies-in-unit", "y ~ C + C:time + (1 | id)\nC@id ~~ classes(2, known = k)", lambda: growth_mixture().assign(k=lambda d: 1.0 + (d.time > 2)), "gaussian", {}, glpp.SpecError, r"column 'k' gives different classes to rows of one unit"),
    ("known-of-masspoints", TOENAIL_MODEL + "\npatient ~~ masspoints(2, known = treatment)", toenail, "binomial", {}, glpp.SpecError, r"the only keyword is known= of classes\(\)"),
    ("known-in-measurement-model", "C =~ i1 + i2 + i3\nC ~~ classes(2, known = i1)", verbagg_wide, "binomial", {}, glpp.SpecError, r"known= and '@level' are available for classes in a regression.*not available yet"),
    ("classes-below-random-effects", "y ~ C + C:time + (1 | id)\nC ~~ classes(2)", growth_mixture, "gaussian", {}, glpp.SpecError, r"the classes must vary at the level of one grouping.*'C@id ~~ classes\(2\)'.*not available yet"),
    ("growth-mixture-random-slope", "y ~ C + C:time + (time | id)\nC@id ~~ classes(2)", growth_mixture, "gaussian", {}, glpp.SpecError, r"a growth mixture takes one random effect within class.*not available yet"),
    ("class-slope-and-fixed-slope", "y ~ time + C + C:time + (1 | id)\nC@id ~~ classes(2)", growth_mixture, "gaussian", {}, glpp.SpecError, r"'time' is both a fixed term and a class term"),
    # --- families and links
    ("unknown-family", TOENAIL_MODEL, toenail, "binomal", {}, glpp.SpecError, r"unknown family 'binomal'; choose one of \[.*'binomial'"),
    ("unknown-link", TOENAIL_MODEL, toenail, "binomial", {"link": "logitt"}, glpp.SpecError, r"unknown link 'logitt'; choose one of \[.*'logit'"),
    ("link-not-allowed", TOENAIL_MODEL, toenail, "poisson", {"link": "logit"}, glpp.SpecError, r"link 'logit' is not available for family 'poisson'; use one of \['log'"),
    ("family-dict-missing-item", "F =~ x1 + x2 + x3", holzinger, {"x1": "gaussian", "x2": "gaussian"}, {}, glpp.SpecError, r"not for \['x3'\]"),
    ("cbind-without-trials", "cbind(outcome, treatment) ~ month + (1 | patient)", toenail, "poisson", {}, glpp.SpecError, r"cbind\(successes, failures\) is only meaningful.*'poisson'"),
    # --- columns
    ("unknown-fixed-column", "outcome ~ treatment + visit + (1 | patient)", toenail, "binomial", {}, glpp.DataError, r"column 'visit' used in fixed part"),
    ("unknown-grouping-column", "outcome ~ month + (1 | clinic)", toenail, "binomial", {}, glpp.DataError, r"column 'clinic' used in random term \(1 \| clinic\)"),
    ("unknown-response-column", "cured ~ month + (1 | patient)", toenail, "binomial", {}, glpp.DataError, r"column 'cured' used in response 'cured'"),
    ("unknown-offset-column", "outcome ~ month + offset(log(expo)) + (1 | patient)", toenail, "binomial", {}, glpp.DataError, r"column 'expo' used in offset\(log\(expo\)\)"),
    ("unknown-indicator", "F =~ x1 + x2 + x99", holzinger, "gaussian", {}, glpp.DataError, r"column 'x99' used in 'F =~ \.\.\.'"),
    ("non-numeric-response", "y ~ month + (1 | patient)", _toenail(y=lambda d: d.outcome.map({0: "no", 1: "yes"})), "binomial", {}, glpp.DataError, r"'y' is not numeric.*recode"),
    ("non-numeric-offset", "outcome ~ month + offset(s) + (1 | patient)", _toenail(s="a"), "binomial", {}, glpp.DataError, r"offset\(s\): 's' is not numeric"),
    ("duplicated-column-names", TOENAIL_MODEL, lambda: pd.concat([toenail(), toenail()[["month"]]], axis=1), "binomial", {}, glpp.DataError, r"more than one column named 'month'"),
    ("empty-data-frame", TOENAIL_MODEL, lambda: toenail().iloc[:0], "binomial", {}, glpp.DataError, r"the data frame has no rows"),
    ("all-rows-missing", "outcome ~ z + (1 | patient)", _toenail(z=np.nan), "binomial", {}, glpp.DataError, r"no complete rows left.*'z' \(1908 of 1908 missing\)"),
    ("wide-units-missing", "F =~ x1 + x2 + x3", lambda: holzinger().assign(x2=np.nan), "gaussian", {}, glpp.DataError, r"fewer than 2 complete units .*'x2' \(301 of 301 missing\)"),
    # --- responses outside the family's support
    ("bernoulli-not-0-1", TOENAIL_MODEL, _toenail(outcome=lambda d: 2 * d.outcome), "binomial", {}, glpp.DataError, r"response 'outcome'.*must be 0 or 1; found 2"),
    ("response-infinite", TOENAIL_MODEL, _with_cell("outcome", 3, np.inf), "binomial", {}, glpp.DataError, r"response 'outcome'.*found inf"),
    ("successes-above-trials", "cbind(incidence, size - incidence - 20) ~ period + (1 | herd)", cbpp, "binomial", {}, glpp.DataError, r"failures 'size - incidence - 20' are negative"),
    ("negative-counts", "y ~ month + (1 | patient)", _toenail(y=lambda d: -d.outcome), "poisson", {}, glpp.DataError, r"response 'y'.*non-negative; found -1"),
    ("non-integer-counts", "y ~ month + (1 | patient)", _toenail(y=lambda d: d.outcome + 0.5), "poisson", {}, glpp.DataError, r"response 'y'.*must be integers"),
    ("gamma-not-positive", "y ~ month + (1 | patient)", _toenail(y=lambda d: d.outcome), "gamma", {}, glpp.DataError, r"response 'y'.*must be positive; found 0"),
    ("constant-gaussian-response", "y ~ month + (1 | patient)", _toenail(y=1.0), "gaussian", {}, glpp.DataError, r"response 'y' takes the single value 1"),
    ("constant-item", "F =~ x1 + x2 + x3", lambda: holzinger().assign(x3=2.0), "gaussian", {}, glpp.DataError, r"response 'x3' takes the single value 2"),
    # --- groupings
    ("grouping-with-one-level", "outcome ~ month + (1 | g)", _toenail(g=1), "binomial", {}, glpp.DataError, r"grouping 'g'.*has 1 level"),
    ("grouping-with-missing", TOENAIL_MODEL, _with_cell("patient", 3, np.nan), "binomial", {}, glpp.DataError, r"grouping column 'patient' has 1 missing value\(s\) \(first in row 3\)"),
    ("crossed-groupings", "outcome ~ month + (1 | patient) + (1 | m)", _toenail(m=lambda d: d.month.round()), "binomial", {}, glpp.DataError, r"grouping 'patient' is not nested in 'm'.*Crossed"),
    # --- identification, before fitting
    ("random-slope-constant-within-clusters", "outcome ~ treatment + month + (1 + treatment | patient)", toenail, "binomial", {}, glpp.IdentificationError, r"'treatment' does not vary within any cluster of 'patient'.*not identified"),
    ("collinear-fixed-effects", "outcome ~ treatment + month + tm + (1 | patient)", _toenail(tm=lambda d: 2 * d.month + d.treatment), "binomial", {}, glpp.IdentificationError, r"rank deficient: 'tm' is a linear combination"),
    ("latent-without-scale", "F =~ NA*x1 + x2 + x3", holzinger, "gaussian", {}, glpp.IdentificationError, r"'F' has no fixed scale"),
    ("more-parameters-than-moments", "F =~ x1 + x2", holzinger, "gaussian", {}, glpp.IdentificationError, r"6 free parameters but the data give only 5"),
]


@pytest.mark.parametrize(
    "source, make_data, family, options, error, pattern",
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_is_refused_with_a_named_cause(source, make_data, family, options, error, pattern):
    with pytest.raises(error, match=pattern):
        glpp.Model(source, make_data(), family=family, **options)


def test_the_table_is_large_enough():
    assert len(CASES) >= 40
    assert len({case[0] for case in CASES}) == len(CASES)


def test_the_callers_data_frame_is_not_modified():
    data = toenail()
    data.loc[[0, 5], "month"] = np.nan
    before = data.copy()
    glpp.Model("outcome ~ treatment + month + (1 | patient)", data, family="binomial")
    pd.testing.assert_frame_equal(data, before)


def test_a_random_slope_of_a_cluster_constant_covariate_with_many_values_warns():
    data = toenail()
    codes = pd.factorize(data.patient)[0]
    data["dose"] = (codes % 5).astype(float)
    with pytest.warns(glpp.IdentificationWarning, match=r"'dose' does not vary within any cluster.*5 distinct values"):
        glpp.Model("outcome ~ dose + month + (1 + dose | patient)", data, family="binomial")
