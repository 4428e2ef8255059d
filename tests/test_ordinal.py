"""Ordinal responses: random-intercept models against ordinal::clmm, a graded response model
and a scaled ordinal probit with threshold covariates (the library's scaled_ordinal_probit)
against independent numpy quadrature and simulated truth.

References: tests/reference/ordinal.json, written by tests/reference/make_ordinal.R from
the CSVs in model_library/data/.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import glpp
import model_library

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "model_library" / "data"
REFERENCE = json.loads((ROOT / "tests" / "reference" / "ordinal.json").read_text())

#: acceptance: log-likelihood within 0.01 of clmm's adaptive quadrature
LOGLIK_TOLERANCE = 0.01
#: estimates of two ML fits of the same likelihood (clmm's optimiser stops at ~1e-6 gradients)
ESTIMATE_RTOL, ESTIMATE_ATOL = 2e-3, 2e-3
#: glpp's quadrature against an independent 1-d Gauss-Hermite sum of the same integral
QUADRATURE_TOLERANCE = 1e-3
#: simulated truth, as elsewhere in the tests (tests/test_class_regression.py): the key
#: parameters within RECOVERY_SE standard errors of it, every estimate within ALL_RECOVERY_SE
#: (with 9-21 correlated estimates some fall beyond 2 SE by chance), and the joint Wald
#: statistic below its chi-square quantile WALD_LEVEL, which still fails for a biased estimator.
RECOVERY_SE = 2.0
ALL_RECOVERY_SE = 3.0
WALD_LEVEL = 0.999


def assert_recovers(fit: glpp.MLResult, truth: dict[str, float], key_parameters: tuple[str, ...]) -> None:
    truth = pd.Series(truth)
    error = fit.params[truth.index] - truth
    z = error / fit.se[truth.index]
    assert np.all(np.abs(z[list(key_parameters)]) < RECOVERY_SE), z[list(key_parameters)]
    assert np.all(np.abs(z) < ALL_RECOVERY_SE), z[np.abs(z) >= ALL_RECOVERY_SE]
    covariance = fit.covariance.loc[truth.index, truth.index].to_numpy()
    wald = float(error.to_numpy() @ np.linalg.solve(covariance, error.to_numpy()))
    assert wald < stats.chi2.ppf(WALD_LEVEL, len(truth)), (wald, z.round(2).to_dict())


WINE = "rating ~ warm + contact + (1 | judge)"
VERBAGG = "resp ~ anger + male + do + self + scold + shout + (1 | id)"
CLMM_CASES = {
    "wine_ordinal_logit": ("wine.csv", WINE, "logit"),
    "wine_ordinal_probit": ("wine.csv", WINE, "probit"),
    "verbagg_ordinal_logit": ("verbagg.csv", VERBAGG, "logit"),
}
_FITS: dict[str, glpp.MLResult] = {}


def clmm_fit(case: str) -> glpp.MLResult:
    if case not in _FITS:
        file, formula, link = CLMM_CASES[case]
        _FITS[case] = glpp.Model(formula, pd.read_csv(DATA / file), family="ordinal", link=link).fit()
    return _FITS[case]


@pytest.mark.parametrize("case", list(CLMM_CASES))
def test_random_intercept_models_match_clmm(case):
    fit, reference = clmm_fit(case), REFERENCE[case]
    assert fit.converged
    assert fit.n_params == reference["df"]
    assert fit.loglik == pytest.approx(reference["loglik"], abs=LOGLIK_TOLERANCE)
    for name, value in reference["beta"].items():
        assert fit.params[f"beta[{name}]"] == pytest.approx(value, rel=ESTIMATE_RTOL, abs=ESTIMATE_ATOL), name
        assert fit.se[f"beta[{name}]"] == pytest.approx(reference["beta_se"][name], rel=0.02), name
    for label, value in reference["thresholds"].items():
        assert fit.params[f"tau[{label}]"] == pytest.approx(value, rel=ESTIMATE_RTOL, abs=ESTIMATE_ATOL), label
    group = CLMM_CASES[case][1].split("|")[1].strip(" )")
    assert fit.params[f"sd[{group}]"] == pytest.approx(reference["sd"], rel=1e-2)


def test_summary_reports_thresholds_and_eb_latents():
    fit = clmm_fit("wine_ordinal_logit")
    assert "Thresholds:" in fit.summary() and "1|2" in fit.summary()
    assert "beta[(Intercept)]" not in fit.params
    latent = fit.latent()
    assert len(latent) == 9 and np.all(np.isfinite(latent.select_dtypes("number").to_numpy()))


def test_category_probabilities_conditional_and_marginal():
    """wine: P(y <= k) = expit(tau_k - x'beta - b_judge), with the EB mean of ``b`` or integrated
    over ``b ~ N(0, sd^2)`` (60-point Gauss-Hermite, independent of glpp's trapezoid rule)."""
    fit = clmm_fit("wine_ordinal_logit")
    wine = pd.read_csv(DATA / "wine.csv")
    p = fit.params
    fixed = p["beta[warm]"] * wine["warm"].to_numpy() + p["beta[contact]"] * wine["contact"].to_numpy()
    tau = np.array([p[f"tau[{k}|{k + 1}]"] for k in range(1, 5)])
    eb = fit.latent().set_index("cluster")["mean"].loc[wine["judge"]].to_numpy()
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    shifts = {"conditional": (eb[:, None], np.ones(1)), "marginal": (p["sd[judge]"] * nodes[None, :], weights / np.sqrt(2 * np.pi))}
    for kind, (shift, weight) in shifts.items():
        cumulative = np.stack([special.expit(t - fixed[:, None] - shift) @ weight for t in tau], axis=1)
        expected = np.diff(np.column_stack([np.zeros(len(wine)), cumulative, np.ones(len(wine))]), axis=1)
        predicted = fit.predict(kind=kind)
        assert list(predicted.index.get_level_values("category")[:5]) == [1, 2, 3, 4, 5]
        np.testing.assert_allclose(predicted["prediction"].to_numpy().reshape(-1, 5), expected, atol=1e-9)
    with pytest.raises(glpp.SpecError, match="ordinal predictions are category probabilities"):
        fit.predict(scale="link")
    # new rows are coded as the fitted ones (tests/test_predict_new.py): the fitted rows again predict the same
    np.testing.assert_allclose(fit.predict(wine.head())["prediction"], fit.predict()["prediction"].iloc[:25], atol=1e-12)


#: delta-method SEs of two central-difference Jacobians (glpp's, on the logit scale, and numpy's)
DELTA_RTOL = 1e-4


def test_category_probability_standard_errors_by_an_independent_delta_method():
    """wine: the probabilities as numpy functions of the optimised parameters (the betas, log sd,
    the first threshold and the log gaps between thresholds), their Jacobian by central differences
    with ``fit.vcov("optimised")``; conditional ones hold the EB means fixed and add the squared
    derivative in the judge's effect times its EB variance (``fit.latent()``'s SD). The intervals
    are Wald intervals of the logit mapped back: inside [0, 1] and around the prediction."""
    fit = clmm_fit("wine_ordinal_logit")
    wine = pd.read_csv(DATA / "wine.csv")
    p = fit.params
    tau = np.array([p[f"tau[{k}|{k + 1}]"] for k in range(1, 5)])
    theta = np.r_[p["beta[warm]"], p["beta[contact]"], np.log(p["sd[judge]"]), tau[0], np.log(np.diff(tau))]
    x = wine[["warm", "contact"]].to_numpy(dtype=float)
    latent = fit.latent().set_index("cluster")
    eb, eb_sd = (latent[column].loc[wine["judge"]].to_numpy() for column in ("mean", "sd"))
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)

    def probabilities(values: np.ndarray, kind: str, effect_shift: float = 0.0) -> np.ndarray:
        thresholds = np.cumsum(np.r_[values[3], np.exp(values[4:])])
        fixed = x @ values[:2] + effect_shift
        effect, weight = (eb[:, None], np.ones(1)) if kind == "conditional" else (
            np.exp(values[2]) * nodes[None, :], weights / np.sqrt(2 * np.pi))
        cumulative = np.stack([special.expit(t - fixed[:, None] - effect) @ weight for t in thresholds], axis=1)
        return np.diff(np.column_stack([np.zeros(len(wine)), cumulative, np.ones(len(wine))]), axis=1)

    covariance = fit.vcov("optimised").to_numpy()
    assert list(fit.vcov("optimised").index) == ["beta[warm]", "beta[contact]", "sd[judge]", *[f"tau[{k}|{k + 1}]" for k in range(1, 5)]]
    step, z = 1e-5, stats.norm.ppf(0.95)
    for kind in ("marginal", "conditional"):
        jacobian = np.stack([(probabilities(theta + step * e, kind) - probabilities(theta - step * e, kind)) / (2 * step)
                             for e in np.eye(theta.size)], axis=-1)  # rows x categories x parameters
        variance = np.einsum("rka,ab,rkb->rk", jacobian, covariance, jacobian)
        if kind == "conditional":
            slope = (probabilities(theta, kind, step) - probabilities(theta, kind, -step)) / (2 * step)
            variance += slope**2 * eb_sd[:, None] ** 2
        predicted = fit.predict(kind=kind, level=0.9)
        probability = predicted["prediction"].to_numpy().reshape(-1, 5)
        np.testing.assert_allclose(probability, probabilities(theta, kind), atol=1e-9)
        np.testing.assert_allclose(predicted["se"].to_numpy().reshape(-1, 5), np.sqrt(variance), rtol=DELTA_RTOL)
        logit_se = np.sqrt(variance) / (probability * (1 - probability))
        lower, upper = (predicted[end].to_numpy().reshape(-1, 5) for end in ("lower", "upper"))
        np.testing.assert_allclose(lower, special.expit(special.logit(probability) - z * logit_se), rtol=DELTA_RTOL)
        np.testing.assert_allclose(upper, special.expit(special.logit(probability) + z * logit_se), rtol=DELTA_RTOL)
        assert np.all((0 <= lower) & (lower < probability) & (probability < upper) & (upper <= 1))


# ---------------------------------------------------------------- graded response model
GRM_LOADINGS = np.array([1.0, 0.8, 1.3, 0.7, 1.5, 1.1])
GRM_THRESHOLDS = [[-1.0, 0.8], [-0.5, 1.2], [-1.5, 0.0], [-1.2, 0.1, 1.4], [-0.8, 0.5, 1.9], [-2.0, -0.6, 0.9]]
GRM_SD = 1.2
GRM_ITEMS = [f"q{k + 1}" for k in range(6)]


def simulate_grm(n_units: int = 600, seed: int = 20261201) -> pd.DataFrame:
    """One factor, six logit items with 3 or 4 categories, coded 1..K."""
    rng = np.random.default_rng(seed)
    factor = rng.normal(0.0, GRM_SD, n_units)
    columns = {}
    for item, loading, thresholds in zip(GRM_ITEMS, GRM_LOADINGS, GRM_THRESHOLDS):
        cumulative = special.expit(np.asarray(thresholds)[None, :] - loading * factor[:, None])
        columns[item] = 1 + (rng.random(n_units)[:, None] > cumulative).sum(axis=1)
    return pd.DataFrame(columns)


def grm_truth() -> dict[str, float]:
    truth = {f"lambda[F,{item}]": value for item, value in zip(GRM_ITEMS[1:], GRM_LOADINGS[1:])}
    truth["sd[F]"] = GRM_SD
    for item, thresholds in zip(GRM_ITEMS, GRM_THRESHOLDS):
        for k, value in enumerate(thresholds):
            truth[f"tau[{item},{k + 1}|{k + 2}]"] = value
    return truth


def numpy_grm_loglik(data: pd.DataFrame, params: dict[str, float], n_points: int = 80) -> float:
    """Independent marginal log-likelihood: a 1-d Gauss-Hermite sum per unit."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_points)
    factor = params["sd[F]"] * nodes
    log_unit = np.zeros((len(data), n_points))
    for item in GRM_ITEMS:
        loading = params.get(f"lambda[F,{item}]", 1.0)
        categories = np.sort(data[item].unique())
        thresholds = np.array([params[f"tau[{item},{a}|{b}]"] for a, b in zip(categories[:-1], categories[1:])])
        bounds = np.concatenate([[-np.inf], thresholds, [np.inf]])
        code = np.searchsorted(categories, data[item].to_numpy())
        probability = special.expit(bounds[code + 1][:, None] - loading * factor) - special.expit(
            bounds[code][:, None] - loading * factor
        )
        log_unit += np.log(probability)
    return float(special.logsumexp(log_unit + np.log(weights / weights.sum()), axis=1).sum())


@pytest.fixture(scope="module")
def grm():
    data = simulate_grm()
    model = glpp.Model("F =~ " + " + ".join(GRM_ITEMS), data, family="ordinal")
    return data, model, model.fit()


def test_graded_response_model_matches_numpy_quadrature(grm):
    data, model, _ = grm
    truth = grm_truth()
    assert set(model.layout.names()) == set(truth)
    assert model.loglik_at(truth, nip=30) == pytest.approx(numpy_grm_loglik(data, truth), abs=QUADRATURE_TOLERANCE)


def discriminations(fit: glpp.MLResult) -> tuple[np.ndarray, np.ndarray]:
    """The items' discriminations on the unit-variance factor scale, ``lambda[F,q] * sd[F]``
    (``sd[F]`` for the marker item q1), and their delta-method standard errors."""
    names = [f"lambda[F,{item}]" for item in GRM_ITEMS[1:]] + ["sd[F]"]
    loadings, sd = fit.params[names[:-1]].to_numpy(), fit.params["sd[F]"]
    jacobian = np.zeros((len(names), len(names)))
    jacobian[:-1, :-1] = sd * np.eye(len(names) - 1)
    jacobian[:-1, -1] = loadings
    jacobian[-1, -1] = 1.0
    covariance = jacobian @ fit.covariance.loc[names, names].to_numpy() @ jacobian.T
    return np.append(loadings * sd, sd), np.sqrt(np.diag(covariance))


def test_graded_response_model_recovers_truth(grm):
    """Key parameters: the discriminations, which do not carry the marker item's sampling error
    as the marker-scaled loadings do (at this seed lambda[F,q3] is 2.4 SE below its truth, its
    discrimination 1.97 SE; the others within 1.3 SE)."""
    _, _, fit = grm
    assert fit.converged
    assert_recovers(fit, grm_truth(), key_parameters=("sd[F]",))
    estimate, se = discriminations(fit)
    truth = np.append(GRM_LOADINGS[1:], 1.0) * GRM_SD
    assert np.all(np.abs(estimate - truth) < RECOVERY_SE * se), (estimate - truth) / se


# ---------------------------------------------- scaled ordinal probit, threshold covariates
#: the library's scaled ordinal probit (model_library/simulate.py): P(y <= k) =
#: Phi((tau_k + w gamma_k - x beta - u_g) / exp(z alpha)), categories 1..4
SCALED_TRUTH = model_library.MODELS["scaled_ordinal_probit"].truth
#: glpp's adaptive rule (30 points) against numpy's plain rule (60 points) for this random
#: intercept: both converged (they agree to ~1e-9 at the truth and at the estimate)
SCALED_LOGLIK_TOLERANCE = 1e-6


def numpy_scaled_loglik(data: pd.DataFrame, t: dict[str, float], n_points: int = 60) -> float:
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_points)
    thresholds = np.array([[t[f"tau[{k}|{k + 1}]"], t[f"tau[{k}|{k + 1}~w]"]] for k in (1, 2, 3)])
    bounds = thresholds[:, 0][None, :] + data["w"].to_numpy()[:, None] * thresholds[:, 1][None, :]
    bounds = np.concatenate([np.full((len(data), 1), -np.inf), bounds, np.full((len(data), 1), np.inf)], axis=1)
    code = data["y"].to_numpy() - 1
    rows = np.arange(len(data))
    eta = t["beta[x]"] * data["x"].to_numpy()[:, None] + t["sd[g]"] * nodes[None, :]
    scale = np.exp(t["log_scale[z]"] * data["z"].to_numpy())[:, None]
    upper = stats.norm.cdf((bounds[rows, code + 1][:, None] - eta) / scale)
    lower = stats.norm.cdf((bounds[rows, code][:, None] - eta) / scale)
    with np.errstate(divide="ignore"):  # nodes far in a tail: probability 0 in float64
        log_probability = np.log(upper - lower)
    per_cluster = pd.DataFrame(log_probability).groupby(data["g"].to_numpy()).sum().to_numpy()
    return float(special.logsumexp(per_cluster + np.log(weights / weights.sum()), axis=1).sum())


@pytest.fixture(scope="module")
def scaled():
    model = model_library.load("scaled_ordinal_probit")
    return model_library.read_data("scaled_ordinal_probit"), model, model.fit()


@pytest.mark.parametrize("where", ["truth", "estimate"])
def test_scaled_probit_with_threshold_covariates_matches_numpy(scaled, where):
    data, model, fit = scaled
    assert set(model.layout.names()) == set(SCALED_TRUTH)
    params = SCALED_TRUTH if where == "truth" else fit.params.to_dict()
    value = model.loglik_at(params, nip=30)
    assert value == pytest.approx(numpy_scaled_loglik(data, params), abs=SCALED_LOGLIK_TOLERANCE)


def test_scaled_probit_with_threshold_covariates_recovers_truth(scaled):
    _, _, fit = scaled
    assert fit.converged
    assert_recovers(fit, SCALED_TRUTH, key_parameters=("beta[x]", "sd[g]", "log_scale[z]"))


# ------------------------------------------------------- ordinal items mixed with others
MIXED_TRUTH = {
    "nu[y]": 0.5,
    "lambda[F,q2]": 0.8,
    "lambda[F,y]": 0.9,
    "sd[F]": 1.2,
    "sigma[y]": 0.7,
    "tau[q1,1|2]": -1.0,
    "tau[q1,2|3]": 0.8,
    "tau[q2,1|2]": -0.5,
    "tau[q2,2|3]": 1.2,
}


def test_ordinal_items_mixed_with_a_gaussian_item_match_numpy():
    """``family={...}``: probit ordinal items and a gaussian item share a factor."""
    data = simulate_grm(300, seed=4)[["q1", "q2"]]
    rng = np.random.default_rng(5)
    data["y"] = 0.5 + rng.normal(0.0, 1.0, len(data))
    families = {"q1": ("ordinal", "probit"), "q2": ("ordinal", "probit"), "y": "gaussian"}
    model = glpp.Model("F =~ q1 + q2 + y", data, family=families)
    assert set(model.layout.names()) == set(MIXED_TRUTH)
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    t = MIXED_TRUTH
    factor = t["sd[F]"] * nodes
    log_unit = stats.norm.logpdf(data["y"].to_numpy()[:, None], t["nu[y]"] + t["lambda[F,y]"] * factor, t["sigma[y]"])
    for item, loading in (("q1", 1.0), ("q2", t["lambda[F,q2]"])):
        bounds = np.array([-np.inf, t[f"tau[{item},1|2]"], t[f"tau[{item},2|3]"], np.inf])
        code = data[item].to_numpy() - 1
        log_unit = log_unit + np.log(
            stats.norm.cdf(bounds[code + 1][:, None] - loading * factor)
            - stats.norm.cdf(bounds[code][:, None] - loading * factor)
        )
    expected = special.logsumexp(log_unit + np.log(weights / weights.sum()), axis=1).sum()
    assert model.loglik_at(MIXED_TRUTH, nip=30) == pytest.approx(expected, abs=QUADRATURE_TOLERANCE)


def test_item_characteristic_curves_of_ordinal_items(grm, tmp_path):
    import matplotlib

    import glpp.plots

    matplotlib.use("Agg")
    _, model, fit = grm
    figure = glpp.plots.item_characteristic_curves(model, fit)
    (ax,) = figure.axes
    lines = {line.get_label(): line for line in ax.lines}
    assert len(lines) == sum(len(thresholds) for thresholds in GRM_THRESHOLDS)  # one curve per threshold
    line = lines["q2 > 2"]
    expected = 1.0 - special.expit(fit.params["tau[q2,2|3]"] - fit.params["lambda[F,q2]"] * line.get_xdata())
    np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-12)
    figure.savefig(tmp_path / "grm.png")
    assert (tmp_path / "grm.png").stat().st_size > 1000
