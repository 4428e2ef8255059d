"""Predictions of choice families (multinomial choice sets, rankings) against independent numpy.

Marginal choice probabilities are checked against brute-force Gauss-Hermite quadrature of the
softmax over the random effects (written here, with the covariance built from the reported
SDs and correlation); conditional ones against the softmax at the EB means of
``fit.latent()``; the standard errors against a numpy delta method: central differences of
those functions in the reported parameters with ``fit.vcov()`` (the delta method does not
depend on the parameterisation), plus, for conditional predictions, the gradient in the
random effects times their EB posterior covariance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import glpp

#: glpp's trapezoid rule against the Gauss-Hermite product rule (both converged)
PREDICTION_RTOL = 1e-6
#: two central-difference delta methods (glpp's in the optimised parameters on the logit scale,
#: numpy's in the reported ones on the probability scale; they agree within ~5e-10 here)
SE_RTOL = 1e-6
#: Gauss-Hermite points per random-effect dimension of the numpy reference, by dimension: the
#: ranking's random slope spreads the utilities of a ranking by up to ~5 per SD, where 60 points
#: are 2e-7 relative off and 150 converged (tests/families/test_choice.py found the same)
REFERENCE_POINTS = {1: 150, 2: 60}
#: quadrature points of the fits (predictions need a fit, not the most accurate one)
NIP = 7
MULTINOMIAL = "chosen ~ 0 + alt2 + alt3 + price + (0 + alt2 + alt3 | g)"
RANKING = "rank ~ 0 + alt2 + alt3 + alt4 + q + (0 + q | g)"


def _simulate_multinomial(n_groups: int = 40, per_group: int = 6, seed: int = 1) -> pd.DataFrame:
    """Three alternatives per situation (the first the reference), correlated random intercepts
    of the others; the index does not start at 0 and one situation has a missing price."""
    rng = np.random.default_rng(seed)
    effects = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.4], [0.4, 0.6]], size=n_groups)
    n_sets = n_groups * per_group
    group = np.repeat(np.arange(n_groups), per_group)
    price = rng.normal(size=(n_sets, 3))
    eta = -1.0 * price + np.array([0.0, 0.5, -0.3]) + np.c_[np.zeros(n_sets), effects[group]]
    choice = (eta + rng.gumbel(size=eta.shape)).argmax(axis=1)
    alt = np.tile(np.arange(1, 4), n_sets)
    frame = pd.DataFrame({
        "g": np.repeat(group, 3), "situation": np.repeat(np.arange(n_sets), 3),
        "chosen": (np.repeat(choice, 3) == alt - 1).astype(int), "price": price.ravel(),
        "alt2": (alt == 2).astype(float), "alt3": (alt == 3).astype(float),
    }, index=np.arange(n_sets * 3) + 100)
    frame.loc[frame.index[7], "price"] = np.nan
    return frame


def _simulate_rankings(n_groups: int = 40, per_group: int = 3, seed: int = 6) -> pd.DataFrame:
    """Four alternatives per ranking, a random slope of ``q``; every third ranking ranks the top two."""
    rng = np.random.default_rng(seed)
    n_sets = n_groups * per_group
    group = np.repeat(np.arange(n_groups), per_group)
    slope = 0.7 + 0.8 * rng.normal(size=n_groups)
    q = rng.normal(size=(n_sets, 4))
    eta = slope[group][:, None] * q + np.array([0.0, 0.4, -0.2, 0.3])
    rank = np.argsort(np.argsort(-(eta + rng.gumbel(size=eta.shape)), axis=1), axis=1) + 1
    partial = np.arange(n_sets) % 3 == 2
    rank[partial] = np.where(rank[partial] <= 2, rank[partial], 0)
    alt = np.tile(np.arange(1, 5), n_sets)
    frame = pd.DataFrame({"g": np.repeat(group, 4), "ranking": np.repeat(np.arange(n_sets), 4), "rank": rank.ravel(),
                          "q": q.ravel()})
    for k in (2, 3, 4):
        frame[f"alt{k}"] = (alt == k).astype(float)
    return frame


def _softmax_by_set(eta: np.ndarray, sets: np.ndarray) -> np.ndarray:
    """Softmax of ``eta`` (rows, ...) over the rows of each set (sets contiguous)."""
    starts = np.flatnonzero(np.r_[True, sets[1:] != sets[:-1]])
    set_of_row = np.cumsum(np.isin(np.arange(sets.size), starts)) - 1
    return np.exp(eta - np.logaddexp.reduceat(eta, starts, axis=0)[set_of_row])


def _gauss_hermite_effects(covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Product Gauss-Hermite nodes (Q x d) of ``b ~ N(0, covariance)`` and their weights."""
    d = covariance.shape[0]
    nodes, weights = np.polynomial.hermite_e.hermegauss(REFERENCE_POINTS[d])
    grid = np.stack(np.meshgrid(*[nodes] * d, indexing="ij"), axis=-1).reshape(-1, d)
    grid_weights = np.prod(np.stack(np.meshgrid(*[weights] * d, indexing="ij"), axis=-1), axis=-1).ravel()
    return grid @ np.linalg.cholesky(covariance).T, grid_weights / np.sqrt(2 * np.pi) ** d


