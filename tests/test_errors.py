"""Bad input gets a clear glpp error naming the term or column, never a wrong answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glpp

DATA = Path(__file__).resolve().parents[1] / "model_library" / "data"


@pytest.fixture
def toenail():
    return pd.read_csv(DATA / "toenail.csv")


def test_unknown_column_names_the_column_and_term(toenail):
    with pytest.raises(glpp.DataError, match=r"column 'visit'.*fixed part"):
        glpp.Model("outcome ~ treatment + visit + (1 | patient)", toenail, family="binomial")
    with pytest.raises(glpp.DataError, match=r"column 'clinic'.*random term"):
        glpp.Model("outcome ~ treatment + (1 | clinic)", toenail, family="binomial")


def test_bernoulli_response_must_be_zero_or_one(toenail):
    toenail.loc[3, "outcome"] = 2
    with pytest.raises(glpp.DataError, match=r"'outcome'.*must be 0 or 1"):
        glpp.Model("outcome ~ month + (1 | patient)", toenail, family="binomial")


def test_negative_counts_are_rejected(toenail):
    toenail.loc[0, "outcome"] = -1
    with pytest.raises(glpp.DataError, match=r"poisson counts must be non-negative"):
        glpp.Model("outcome ~ month + (1 | patient)", toenail, family="poisson")


def test_trials_smaller_than_successes():
    data = pd.DataFrame({"s": [3, 1, 2, 0], "n": [2, 4, 4, 4], "g": [1, 1, 2, 2]})
    with pytest.raises(glpp.DataError, match=r"cbind\(s, n - s\).*negative"):
        glpp.Model("cbind(s, n - s) ~ 1 + (1 | g)", data, family="binomial")


def test_gamma_response_must_be_positive():
    data = pd.DataFrame({"y": [1.0, 0.0, 2.0, 3.0], "g": [1, 1, 2, 2]})
    with pytest.raises(glpp.DataError, match="positive"):
        glpp.Model("y ~ 1 + (1 | g)", data, family="gamma")


def test_grouping_with_one_level(toenail):
    toenail["clinic"] = 1
    with pytest.raises(glpp.DataError, match=r"'clinic'.*1 level"):
        glpp.Model("outcome ~ month + (1 | clinic)", toenail, family="binomial")


def test_unparseable_formula_points_at_the_position(toenail):
    with pytest.raises(glpp.SpecError) as error:
        glpp.Model("outcome ~ month + + (1 | patient)", toenail, family="binomial")
    assert error.value.position == 18
    assert "^" in str(error.value)


def test_unknown_family_and_incompatible_link(toenail):
    with pytest.raises(glpp.SpecError, match="unknown family"):
        glpp.Model("outcome ~ month + (1 | patient)", toenail, family="binomal")
    with pytest.raises(glpp.SpecError, match="not available for family 'poisson'"):
        glpp.Model("outcome ~ month + (1 | patient)", toenail, family="poisson", link="logit")


def test_non_numeric_response_is_not_coerced(toenail):
    toenail["outcome"] = np.where(toenail["outcome"] == 1, "yes", "no")
    with pytest.raises(glpp.DataError, match="not numeric"):
        glpp.Model("outcome ~ month + (1 | patient)", toenail, family="binomial")


def test_missing_values_are_dropped_and_counted(toenail):
    toenail.loc[[0, 5, 9], "month"] = np.nan
    toenail["unused"] = np.nan
    model = glpp.Model("outcome ~ month + (1 | patient)", toenail, family="binomial")
    assert model.design.n_dropped == 3
    assert model.design.n_rows == len(toenail) - 3


@pytest.mark.parametrize(
    "statement, message",
    [
        ("C ~~ classes(3)", r"no latent or grouping 'C'"),
        ("patient ~~ classes(3)", r"latent classes need a measurement statement on wide data"),
    ],
)
def test_discrete_latents_the_model_cannot_carry(statement, message):
    """An error naming the statement, never a normal latent in its place."""
    data = pd.read_csv(DATA / "toenail.csv")
    source = f"outcome ~ treatment + month + (1 | patient)\n{statement}"
    with pytest.raises(glpp.SpecError, match=message) as error:
        glpp.Model(source, data, family="binomial")
    assert statement in str(error.value)


def test_masspoints_of_an_lme4_term_are_named_by_its_grouping():
    data = pd.read_csv(DATA / "toenail.csv")
    model = glpp.Model("outcome ~ month + (1 | patient)\npatient ~~ masspoints(4)", data, family="binomial")
    assert model.design.discrete.n_points == 4
    assert model.layout.n_theta == 2 + 3 + 3
