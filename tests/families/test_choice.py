"""Choice families: multinomial logit over choice sets and rankings (exploded logit).

The log-likelihood of each family with random effects is checked against an
independent numpy computation (plain Gauss-Hermite quadrature of high order
over the choice probabilities, with the ranking exploded into stages by a
loop written here); bad data must raise errors that name the column; slow
tests fit the library's multinomial and rankings models (simulated by
model_library/simulate.py, which also simulates the small data sets here),
recover their truth (key parameters within 2 standard errors, all within 3)
and match numpy at the estimates, and fit the Bayesian kinds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import special

import glpp
import model_library
from glpp.families.choice import set_log_normaliser
from model_library import simulate

#: glpp's adaptive quadrature and numpy's plain rule of high order both converge to the
#: integral; agreement asked by the acceptance criteria (relative)
LOGLIK_RTOL = 1e-6
#: points per dimension of glpp's adaptive rule (31: within 2e-10 relative of the converged
#: value on both data sets) and of the numpy reference's plain rule, which needs more: the
#: ranking's plain rule is 6e-7 relative off at 50 points, 5e-10 at 100, converged at 150
GLPP_POINTS = 31
NUMPY_POINTS = {1: 150, 2: 60}

#: the library's simulations (model_library/simulate.py) and their truth
MULTINOMIAL_TRUTH = model_library.MODELS["multinomial"].truth
MULTINOMIAL_FORMULA = model_library.MODELS["multinomial"].formula
RANKING_TRUTH = model_library.MODELS["rankings"].truth
RANKING_FORMULA = model_library.MODELS["rankings"].formula


def explode_rankings(frame: pd.DataFrame, set_column: str = "ranking") -> pd.DataFrame:
    """The reference's own explosion: one choice set per stage, by a plain loop."""
    pieces = []
    for code, ranking in frame.groupby(set_column, sort=False):
        n_ranked = int((ranking["rank"] > 0).sum())
        for stage in range(1, min(n_ranked, len(ranking) - 1) + 1):
            remaining = ranking[(ranking["rank"] >= stage) | (ranking["rank"] == 0)].copy()
            remaining["chosen"] = (remaining["rank"] == stage).astype(int)
            remaining["situation"] = f"{code}/{stage}"
            pieces.append(remaining)
    return pd.concat(pieces, ignore_index=True)


def numpy_choice_loglik(frame: pd.DataFrame, fixed: dict, random: list[str], covariance: np.ndarray) -> float:
    """Marginal log-likelihood of expanded choice data by plain Gauss-Hermite quadrature (numpy).

    ``fixed``: coefficient of each column; ``random``: the columns of the random effects over
    ``g`` with ``covariance``. Rows must be sorted by ``g`` with each situation contiguous.
    """
    d = len(random)
    nodes, weights = np.polynomial.hermite.hermgauss(NUMPY_POINTS[d])
    grid = np.stack(np.meshgrid(*[nodes] * d, indexing="ij"), axis=-1).reshape(-1, d) * np.sqrt(2.0)
    log_weights = sum(np.meshgrid(*[np.log(weights)] * d, indexing="ij")).ravel() - 0.5 * d * np.log(np.pi)
    effects = grid @ np.linalg.cholesky(covariance).T  # (Q, d)
    eta = sum(value * frame[column].to_numpy() for column, value in fixed.items())
    eta = eta[:, None] + frame[random].to_numpy() @ effects.T  # (N, Q)
    set_starts = np.flatnonzero(np.r_[True, frame.situation.to_numpy()[1:] != frame.situation.to_numpy()[:-1]])
    chosen_eta = np.add.reduceat(frame.chosen.to_numpy()[:, None] * eta, set_starts, axis=0)
    set_logp = chosen_eta - np.logaddexp.reduceat(eta, set_starts, axis=0)
    set_group = frame.g.to_numpy()[set_starts]
    group_starts = np.flatnonzero(np.r_[True, set_group[1:] != set_group[:-1]])
    group_logp = np.add.reduceat(set_logp, group_starts, axis=0)
    return float(special.logsumexp(group_logp + log_weights, axis=1).sum())


@pytest.fixture(scope="module")
def multinomial_data():
    return simulate.multinomial(n_groups=60, per_group=5, seed=11)


