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


# ------------------------------------------------ ordinal responses and dispersion models
@pytest.fixture
def wine():
    return pd.read_csv(DATA / "wine.csv")


@pytest.mark.parametrize(
    "value, message",
    [(2.5, "non-negative integer codes"), (-1, "non-negative integer codes")],
)
def test_ordinal_categories_must_be_non_negative_integers(wine, value, message):
    wine["rating"] = wine["rating"].astype(float)
    wine.loc[4, "rating"] = value
    with pytest.raises(glpp.DataError, match=rf"'rating'.*{message}"):
        glpp.Model("rating ~ warm + (1 | judge)", wine, family="ordinal")


def test_ordinal_response_with_one_category_is_refused(wine):
    wine["rating"] = 3
    with pytest.raises(glpp.DataError, match=r"'rating'.*at least two observed categories"):
        glpp.Model("rating ~ warm + (1 | judge)", wine, family="ordinal")


def test_ordinal_item_with_one_category_is_refused_naming_the_item():
    rng = np.random.default_rng(3)
    wide = pd.DataFrame({"q1": rng.integers(1, 4, 50), "q2": rng.integers(1, 4, 50), "q3": 2})
    with pytest.raises(glpp.DataError, match=r"'q3'.*at least two observed categories"):
        glpp.Model("F =~ q1 + q2 + q3", wide, family="ordinal")


@pytest.mark.parametrize("keyword", ["thresholds", "dispersion"])
def test_auxiliary_formula_naming_a_missing_column(wine, keyword):
    with pytest.raises(glpp.DataError, match=rf"column 'age' used in {keyword}="):
        glpp.Model("rating ~ warm + (1 | judge)", wine, family="ordinal", **{keyword: "~ age"})


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_dispersion_for_a_family_without_one_is_refused(toenail, family):
    with pytest.raises(glpp.SpecError, match=rf"dispersion=.*family '{family}' has no dispersion parameter"):
        glpp.Model("outcome ~ month + (1 | patient)", toenail, family=family, dispersion="~ treatment")


def test_threshold_covariates_need_an_ordinal_response(toenail):
    with pytest.raises(glpp.SpecError, match=r"thresholds=.*need an ordinal response"):
        glpp.Model("outcome ~ month + (1 | patient)", toenail, family="binomial", thresholds="~ treatment")


@pytest.mark.parametrize("text", ["y ~ x", "~ ", "~ x + (1 | g)"])
def test_malformed_one_sided_formulas(wine, text):
    with pytest.raises(glpp.SpecError, match=r"dispersion="):
        glpp.Model("rating ~ warm + (1 | judge)", wine, family="ordinal", dispersion=text)