class ChoiceReference:
    """Choice probabilities of the data's sets as numpy functions of the reported parameters."""

    def __init__(self, fit, data: pd.DataFrame, set_column: str, fixed: list[str], random: list[str]):
        self.fit, self.fixed, self.random = fit, fixed, random
        incomplete = data.loc[data.isna().any(axis=1), set_column]
        self.data = data[~data[set_column].isin(incomplete)]  # a set with a missing value is dropped whole
        self.x, self.z = self.data[fixed].to_numpy(), self.data[random].to_numpy()
        self.sets = self.data[set_column].to_numpy()
        latent = fit.latent().pivot(index="cluster", columns="latent", values="mean")[random]
        self.eb = latent.loc[self.data["g"]].to_numpy()
        self.names = list(fit.params.index)

    def covariance(self, params: pd.Series) -> np.ndarray:
        sd = np.array([params[f"sd[{name}|g]"] for name in self.random])
        correlation = np.eye(sd.size)
        if sd.size == 2:
            correlation[0, 1] = correlation[1, 0] = params[f"cor[{self.random[0]},{self.random[1]}|g]"]
        return np.outer(sd, sd) * correlation

    def probabilities(self, values: np.ndarray, kind: str, effect_shift: np.ndarray | None = None) -> np.ndarray:
        params = pd.Series(values, index=self.names)
        eta = self.x @ params[[f"beta[{name}]" for name in self.fixed]].to_numpy()
        if kind == "conditional":
            effects = self.eb if effect_shift is None else self.eb + effect_shift
            return _softmax_by_set(eta + np.sum(self.z * effects, axis=1), self.sets)
        effects, weights = _gauss_hermite_effects(self.covariance(params))
        return _softmax_by_set(eta[:, None] + self.z @ effects.T, self.sets) @ weights

    def standard_errors(self, kind: str, posterior_covariance: np.ndarray | None = None, step: float = 1e-5) -> np.ndarray:
        """The numpy delta method (module docstring); ``posterior_covariance``: rows x d x d."""
        values = self.fit.params.to_numpy()
        jacobian = np.column_stack([
            (self.probabilities(values + step * e, kind) - self.probabilities(values - step * e, kind)) / (2 * step)
            for e in np.eye(values.size)
        ])
        variance = np.einsum("ra,ab,rb->r", jacobian, self.fit.vcov().to_numpy(), jacobian)
        if kind == "conditional":
            d = len(self.random)
            gradient = np.column_stack([
                (self.probabilities(values, kind, step * e) - self.probabilities(values, kind, -step * e)) / (2 * step)
                for e in np.eye(d)
            ])
            variance += np.einsum("ra,rab,rb->r", gradient, posterior_covariance, gradient)
        return np.sqrt(variance)