@pytest.fixture(scope="module")
def ranking_data():
    return simulate.rankings(n_groups=60, per_group=3, seed=12)


def test_set_log_normaliser_matches_scipy_with_trailing_axes():
    set_start = np.array([1, 0, 0, 1, 0, 1, 0, 0, 0])
    eta_value = np.random.default_rng(3).normal(size=(9, 4)) * 5
    eta = pt.matrix("eta")
    start = pt.vector("start", dtype="int64")
    function = pytensor.function([eta, start], set_log_normaliser(eta, start), mode="FAST_COMPILE")
    expected = np.concatenate([
        np.repeat(special.logsumexp(eta_value[a:b], axis=0, keepdims=True), b - a, axis=0)
        for a, b in [(0, 3), (3, 5), (5, 9)]
    ])
    np.testing.assert_allclose(function(eta_value, set_start), expected, rtol=1e-12)


def test_multinomial_loglik_matches_numpy_quadrature(multinomial_data):
    model = glpp.Model(MULTINOMIAL_FORMULA, multinomial_data, family="multinomial", choice_set="situation")
    assert model.layout.n_theta == len(MULTINOMIAL_TRUTH)
    assert list(model.layout.natural_names) == list(MULTINOMIAL_TRUTH)
    glpp_value = model.loglik_at(MULTINOMIAL_TRUTH, nip=GLPP_POINTS)
    t = MULTINOMIAL_TRUTH
    sd = np.array([t["sd[alt2|g]"], t["sd[alt3|g]"]])
    correlation = np.array([[1.0, t["cor[alt2,alt3|g]"]], [t["cor[alt2,alt3|g]"], 1.0]])
    fixed = {name[5:-1]: value for name, value in t.items() if name.startswith("beta")}
    expected = numpy_choice_loglik(multinomial_data, fixed, ["alt2", "alt3"], np.outer(sd, sd) * correlation)
    np.testing.assert_allclose(glpp_value, expected, rtol=LOGLIK_RTOL)


def test_ranking_loglik_matches_numpy_quadrature(ranking_data):
    model = glpp.Model(RANKING_FORMULA, ranking_data, family="ranking", choice_set="ranking")
    glpp_value = model.loglik_at(RANKING_TRUTH, nip=GLPP_POINTS)
    exploded = explode_rankings(ranking_data)
    assert model.design.n_rows == len(exploded)
    fixed = {name[5:-1]: value for name, value in RANKING_TRUTH.items() if name.startswith("beta")}
    expected = numpy_choice_loglik(exploded, fixed, ["q"], np.array([[RANKING_TRUTH["sd[q|g]"] ** 2]]))
    np.testing.assert_allclose(glpp_value, expected, rtol=LOGLIK_RTOL)


# ---------------------------------------------------------------- bad input
def _small_choices() -> pd.DataFrame:
    return pd.DataFrame({
        "g": [1, 1, 1, 1, 2, 2, 2, 2], "situation": [1, 1, 2, 2, 3, 3, 4, 4],
        "chosen": [1, 0, 0, 1, 1, 0, 0, 1], "alt2": [0.0, 1.0] * 4, "q": [0.3, -1.0, 2.0, 0.1, 0.5, 0.4, -0.2, 1.1],
    })


def test_choice_set_with_no_or_two_chosen_alternatives_names_the_column():
    data = _small_choices()
    data.loc[2, "chosen"] = 1
    with pytest.raises(glpp.DataError, match=r"'chosen'.*choice set 2 has no or several chosen"):
        glpp.Model("chosen ~ 0 + alt2 + (0 + q | g)", data, family="multinomial", choice_set="situation")
    data.loc[[2, 3], "chosen"] = 0
    with pytest.raises(glpp.DataError, match=r"'chosen'.*choice set 2 has no or several chosen"):
        glpp.Model("chosen ~ 0 + alt2 + (0 + q | g)", data, family="multinomial", choice_set="situation")


def test_multinomial_response_with_a_single_category_names_the_column():
    data = _small_choices().drop_duplicates("situation").assign(chosen=1)
    with pytest.raises(glpp.DataError, match=r"response 'chosen' has a single category"):
        glpp.Model("chosen ~ 0 + alt2 + (0 + q | g)", data, family="multinomial", choice_set="situation")


