"""A family per row of long data (``family="fam_col"``): resolution, errors, likelihood, library models.

The log-likelihood of a per-row-family model is checked against an
independent computation (scipy's adaptive integration over the shared latent,
cluster by cluster) and against the same model written on wide data with a
family per item; the library's endogenous-treatment and dependent-dropout
models (simulated, :mod:`model_library.simulate`) recover their truth, and marginal NUTS
on an identified per-row-family model agrees with its ML fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import glpp
import model_library
from glpp.families import resolve_families

#: glpp's adaptive quadrature (30 points) against scipy.integrate.quad per cluster
LOGLIK_TOLERANCE = 1e-6
#: estimates within this many standard errors of the simulated truth
RECOVERY_Z = 2.0
#: the naive estimate of the treatment effect is at least this many of its SEs from the truth
NAIVE_BIAS_Z = 4.0

LONG_FORMULA = "resp ~ 0 + d1 + d1:x + d2\nF@id =~ eq"
PARAMS = {
    "beta[d1]": 0.4,
    "beta[d1:x]": 0.7,
    "beta[d2]": -0.3,
    "sd[F]": 0.8,
    "lambda[F,y2]": 1.3,
    "sigma": 0.6,
}


def _simulate_pairs(n: int = 40, seed: int = 7) -> pd.DataFrame:
    """Per subject a gaussian row (``eq="y1"``, with covariate x) and a probit row (``eq="y2"``)."""
    rng = np.random.default_rng(seed)
    latent = 0.8 * rng.normal(size=n)
    x = rng.normal(size=n)
    y = 0.4 + 0.7 * x + latent + 0.6 * rng.normal(size=n)
    d = (-0.3 + 1.3 * latent + rng.normal(size=n) > 0).astype(float)
    common = {"id": np.arange(n), "x": x}
    rows = pd.concat(
        [
            pd.DataFrame({**common, "eq": "y1", "resp": y, "fam": "gaussian", "lnk": "identity"}),
            pd.DataFrame({**common, "eq": "y2", "resp": d, "fam": "binomial", "lnk": "probit"}),
        ]
    )
    rows["d1"] = (rows["eq"] == "y1").astype(float)
    rows["d2"] = 1.0 - rows["d1"]
    return rows.sort_values(["id", "eq"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def pairs() -> pd.DataFrame:
    return _simulate_pairs()


@pytest.fixture(scope="module")
def long_model(pairs) -> glpp.Model:
    return glpp.Model(LONG_FORMULA, pairs, family="fam", link="lnk")


# ------------------------------------------------------------ resolution
def test_a_family_column_gives_each_row_its_component(pairs):
    choice = resolve_families("fam", "lnk", pairs)
    names = [(family.name, link.name) for family, link in choice.family.components]
    assert names == [("binomial", "probit"), ("gaussian", "identity")]
    expected = np.where(pairs["fam"] == "binomial", 0, 1)
    np.testing.assert_array_equal(choice.row_families, expected)
    assert choice.family.column == "fam"


def test_without_a_link_column_each_family_takes_its_default_link(pairs):
    choice = resolve_families("fam", None, pairs)
    assert [link.name for _, link in choice.family.components] == ["logit", "identity"]


def test_a_plain_family_name_is_not_a_column(pairs):
    choice = resolve_families("poisson", None, pairs)
    assert choice.row_families is None and choice.family.name == "poisson"


def test_design_has_a_family_index_and_one_sigma(long_model, pairs):
    design = long_model.design
    np.testing.assert_array_equal(design.family_index, np.where(pairs["fam"] == "binomial", 0, 1))
    assert long_model.layout.names("aux") == ("sigma",)
    assert sorted(long_model.layout.names()) == sorted(PARAMS)


# ---------------------------------------------------------------- errors
def test_unknown_family_in_the_column_lists_the_valid_names(pairs):
    data = pairs.assign(fam=pairs["fam"].replace("binomial", "probit"))
    with pytest.raises(glpp.DataError, match=r"'probit' in column 'fam' is not a family.*'binomial'.*'gaussian'"):
        glpp.Model(LONG_FORMULA, data, family="fam")


def test_link_not_allowed_for_its_family_names_both(pairs):
    data = pairs.assign(lnk=pairs["lnk"].replace("identity", "logit"))
    with pytest.raises(glpp.DataError, match=r"family 'gaussian' in column 'fam' with link 'logit' \(column 'lnk'\)"):
        glpp.Model(LONG_FORMULA, data, family="fam", link="lnk")
    with pytest.raises(glpp.DataError, match=r"family 'gaussian'.*link 'probit'.*not available"):
        glpp.Model(LONG_FORMULA, pairs, family="fam", link="probit")


def test_missing_family_names_the_column(pairs):
    data = pairs.assign(fam=pairs["fam"].where(pairs.index != 3))
    with pytest.raises(glpp.DataError, match=r"family column 'fam' has 1 missing values"):
        glpp.Model(LONG_FORMULA, data, family="fam", link="lnk")
    data = pairs.assign(lnk=pairs["lnk"].where(pairs.index != 2))
    with pytest.raises(glpp.DataError, match=r"link column 'lnk' has 1 missing values"):
        glpp.Model(LONG_FORMULA, data, family="fam", link="lnk")


def test_a_name_that_is_a_family_and_a_column_is_ambiguous(pairs):
    with pytest.raises(glpp.SpecError, match=r"'poisson' is both a family name and a column"):
        glpp.Model(LONG_FORMULA, pairs.assign(poisson=pairs["fam"]), family="poisson")
    with pytest.raises(glpp.SpecError, match=r"unknown family 'famm'.*or name a column"):
        glpp.Model(LONG_FORMULA, pairs, family="famm")


@pytest.mark.parametrize("extra", [{"dispersion": "~ x"}, {}])
def test_ordinal_rows_and_dispersion_models_with_a_family_column_are_refused(pairs, extra):
    data = pairs.assign(fam=np.where(pairs["eq"] == "y2", "ordinal" if not extra else "binomial", "gaussian"))
    data = data.assign(lnk=np.where(data["fam"] == "gaussian", "identity", "logit"))
    with pytest.raises(glpp.SpecError, match=r"family column \(family='fam'\).*not available yet"):
        glpp.Model(LONG_FORMULA, data, family="fam", link="lnk", **extra)


def test_response_outside_its_rows_family(pairs):
    data = pairs.copy()
    data.loc[data["eq"] == "y2", "resp"] = 2.0
    with pytest.raises(glpp.DataError, match=r"rows of family binomial"):
        glpp.Model(LONG_FORMULA, data, family="fam", link="lnk")


def test_a_family_column_is_for_long_data():
    wide = pd.DataFrame({"y1": [1.0, 2.0, 0.5], "y2": [0.3, 1.0, 2.0], "y3": [1.0, 0.0, 1.0], "fam": ["gaussian"] * 3})
    with pytest.raises(glpp.SpecError, match="family column .* is for long data"):
        glpp.Model("F =~ y1 + y2 + y3", wide, family="fam")


def test_loading_columns_must_not_overlap(pairs):
    data = pairs.assign(both=1.0)
    with pytest.raises(glpp.DataError, match=r"nonzero in \['d1', 'both'\]"):
        glpp.Model("resp ~ 0 + d1 + d2\nF@id =~ d1 + both", data, family="fam", link="lnk")


# ------------------------------------------------------------ likelihood
def _independent_loglik(data: pd.DataFrame, params: dict[str, float]) -> float:
    """Sum over subjects of the integral over the shared latent (scipy quad), from scipy densities."""
    total = 0.0
    for _, subject in data.groupby("id"):
        y_row = subject[subject["eq"] == "y1"].iloc[0]
        d_row = subject[subject["eq"] == "y2"].iloc[0]
        mean = params["beta[d1]"] + params["beta[d1:x]"] * y_row["x"]

        def integrand(u, y_row=y_row, d_row=d_row, mean=mean):
            eta_d = params["beta[d2]"] + params["lambda[F,y2]"] * u
            log_d = stats.norm.logcdf(eta_d if d_row["resp"] == 1 else -eta_d)
            log_y = stats.norm.logpdf(y_row["resp"], mean + u, params["sigma"])
            return np.exp(log_y + log_d + stats.norm.logpdf(u, 0.0, params["sd[F]"]))

        value, _ = integrate.quad(integrand, -12.0, 12.0, epsabs=1e-13, epsrel=1e-12, limit=200)
        total += np.log(value)
    return total


def test_loglik_matches_an_independent_integration(long_model, pairs):
    expected = _independent_loglik(pairs, PARAMS)
    assert long_model.loglik_at(PARAMS) == pytest.approx(expected, abs=LOGLIK_TOLERANCE)


def test_loglik_equals_the_wide_family_per_item_model(long_model, pairs):
    """The same model on wide data (items y1 and y2 with a family each) has the same log-likelihood."""
    wide = pairs.pivot(index="id", columns="eq", values="resp").join(pairs.groupby("id")["x"].first())
    wide_model = glpp.Model(
        "F =~ y1 + y2\ny1 ~ x", wide.reset_index(), family={"y1": "gaussian", "y2": ("binomial", "probit")}
    )
    renamed = {
        "nu[y1]": PARAMS["beta[d1]"],
        "path[y1~x]": PARAMS["beta[d1:x]"],
        "nu[y2]": PARAMS["beta[d2]"],
        "sd[F]": PARAMS["sd[F]"],
        "lambda[F,y2]": PARAMS["lambda[F,y2]"],
        "sigma[y1]": PARAMS["sigma"],
    }
    assert sorted(wide_model.layout.names()) == sorted(renamed)
    assert long_model.loglik_at(PARAMS, nip=15) == pytest.approx(wide_model.loglik_at(renamed, nip=15), abs=1e-9)


# --------------------------------------------------------- library models
@pytest.fixture(scope="module")
def endogenous_fit():
    return model_library.load("endogenous_treatment").fit()


def _recovery_z(fit, truth: dict[str, float]) -> pd.Series:
    names = list(truth)
    return (fit.params[names] - pd.Series(truth)) / fit.se[names]


@pytest.mark.slow
def test_endogenous_treatment_recovers_the_treatment_effect_the_naive_model_does_not(endogenous_fit):
    truth = model_library.MODELS["endogenous_treatment"].truth
    assert endogenous_fit.converged
    z = _recovery_z(endogenous_fit, truth)
    assert z.abs().max() < RECOVERY_Z, z
    # the outcome equation alone, treatment as a covariate (its overdispersion as a random intercept)
    data = model_library.read_data("endogenous_treatment")
    outcome = data[data["eq"] == "outcome"]
    naive = glpp.Model("resp ~ x + treat + (1 | id)", outcome, family="poisson").fit()
    effect = truth["beta[d_out:treat]"]
    assert (naive.params["beta[treat]"] - effect) / naive.se["beta[treat]"] > NAIVE_BIAS_Z


@pytest.mark.slow
def test_endogenous_treatment_summary_and_eb_latents(endogenous_fit):
    summary = endogenous_fit.summary()
    assert "Families by column 'fam': binomial/probit: 1000 rows, poisson/log: 1000 rows" in summary
    latent = endogenous_fit.latent()
    assert len(latent) == 1000 and np.all(latent["sd"] > 0)
    # subjects who were treated against the odds of their covariates have a higher latent
    data = model_library.read_data("endogenous_treatment").query("eq == 'treatment'")
    assert latent["mean"].to_numpy()[data["resp"].to_numpy() == 1].mean() > latent["mean"].mean()


@pytest.mark.slow
def test_dependent_dropout_recovers_its_truth():
    fit = model_library.load("dependent_dropout").fit()
    assert fit.converged
    z = _recovery_z(fit, model_library.MODELS["dependent_dropout"].truth)
    assert z.abs().max() < RECOVERY_Z, z


# ------------------------------------------------------------ sampling
#: the pairs above identify no model (one gaussian row per subject: its sigma and sd[F] trade
#: off, ML goes to sigma -> 0); a second gaussian indicator per subject makes one
TRIPLE_FORMULA = "resp ~ 0 + d1 + d1:x + d2 + d3\nF@id =~ eq"
TRIPLE_TRUTH = {
    "beta[d1]": 0.4,
    "beta[d1:x]": 0.7,
    "beta[d2]": -0.3,
    "beta[d3]": 0.2,
    "sd[F]": 0.8,
    "lambda[F,y2]": 1.3,
    "lambda[F,y3]": 0.9,
    "sigma": 0.6,
}
#: posterior means within this many ML standard errors of the ML estimates (the default weakly
#: informative priors and 200 subjects: the posterior is near normal, save the probit loading's,
#: which is skewed right: at this seed its mean is 0.57 SE above the mode, sigma's 0.46 SE, the
#: rest within 0.12 SE; the Monte Carlo error of 200 draws is ~0.1 SE)
BAYES_MEAN_SE = 1.0


def _simulate_triples(n: int = 200, seed: int = 11) -> pd.DataFrame:
    """Per subject two gaussian rows (``eq="y1"`` with covariate x, ``eq="y3"``) and a probit
    row (``eq="y2"``), all loading on one latent."""
    rng = np.random.default_rng(seed)
    t = TRIPLE_TRUTH
    latent = t["sd[F]"] * rng.normal(size=n)
    x = rng.normal(size=n)
    y1 = t["beta[d1]"] + t["beta[d1:x]"] * x + latent + t["sigma"] * rng.normal(size=n)
    y3 = t["beta[d3]"] + t["lambda[F,y3]"] * latent + t["sigma"] * rng.normal(size=n)
    d = (t["beta[d2]"] + t["lambda[F,y2]"] * latent + rng.normal(size=n) > 0).astype(float)
    common = {"id": np.arange(n), "x": x}
    rows = pd.concat(
        [
            pd.DataFrame({**common, "eq": "y1", "resp": y1, "fam": "gaussian", "lnk": "identity"}),
            pd.DataFrame({**common, "eq": "y2", "resp": d, "fam": "binomial", "lnk": "probit"}),
            pd.DataFrame({**common, "eq": "y3", "resp": y3, "fam": "gaussian", "lnk": "identity"}),
        ]
    )
    for k in (1, 2, 3):
        rows[f"d{k}"] = (rows["eq"] == f"y{k}").astype(float)
    return rows.sort_values(["id", "eq"]).reset_index(drop=True)


@pytest.mark.slow
def test_marginal_sampling_of_a_per_row_family_model():
    model = glpp.Model(TRIPLE_FORMULA, _simulate_triples(), family="fam", link="lnk")
    fit = model.fit()
    assert fit.converged
    assert _recovery_z(fit, TRIPLE_TRUTH).abs().max() < RECOVERY_Z
    idata = model.sample(kind="marginal", draws=200, tune=200, chains=1, random_seed=3, progressbar=False)
    posterior = idata.posterior
    assert set(TRIPLE_TRUTH) <= set(posterior.data_vars)
    for name in TRIPLE_TRUTH:
        mean = float(posterior[name].mean())
        assert abs(mean - fit.params[name]) < BAYES_MEAN_SE * fit.se[name], (name, mean, fit.params[name])