def _posterior_covariance_of_effects(fit, reference: ChoiceReference) -> np.ndarray:
    """Each row's EB posterior covariance of ``b = L u`` (``L`` the Cholesky factor of the reported covariance)."""
    factor = np.linalg.cholesky(reference.covariance(fit.params))
    _, covariance_u = fit.latent_moments()[0]
    clusters = fit.latent().drop_duplicates("cluster")["cluster"].to_numpy()
    position = pd.Series(np.arange(clusters.size), index=clusters).loc[reference.data["g"]].to_numpy()
    covariance = factor @ covariance_u @ factor.T
    latent_sd = fit.latent().pivot(index="cluster", columns="latent", values="sd")[reference.random].to_numpy()
    np.testing.assert_allclose(np.sqrt(np.diagonal(covariance, axis1=1, axis2=2)), latent_sd, rtol=1e-10)
    return covariance[position]


@pytest.fixture(scope="module")
def multinomial_data() -> pd.DataFrame:
    return _simulate_multinomial()


@pytest.fixture(scope="module")
def multinomial_fit(multinomial_data):
    return glpp.Model(MULTINOMIAL, multinomial_data, family="multinomial", choice_set="situation").fit(nip=NIP)


@pytest.fixture(scope="module")
def multinomial_reference(multinomial_fit, multinomial_data) -> ChoiceReference:
    return ChoiceReference(multinomial_fit, multinomial_data, "situation", ["alt2", "alt3", "price"], ["alt2", "alt3"])


@pytest.mark.parametrize("kind", ["marginal", "conditional"])
def test_multinomial_probabilities_match_numpy(multinomial_fit, multinomial_reference, kind):
    """One row per fitted alternative, indexed like the data (the set with a missing price
    dropped), summing to 1 in each set; marginal = the softmax integrated over the correlated
    random intercepts, conditional = the softmax at the EB means."""
    reference = multinomial_reference
    predicted = multinomial_fit.predict(kind=kind)
    assert list(predicted.index) == list(reference.data.index)
    expected = reference.probabilities(multinomial_fit.params.to_numpy(), kind)
    np.testing.assert_allclose(predicted["prediction"], expected, rtol=PREDICTION_RTOL)
    set_sums = predicted["prediction"].groupby(reference.sets).sum()
    np.testing.assert_allclose(set_sums, 1.0, rtol=1e-12)


@pytest.mark.parametrize("kind", ["marginal", "conditional"])
def test_multinomial_standard_errors_by_an_independent_delta_method(multinomial_fit, multinomial_reference, kind):
    reference = multinomial_reference
    posterior = _posterior_covariance_of_effects(multinomial_fit, reference) if kind == "conditional" else None
    expected = reference.standard_errors(kind, posterior)
    predicted = multinomial_fit.predict(kind=kind, level=0.9)
    np.testing.assert_allclose(predicted["se"], expected, rtol=SE_RTOL)
    probability = predicted["prediction"].to_numpy()
    logit_se = expected / (probability * (1 - probability))
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(predicted["lower"], special.expit(special.logit(probability) - z * logit_se), rtol=SE_RTOL)
    np.testing.assert_allclose(predicted["upper"], special.expit(special.logit(probability) + z * logit_se), rtol=SE_RTOL)
    assert np.all((0 <= predicted["lower"]) & (predicted["lower"] < probability))
    assert np.all((probability < predicted["upper"]) & (predicted["upper"] <= 1))


def test_choice_predictions_refuse_new_data_and_the_link_scale(multinomial_fit, multinomial_data):
    with pytest.raises(glpp.SpecError, match=r"predict\(data=...\) is not available for choice families yet; predict the fitted"):
        multinomial_fit.predict(multinomial_data.head(6))
    with pytest.raises(glpp.SpecError, match="choice predictions are probabilities of each alternative: use scale='response'"):
        multinomial_fit.predict(scale="link")


@pytest.fixture(scope="module")
def ranking_data() -> pd.DataFrame:
    return _simulate_rankings()


@pytest.fixture(scope="module")
def ranking_fit(ranking_data):
    return glpp.Model(RANKING, ranking_data, family="ranking", choice_set="ranking").fit(nip=NIP)