def test_ranking_with_ties_names_the_column_and_the_ranking():
    data = _small_choices().rename(columns={"chosen": "rank"})
    data["rank"] = [1, 2, 2, 1, 1, 1, 1, 2]
    with pytest.raises(glpp.DataError, match=r"response 'rank'.*ranking 3 has ties"):
        glpp.Model("rank ~ 0 + alt2 + (0 + q | g)", data, family="ranking", choice_set="situation")


def test_choice_model_checks():
    data = _small_choices()
    with pytest.raises(glpp.SpecError, match=r"needs choice_set="):
        glpp.Model("chosen ~ 0 + alt2 + (0 + q | g)", data, family="multinomial")
    with pytest.raises(glpp.SpecError, match=r"'\(Intercept\)' is constant within every choice set"):
        glpp.Model("chosen ~ alt2 + (0 + q | g)", data, family="multinomial", choice_set="situation")
    with pytest.raises(glpp.SpecError, match=r"random effect '\(Intercept\)' of 'g' is constant"):
        glpp.Model("chosen ~ 0 + alt2 + (1 | g)", data, family="multinomial", choice_set="situation")
    with pytest.raises(glpp.DataError, match=r"choice set 2 of column 'situation' has rows in two clusters"):
        glpp.Model("chosen ~ 0 + alt2 + (0 + q | g)", data.assign(g=[1, 1, 1, 2, 2, 2, 2, 2]),
                   family="multinomial", choice_set="situation")
    with pytest.raises(glpp.SpecError, match=r"choice_set='situation' is for the choice families"):
        glpp.Model("chosen ~ 0 + alt2 + (0 + q | g)", data, family="binomial", choice_set="situation")


def test_ranking_explosion_and_dropped_sets():
    """Partial and full rankings become their stages; a set with a missing value is dropped whole."""
    data = _small_choices().rename(columns={"chosen": "rank"})
    data = pd.concat([data, data.iloc[:2].assign(situation=5, g=2)], ignore_index=True)
    data["rank"] = [1, 0, 2, 1, 1, 2, 0, 1, 2, 1]
    data.loc[9, "q"] = np.nan
    model = glpp.Model("rank ~ 0 + alt2 + (0 + q | g)", data, family="ranking", choice_set="situation")
    # every ranking here has two alternatives: one stage each; set 5 is dropped (2 rows)
    assert model.design.n_dropped == 2
    assert model.design.n_rows == 8 and model.design.choice_start.sum() == 4
    reference = explode_rankings(data.iloc[:8], "situation")
    np.testing.assert_array_equal(model.design.response, reference.chosen.to_numpy())



def test_expand_nominal_builds_category_specific_columns():
    wide = pd.DataFrame({"y": ["b", "a", "c", np.nan], "x": [0.5, -1.0, 2.0, 1.0], "g": [1, 1, 2, 2]})
    long = glpp.expand_nominal(wide, "y", ["x"])
    assert len(long) == 12 and list(long.alternative[:3]) == ["a", "b", "c"]
    np.testing.assert_array_equal(long.chosen[:9], [0, 1, 0, 1, 0, 0, 0, 0, 1])
    assert long.chosen[9:].isna().all()  # a missing response: the whole set is dropped by the model
    np.testing.assert_array_equal(long.x_b[:3], [0.0, 0.5, 0.0])
    np.testing.assert_array_equal(long.y_c[:3], [0.0, 0.0, 1.0])
    assert "x_a" not in long and "y_a" not in long  # the reference category
    assert glpp.expand_nominal(wide, "y", reference="c").alternative[0] == "c"
    with pytest.raises(glpp.DataError, match=r"response 'y' has a single category"):
        glpp.expand_nominal(wide.assign(y="a"), "y")


# ---------------------------------------------------------------- fits (slow)
#: simulated truth (seeded data), as tests/test_class_regression.py: the key parameters within
#: RECOVERY_SE standard errors of the truth, every estimate within ALL_RECOVERY_SE (five to eight
#: estimates at 2 SE each would fail by chance one time in four or three)
RECOVERY_SE = 2.0
ALL_RECOVERY_SE = 3.0


def _assert_recovers(fit, truth: dict, key_parameters: tuple[str, ...]) -> None:
    assert fit.converged
    z = {name: (fit.params[name] - value) / fit.se[name] for name, value in truth.items()}
    assert all(abs(z[name]) < RECOVERY_SE for name in key_parameters), z
    assert all(abs(value) < ALL_RECOVERY_SE for value in z.values()), z


@pytest.fixture(scope="module")
def multinomial_fit():
    """The library's multinomial model: 300 groups of 8 choice sets."""
    return model_library.load("multinomial").fit()


@pytest.fixture(scope="module")
def ranking_fit():
    """The library's rankings: 300 groups of 4 rankings."""
    return model_library.load("rankings").fit()


def _group_chunks(frame: pd.DataFrame, groups_per_chunk: int = 30):
    """The frame in pieces of whole groups (the numpy reference's (rows, points) arrays stay
    small)."""
    chunk = frame["g"].to_numpy() // groups_per_chunk
    return (piece for _, piece in frame.groupby(chunk, sort=True))


@pytest.mark.slow
def test_multinomial_recovers_truth_and_eb_latents(multinomial_fit):
    fit = multinomial_fit
    _assert_recovers(fit, MULTINOMIAL_TRUTH, ("beta[x2]", "beta[x3]", "sd[alt2|g]", "sd[alt3|g]"))
    assert fit.n_params == len(MULTINOMIAL_TRUTH)
    latent = fit.latent()
    assert len(latent) == 300 * 2 or latent.shape[0] == 300
    assert np.all(np.isfinite(latent.select_dtypes("number").to_numpy()))
    assert "multinomial" in str(fit.summary())


@pytest.mark.slow
def test_multinomial_loglik_at_the_estimate_matches_numpy_quadrature(multinomial_fit):
    t = multinomial_fit.params
    data = model_library.read_data("multinomial")
    glpp_value = model_library.load("multinomial").loglik_at(t.to_dict(), nip=GLPP_POINTS)
    sd = np.array([t["sd[alt2|g]"], t["sd[alt3|g]"]])
    correlation = np.array([[1.0, t["cor[alt2,alt3|g]"]], [t["cor[alt2,alt3|g]"], 1.0]])
    fixed = {name[5:-1]: value for name, value in t.items() if name.startswith("beta")}
    expected = sum(
        numpy_choice_loglik(piece, fixed, ["alt2", "alt3"], np.outer(sd, sd) * correlation)
        for piece in _group_chunks(data)
    )
    np.testing.assert_allclose(glpp_value, expected, rtol=LOGLIK_RTOL)


@pytest.mark.slow
def test_ranking_recovers_truth(ranking_fit):
    _assert_recovers(ranking_fit, RANKING_TRUTH, ("beta[q]", "sd[q|g]"))
    assert ranking_fit.n_params == len(RANKING_TRUTH)


@pytest.mark.slow
def test_ranking_loglik_at_the_estimate_matches_numpy_quadrature(ranking_fit):
    t = ranking_fit.params
    glpp_value = model_library.load("rankings").loglik_at(t.to_dict(), nip=GLPP_POINTS)
    exploded = explode_rankings(model_library.read_data("rankings"))
    fixed = {name[5:-1]: value for name, value in t.items() if name.startswith("beta")}
    variance = np.array([[t["sd[q|g]"] ** 2]])
    expected = sum(numpy_choice_loglik(piece, fixed, ["q"], variance) for piece in _group_chunks(exploded))
    np.testing.assert_allclose(glpp_value, expected, rtol=LOGLIK_RTOL)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["marginal", "latent"])
def test_bayes_kinds_agree_with_ml(ranking_data, kind):
    """Both PyMC kinds use the same family definition: posterior means near the ML estimate."""
    model = glpp.Model(RANKING_FORMULA, ranking_data, family="ranking", choice_set="ranking")
    fit = model.fit()
    tree = model.sample(kind=kind, draws=300, tune=300, chains=2, random_seed=5, progressbar=False)
    posterior = tree.posterior
    for name in RANKING_TRUTH:
        if name.startswith("beta"):
            draws = posterior[name].to_numpy().ravel()
            assert abs(draws.mean() - fit.params[name]) < 0.5 * fit.se[name] + 3 * draws.std() / np.sqrt(50), name