@pytest.mark.parametrize("kind", ["marginal", "conditional"])
def test_ranking_predicts_the_probability_of_being_ranked_first(ranking_fit, ranking_data, kind):
    """One row per alternative (partial rankings included): the softmax over all the
    alternatives of its ranking, integrated over the random slope or at its EB mean."""
    reference = ChoiceReference(ranking_fit, ranking_data, "ranking", ["alt2", "alt3", "alt4", "q"], ["q"])
    predicted = ranking_fit.predict(kind=kind)
    assert list(predicted.index) == list(ranking_data.index)
    np.testing.assert_allclose(predicted["prediction"], reference.probabilities(ranking_fit.params.to_numpy(), kind),
                               rtol=PREDICTION_RTOL)
    np.testing.assert_allclose(predicted["prediction"].groupby(ranking_data["ranking"]).sum(), 1.0, rtol=1e-12)
    posterior = None
    if kind == "conditional":
        eb_sd = ranking_fit.latent().set_index("cluster")["sd"].loc[ranking_data["g"]].to_numpy()
        posterior = eb_sd[:, None, None] ** 2
    np.testing.assert_allclose(predicted["se"], reference.standard_errors(kind, posterior), rtol=SE_RTOL)


def _simulate_three_level(n_regions: int = 10, persons: int = 4, sets: int = 4, seed: int = 31) -> pd.DataFrame:
    """Choice sets within persons within regions, a random coefficient of ``alt2`` at both levels."""
    rng = np.random.default_rng(seed)
    region = np.repeat(np.arange(n_regions), persons * sets)
    person = np.repeat(np.arange(n_regions * persons), sets)
    effect = 0.6 * rng.normal(size=n_regions)[region] + 0.9 * rng.normal(size=n_regions * persons)[person]
    price = rng.normal(size=(region.size, 3))
    eta = -0.8 * price + np.array([0.0, 0.3, -0.2]) + np.c_[np.zeros(region.size), effect, np.zeros(region.size)]
    choice = (eta + rng.gumbel(size=eta.shape)).argmax(axis=1)
    alt = np.tile(np.arange(1, 4), region.size)
    return pd.DataFrame({
        "region": np.repeat(region, 3), "person": np.repeat(person, 3), "situation": np.repeat(np.arange(region.size), 3),
        "chosen": (np.repeat(choice, 3) == alt - 1).astype(int), "alt2": (alt == 2).astype(float),
        "alt3": (alt == 3).astype(float), "price": price.ravel(),
    })


@pytest.mark.slow
def test_three_level_choice_probabilities_integrate_both_levels():
    """Random coefficients of ``alt2`` over persons and regions: the marginal softmax integrates
    their sum (normal, variance the sum of both), the conditional one adds both EB means."""
    data = _simulate_three_level()
    fit = glpp.Model("chosen ~ 0 + alt2 + alt3 + price + (0 + alt2 | region/person)", data, family="multinomial",
                     choice_set="situation").fit(nip=5)
    p = fit.params
    eta = (p["beta[alt2]"] * data["alt2"] + p["beta[alt3]"] * data["alt3"] + p["beta[price]"] * data["price"]).to_numpy()
    variance = np.array([[p["sd[alt2|region:person]"] ** 2 + p["sd[alt2|region]"] ** 2]])
    effects, weights = _gauss_hermite_effects(variance)
    sets = data["situation"].to_numpy()
    marginal = _softmax_by_set(eta[:, None] + data[["alt2"]].to_numpy() @ effects.T, sets) @ weights
    np.testing.assert_allclose(fit.predict(kind="marginal")["prediction"], marginal, rtol=PREDICTION_RTOL)
    latent = fit.latent()
    person = latent[latent["level"] == "region:person"].set_index("cluster")["mean"]
    region = latent[latent["level"] == "region"].set_index("cluster")["mean"]
    effect = person.loc[list(zip(data["region"], data["person"]))].to_numpy() + region.loc[data["region"]].to_numpy()
    conditional = _softmax_by_set(eta + data["alt2"].to_numpy() * effect, sets)
    np.testing.assert_allclose(fit.predict()["prediction"], conditional, rtol=PREDICTION_RTOL)