def simulate_three_level(n_regions: int, persons: int, sets: int, seed: int) -> pd.DataFrame:
    """Choice sets within persons within regions; random coefficients of alt2 at both levels."""
    rng = np.random.default_rng(seed)
    t = THREE_LEVEL_TRUTH
    region = np.repeat(np.arange(n_regions), persons * sets)
    person = np.repeat(np.arange(n_regions * persons), sets)
    effect = t["sd[alt2|region]"] * rng.normal(size=n_regions)[region]
    effect += t["sd[alt2|region:person]"] * rng.normal(size=n_regions * persons)[person]
    price = rng.normal(size=(region.size, 3))
    eta = t["beta[price]"] * price
    eta[:, 1] += t["beta[alt2]"] + effect
    eta[:, 2] += t["beta[alt3]"]
    choice = (eta + rng.gumbel(size=eta.shape)).argmax(axis=1)
    alt = np.tile(np.arange(1, 4), region.size)
    return pd.DataFrame({
        "region": np.repeat(region, 3), "person": np.repeat(person, 3),
        "situation": np.repeat(np.arange(region.size), 3), "chosen": (np.repeat(choice, 3) == alt - 1).astype(int),
        "alt2": (alt == 2).astype(float), "alt3": (alt == 3).astype(float), "price": price.ravel(),
    })


THREE_LEVEL_TRUTH = {
    "beta[alt2]": 0.3, "beta[alt3]": -0.2, "beta[price]": -0.8, "sd[alt2|region:person]": 0.9, "sd[alt2|region]": 0.6,
}


def numpy_three_level_loglik(frame: pd.DataFrame, truth: dict, points: int) -> float:
    """Nested plain Gauss-Hermite quadrature: persons within regions, one random coefficient each."""
    nodes, weights = np.polynomial.hermite.hermgauss(points)
    log_weights = np.log(weights) - 0.5 * np.log(np.pi)
    alt2 = frame.alt2.to_numpy()
    eta = truth["beta[alt2]"] * alt2 + truth["beta[alt3]"] * frame.alt3.to_numpy() + truth["beta[price]"] * frame.price.to_numpy()
    person_effect = np.sqrt(2.0) * truth["sd[alt2|region:person]"] * nodes
    region_effect = np.sqrt(2.0) * truth["sd[alt2|region]"] * nodes
    eta = eta[:, None, None] + alt2[:, None, None] * (region_effect[:, None] + person_effect[None, :])  # (N, K, Q)

    def starts(values):
        return np.flatnonzero(np.r_[True, values[1:] != values[:-1]])

    set_starts = starts(frame.situation.to_numpy())
    chosen_eta = np.add.reduceat(frame.chosen.to_numpy()[:, None, None] * eta, set_starts, axis=0)
    set_logp = chosen_eta - np.logaddexp.reduceat(eta, set_starts, axis=0)
    person = frame.person.to_numpy()[set_starts]
    person_logp = np.add.reduceat(set_logp, starts(person), axis=0)
    person_integral = special.logsumexp(person_logp + log_weights, axis=2)  # (P, K)
    region = frame.region.to_numpy()[set_starts][starts(person)]
    region_logp = np.add.reduceat(person_integral, starts(region), axis=0)
    return float(special.logsumexp(region_logp + log_weights, axis=1).sum())


@pytest.mark.slow
def test_three_level_multinomial_loglik_matches_numpy_quadrature():
    """Choice sets within persons within regions: the multilevel engine with coupled rows."""
    data = simulate_three_level(n_regions=15, persons=4, sets=4, seed=31)
    model = glpp.Model("chosen ~ 0 + alt2 + alt3 + price + (0 + alt2 | region/person)", data,
                       family="multinomial", choice_set="situation")
    assert set(model.layout.natural_names) == set(THREE_LEVEL_TRUTH)
    glpp_value = model.loglik_at(THREE_LEVEL_TRUTH, nip=GLPP_POINTS)
    expected = numpy_three_level_loglik(data, THREE_LEVEL_TRUTH, NUMPY_POINTS[1])
    np.testing.assert_allclose(glpp_value, expected, rtol=LOGLIK_RTOL)
