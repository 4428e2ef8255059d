"""Factor, IRT and structural equation models against lavaan, lme4 and independent computations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special, stats

import glpp

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "model_library" / "data"
REFERENCE = json.loads((ROOT / "tests" / "reference" / "reference.json").read_text())
HOLZINGER = pd.read_csv(DATA / "holzinger.csv")
CFA3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
MIMIC = CFA3 + "\nvisual ~ female + ageyr\ntextual ~ female + ageyr\nspeed ~ female + ageyr"
DEMOCRACY = (
    "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem65 =~ y5 + y6 + y7 + y8\n"
    "dem60 ~ ind60\ndem65 ~ ind60 + dem60"
)
# residual covariances of the same indicator over time and of shared sources (Bollen 1989)
DEMOCRACY_COVARIANCES = "y1 ~~ y5\ny2 ~~ y4 + y6\ny3 ~~ y7\ny4 ~~ y8\ny6 ~~ y8"
CASES = {
    "holzinger_cfa3": (CFA3, "holzinger.csv", {}),
    "holzinger_cfa3_stdlv": (CFA3, "holzinger.csv", {"std_lv": True}),
    "holzinger_cfa1_mean": ("visual =~ x1 + x2 + x3", "holzinger.csv", {}),
    "holzinger_mimic": (MIMIC, "holzinger.csv", {}),
    "political_democracy_nocov": (DEMOCRACY, "political_democracy.csv", {}),
    "political_democracy": (DEMOCRACY + "\n" + DEMOCRACY_COVARIANCES, "political_democracy.csv", {}),
}
_FITS: dict[str, glpp.MLResult] = {}


def fitted(case: str) -> glpp.MLResult:
    if case not in _FITS:
        formula, file, options = CASES[case]
        _FITS[case] = glpp.Model(formula, pd.read_csv(DATA / file), **options).fit()
    return _FITS[case]


def lavaan_value(fit: glpp.MLResult, key: str) -> float | None:
    """glpp's value of a lavaan ``est`` entry (None where glpp reports it differently)."""
    params = fit.params
    if " =~ " in key:
        latent, item = key.split(" =~ ")
        name = f"lambda[{latent},{item}]"
        return params[name] if name in params else 1.0
    if " ~1 " in key or key.endswith(" ~1"):
        name = f"nu[{key.split(' ~1')[0]}]"
        return params.get(name)
    if " ~~ " in key:
        left, right = key.split(" ~~ ")
        if left == right and f"sigma[{left}]" in params:
            return params[f"sigma[{left}]"] ** 2
        return params.get(f"cov[{left},{right}]")
    if " ~ " in key:
        latent, predictor = key.split(" ~ ")
        return params[f"path[{latent}~{predictor}]"]
    return None


@pytest.mark.parametrize("case", list(CASES))
def test_loglik_and_df_match_lavaan(case):
    fit = fitted(case)
    assert fit.converged
    assert fit.n_params == REFERENCE[case]["df"]
    assert fit.loglik == pytest.approx(REFERENCE[case]["loglik"], abs=0.01)


@pytest.mark.parametrize(
    "case", ["holzinger_cfa3", "holzinger_cfa3_stdlv", "holzinger_mimic", "political_democracy_nocov", "political_democracy"]
)
def test_estimates_match_lavaan(case):
    fit = fitted(case)
    compared = 0
    for key, value in REFERENCE[case]["est"].items():
        if " =~ " in key or (" ~ " in key and "~~" not in key):
            assert lavaan_value(fit, key) == pytest.approx(value, abs=1e-3), key
            compared += 1
        elif " ~~ " in key and lavaan_value(fit, key) is not None:
            assert lavaan_value(fit, key) == pytest.approx(value, rel=1e-2), key
            compared += 1
    assert compared >= 9


def _item_means(fit, latent_values: dict[str, np.ndarray], items: dict[str, list[str]]) -> np.ndarray:
    """Units x items ``nu + lambda * eta`` (items in the order of the model string)."""
    columns = []
    for latent, names in items.items():
        for item in names:
            loading = fit.params.get(f"lambda[{latent},{item}]", 1.0)
            columns.append(fit.params[f"nu[{item}]"] + loading * latent_values[latent])
    return np.column_stack(columns)


def test_predictions_follow_the_structural_model():
    """Latent paths: the EB disturbances through ``(I - B)^{-1}``; covariate paths: the latents'
    means ``Gamma w`` (marginal predictions of gaussian items are ``nu + lambda E[eta]``)."""
    fit = fitted("political_democracy_nocov")
    latents = ["ind60", "dem60", "dem65"]
    items = {"ind60": ["x1", "x2", "x3"], "dem60": ["y1", "y2", "y3", "y4"], "dem65": ["y5", "y6", "y7", "y8"]}
    paths = np.zeros((3, 3))
    for (row, column), name in {(1, 0): "dem60~ind60", (2, 0): "dem65~ind60", (2, 1): "dem65~dem60"}.items():
        paths[row, column] = fit.params[f"path[{name}]"]
    table = fit.latent()
    disturbances = np.column_stack([table.loc[table["latent"] == name, "mean"].to_numpy() for name in latents])
    eta = disturbances @ np.linalg.inv(np.eye(3) - paths).T
    expected = _item_means(fit, dict(zip(latents, eta.T)), items)
    np.testing.assert_allclose(fit.predict()["prediction"].to_numpy().reshape(-1, 11), expected, rtol=1e-10)
    zero = {latent: np.zeros(len(eta)) for latent in latents}
    np.testing.assert_allclose(fit.predict(kind="marginal")["prediction"].to_numpy().reshape(-1, 11),
                               _item_means(fit, zero, items), rtol=1e-10)
    mimic = fitted("holzinger_mimic")
    means = {
        latent: sum(mimic.params[f"path[{latent}~{w}]"] * HOLZINGER[w].to_numpy() for w in ("female", "ageyr"))
        for latent in ("visual", "textual", "speed")
    }
    items = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
    np.testing.assert_allclose(mimic.predict(kind="marginal")["prediction"].to_numpy().reshape(-1, 9),
                               _item_means(mimic, means, items), rtol=1e-10)


def test_std_lv_gives_the_same_fit_with_unit_variances():
    standardised, anchored = fitted("holzinger_cfa3_stdlv"), fitted("holzinger_cfa3")
    assert standardised.loglik == pytest.approx(anchored.loglik, abs=1e-6)
    assert not any(name.startswith("sd[") for name in standardised.params.index)
    # loading x sd is invariant to the identification choice
    sd_visual = anchored.params["sd[visual]"]
    assert standardised.params["lambda[visual,x1]"] == pytest.approx(sd_visual, rel=1e-4)
    assert standardised.params["lambda[visual,x2]"] == pytest.approx(anchored.params["lambda[visual,x2]"] * sd_visual, rel=1e-4)


def test_summary_lists_loadings_and_paths():
    text = fitted("political_democracy_nocov").summary()
    assert "Loadings:" in text and "Structural paths:" in text
    assert "dem65~dem60" in text


def test_all_gaussian_wide_models_use_the_closed_form():
    fit = fitted("political_democracy")
    assert fit.quadrature == "exact, multivariate normal" and fit.nip == 0
    assert "Residual covariances:" in fit.summary()
    # one parameter per residual covariance, named by its items
    assert [name for name in fit.params.index if name.startswith("cov[")] == [
        "cov[y1,y5]", "cov[y2,y4]", "cov[y2,y6]", "cov[y3,y7]", "cov[y4,y8]", "cov[y6,y8]"
    ]


#: adaptive quadrature of a gaussian model is exact up to rounding and the mode search
QUADRATURE_VS_EXACT = 1e-6


def test_quadrature_gives_the_closed_form_loglik():
    model = glpp.Model(CFA3, HOLZINGER)
    exact = fitted("holzinger_cfa3")
    at_estimate = exact.params
    per_unit = model.loglik_at(at_estimate, per_cluster=True)
    assert per_unit.sum() == pytest.approx(exact.loglik, abs=QUADRATURE_VS_EXACT)
    for nip in (1, 3):
        quadrature = model.loglik_at(at_estimate, nip=nip, per_cluster=True)
        np.testing.assert_allclose(quadrature, per_unit, rtol=0, atol=1e-8)
    # away from the estimate too
    elsewhere = at_estimate.copy()
    elsewhere["lambda[visual,x2]"] = 0.3
    elsewhere["sd[speed]"] = 1.2
    assert model.loglik_at(elsewhere, nip=3) == pytest.approx(model.loglik_at(elsewhere), abs=QUADRATURE_VS_EXACT)
    # an integer nip fits by quadrature, to the same maximum
    by_quadrature = model.fit(nip=3)
    assert by_quadrature.quadrature.startswith("adaptive Gauss-Hermite quadrature")
    assert by_quadrature.loglik == pytest.approx(exact.loglik, abs=QUADRATURE_VS_EXACT)


def test_closed_form_eb_moments_match_an_independent_computation():
    fit = fitted("holzinger_cfa3")
    items = [f"x{k}" for k in range(1, 10)]
    latents = ["visual", "textual", "speed"]
    loadings = np.zeros((9, 3))
    for k, item in enumerate(items):
        loadings[k, k // 3] = fit.params.get(f"lambda[{latents[k // 3]},{item}]", 1.0)
    sds = np.array([fit.params[f"sd[{latent}]"] for latent in latents])
    correlations = np.eye(3)
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        name = f"cor[{latents[a]},{latents[b]}]"
        correlations[a, b] = correlations[b, a] = fit.params[name]
    psi = correlations * np.outer(sds, sds)
    sigma = loadings @ psi @ loadings.T + np.diag([fit.params[f"sigma[{item}]"] ** 2 for item in items])
    intercepts = np.array([fit.params[f"nu[{item}]"] for item in items])
    responses = HOLZINGER[items].to_numpy(float)
    assert stats.multivariate_normal(intercepts, sigma).logpdf(responses).sum() == pytest.approx(fit.loglik, abs=1e-8)
    gain = np.linalg.solve(sigma, loadings @ psi)  # Sigma^-1 Lambda Psi
    posterior_mean = (responses - intercepts) @ gain
    posterior_sd = np.sqrt(np.diag(psi - psi @ loadings.T @ gain))
    table = fit.latent()
    for a, latent in enumerate(latents):
        rows = table[table["latent"] == latent]
        np.testing.assert_allclose(rows["mean"], posterior_mean[:, a], atol=1e-10)
        np.testing.assert_allclose(rows["sd"], posterior_sd[a], atol=1e-10)


def test_residual_covariance_terms():
    data = pd.read_csv(DATA / "political_democracy.csv")
    base = glpp.Model(DEMOCRACY, data).layout
    # a residual variance is free already; equal labels are one parameter
    assert glpp.Model(DEMOCRACY + "\ny1 ~~ y1", data).layout.natural_names == base.natural_names
    labelled = glpp.Model(DEMOCRACY + "\ny1 ~~ a*y5\ny2 ~~ a*y6\ny3 ~~ y7", data).layout
    assert labelled.n_theta == base.n_theta + 2
    assert [name for name in labelled.natural_names if name.startswith("cov[")] == ["cov[a]", "cov[y3,y7]"]


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("y1 ~~ dem65", r"'y1 ~~ dem65': 'dem65' is a latent variable"),
        ("y1 ~~ 0*y5", r"'y1 ~~ 0\*y5': fixed residual covariances are not supported"),
        ("y1 ~~ y5\ny5 ~~ y1", r"'y5 ~~ y1'.*already given by 'y1 ~~ y5'"),
    ],
)
def test_residual_covariance_errors(statement, message):
    data = pd.read_csv(DATA / "political_democracy.csv")
    with pytest.raises(glpp.SpecError, match=message):
        glpp.Model(DEMOCRACY + "\n" + statement, data)


def test_residual_covariances_need_the_closed_form():
    model = glpp.Model(DEMOCRACY + "\ny1 ~~ y5", pd.read_csv(DATA / "political_democracy.csv"))
    with pytest.raises(glpp.SpecError, match=r"'y1 ~~ y5'.*exact multivariate normal likelihood only.*nip='auto'"):
        model.fit(nip=5)
    with pytest.raises(glpp.SpecError, match=r"'y1 ~~ y5'.*Bayesian"):
        model.pymc_model()
    data, _ = simulated_measurement_error(50)
    with pytest.raises(glpp.SpecError, match=r"'w1 ~~ w2'.*every item gaussian with identity link.*d \(binomial/logit\)"):
        glpp.Model("X =~ w1 + w2 + d\nw1 ~~ w2", data, family={"w1": "gaussian", "w2": "gaussian", "d": "binomial"})
    verbagg = pd.read_csv(DATA / "verbagg.csv")
    with pytest.raises(glpp.SpecError, match=r"'r2 ~~ anger'.*residual covariance of two items of a measurement model on wide data"):
        glpp.Model("r2 ~ 0 + C(item) + (1 | id)\nr2 ~~ anger", verbagg, family="binomial")


def test_identification_errors_name_the_latent_and_the_fix():
    with pytest.raises(glpp.IdentificationError, match=r"'visual' has no fixed scale.*std_lv"):
        glpp.Model("visual =~ NA*x1 + x2 + x3", HOLZINGER)
    with pytest.raises(glpp.IdentificationError, match="free parameters but the data give only"):
        glpp.Model("visual =~ x1 + x2", HOLZINGER)
    with pytest.raises(glpp.SpecError, match="cycle"):
        glpp.Model(CFA3 + "\nvisual ~ textual\ntextual ~ speed\nspeed ~ visual", HOLZINGER)
    # a covariate's effect on three items: 3 slopes, but a path and 3 direct effects (13 > 12)
    one_factor = "visual =~ x1 + x2 + x3\nvisual ~ female"
    glpp.Model(one_factor + "\nx1 ~ female\nx2 ~ female", HOLZINGER)  # 12 parameters: identified
    with pytest.raises(glpp.IdentificationError, match="13 free parameters but the data give only 12"):
        glpp.Model(one_factor + "\nx1 ~ female\nx2 ~ female\nx3 ~ female", HOLZINGER)


def test_missing_items_drop_whole_units_and_say_so():
    data = HOLZINGER.copy()
    data.loc[[0, 1], "x5"] = np.nan
    model = glpp.Model("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", data)
    assert model.design.n_dropped == 2
    assert model.design.levels[0].n_clusters == len(data) - 2


# --------------------------------------------------------------------------- IRT
VERBAGG_WIDE = pd.read_csv(DATA / "verbagg_wide.csv")
ITEMS = [f"i{k}" for k in range(1, 25)]


def test_rasch_in_long_format_matches_lme4():
    verbagg = pd.read_csv(DATA / "verbagg.csv")
    fit = glpp.Model("r2 ~ 0 + C(item) + (1 | id)", verbagg, family="binomial").fit()
    converged_reference = REFERENCE["verbagg_rasch_bobyqa"]
    assert fit.n_params == converged_reference["df"] == 25
    assert fit.loglik == pytest.approx(converged_reference["loglik"], abs=0.01)
    # the default-optimizer lme4 fit stopped early (its own warning); a correct fit sits above it
    assert fit.loglik >= REFERENCE["verbagg_rasch"]["loglik"] - 1e-3


def two_pl_loglik(values: np.ndarray, responses: np.ndarray, n_nodes: int = 121) -> float:
    """Independent 2PL marginal log-likelihood: intercepts, loadings (first 1), latent SD; plain GH."""
    n_items = responses.shape[1]
    intercepts = values[:n_items]
    loadings = np.concatenate([[1.0], values[n_items : 2 * n_items - 1]])
    sd = values[-1]
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    weights = weights / weights.sum()
    eta = intercepts[None, None, :] + loadings[None, None, :] * sd * nodes[None, :, None]  # (1, K, items)
    y = responses[:, None, :]
    log_conditional = np.sum(y * eta - np.logaddexp(0.0, eta), axis=2)  # (units, K)
    return float(np.sum(special.logsumexp(log_conditional + np.log(weights)[None, :], axis=1)))


@pytest.fixture(scope="module")
def two_pl():
    return glpp.Model("F =~ " + " + ".join(ITEMS), VERBAGG_WIDE, family="binomial").fit()


def test_two_pl_matches_an_independent_quadrature(two_pl):
    responses = VERBAGG_WIDE[ITEMS].to_numpy(dtype=float)
    values = np.concatenate(
        [
            [two_pl.params[f"nu[{item}]"] for item in ITEMS],
            [two_pl.params[f"lambda[F,{item}]"] for item in ITEMS[1:]],
            [two_pl.params["sd[F]"]],
        ]
    )
    assert two_pl.n_params == 2 * len(ITEMS)
    assert two_pl_loglik(values, responses) == pytest.approx(two_pl.loglik, abs=1e-3)
    # and glpp's estimate is the maximum of the independent function
    result = optimize.minimize(lambda v: -two_pl_loglik(v, responses, 41), values, method="L-BFGS-B", options={"maxiter": 30})
    assert -result.fun < two_pl_loglik(values, responses, 41) + 0.01


def mimic_two_pl_loglik(values: dict[str, float], responses: np.ndarray, covariates: np.ndarray, dif: np.ndarray) -> float:
    """Independent 2PL-MIMIC with a direct effect of ``dif`` on item 5: plain GH, 121 nodes."""
    intercepts = np.array([values[f"nu[{item}]"] for item in ITEMS])
    loadings = np.array([1.0] + [values[f"lambda[F,{item}]"] for item in ITEMS[1:]])
    latent_mean = covariates @ np.array([values["path[F~male]"], values["path[F~anger]"]])
    nodes, weights = np.polynomial.hermite_e.hermegauss(121)
    latent = latent_mean[:, None] + values["sd[F]"] * nodes[None, :]  # (units, K)
    eta = intercepts[None, None, :] + loadings[None, None, :] * latent[:, :, None]
    eta[:, :, 4] += values["path[i5~male]"] * dif[:, None]
    y = responses[:, None, :]
    log_conditional = np.sum(y * eta - np.logaddexp(0.0, eta), axis=2)
    return float(np.sum(special.logsumexp(log_conditional + np.log(weights / weights.sum())[None, :], axis=1)))


def test_irt_mimic_with_differential_item_functioning():
    persons = pd.read_csv(DATA / "verbagg.csv").groupby("id")[["male", "anger"]].first().reset_index()
    data = VERBAGG_WIDE.merge(persons, on="id")
    formula = "F =~ " + " + ".join(ITEMS) + "\nF ~ male + anger\ni5 ~ male"
    fit = glpp.Model(formula, data, family="binomial").fit()
    assert fit.converged
    assert fit.n_params == 2 * len(ITEMS) + 3
    assert "path[i5~male]" in fit.params.index and "path[F~anger]" in fit.params.index
    independent = mimic_two_pl_loglik(
        fit.params.to_dict(), data[ITEMS].to_numpy(float), data[["male", "anger"]].to_numpy(float), data["male"].to_numpy(float)
    )
    assert independent == pytest.approx(fit.loglik, abs=1e-3)


# ------------------------------------------------------- mixed response types
def simulated_measurement_error(n_units: int = 1500, seed: int = 2026) -> tuple[pd.DataFrame, dict[str, float]]:
    """Exposure model x ~ z, two error-prone replicates w1, w2 of x, and a logistic disease model."""
    rng = np.random.default_rng(seed)
    truth = {"path[X~z]": 0.8, "sd[X]": 1.0, "sigma[w1]": 0.6, "sigma[w2]": 0.6, "lambda[X,d]": 0.7, "path[d~z]": -0.5}
    z = rng.normal(size=n_units)
    exposure = 0.5 + truth["path[X~z]"] * z + rng.normal(scale=truth["sd[X]"], size=n_units)
    data = pd.DataFrame(
        {
            "z": z,
            "w1": exposure + rng.normal(scale=truth["sigma[w1]"], size=n_units),
            "w2": exposure + rng.normal(scale=truth["sigma[w2]"], size=n_units),
            "d": rng.binomial(1, special.expit(-1.0 + truth["lambda[X,d]"] * exposure + truth["path[d~z]"] * z)),
        }
    )
    truth["nu[w1]"] = truth["nu[w2]"] = 0.5
    truth["nu[d]"] = -1.0 + truth["lambda[X,d]"] * 0.5
    return data, truth


def test_covariate_measurement_error_model_recovers_the_truth():
    data, truth = simulated_measurement_error()
    model = glpp.Model(
        "X =~ w1 + 1*w2 + d      # replicates w1, w2 and the disease's log odds ratio\n"
        "X ~ z                   # exposure model\n"
        "d ~ z                   # disease model: direct effect of z",
        data,
        family={"w1": "gaussian", "w2": "gaussian", "d": "binomial"},
    )
    fit = model.fit()
    assert fit.converged
    assert set(truth) == set(fit.params.index)
    for name, value in truth.items():
        assert abs(fit.params[name] - value) < 2 * fit.se[name], name


def test_family_per_item_must_cover_every_item():
    data, _ = simulated_measurement_error(50)
    with pytest.raises(glpp.SpecError, match=r"not for \['d'\]"):
        glpp.Model("X =~ w1 + w2 + d", data, family={"w1": "gaussian", "w2": "gaussian"})
    data.loc[0, "d"] = 3
    with pytest.raises(glpp.DataError, match="'d'"):
        glpp.Model("X =~ w1 + w2 + d", data, family={"w1": "gaussian", "w2": "gaussian", "d": "binomial"})


# ------------------------------------------------------- two-level factor models
DEMO_TWOLEVEL = pd.read_csv(DATA / "demo_twolevel.csv")
#: lavaan's Demo.twolevel model (``level: 2`` with ``cluster = "cluster"``): glpp names the level by its column
TWO_LEVEL_CFA = "level: 1\nfw =~ y1 + y2 + y3\nlevel: cluster\nfb =~ y1 + y2 + y3"
#: lavaan's two-level ML and glpp's (exact Laplace) agree to its convergence; loadings and variances
#: (SEs 0.03-0.12) to this
TWO_LEVEL_ESTIMATE_TOL = 1e-3


@pytest.fixture(scope="module")
def two_level_cfa() -> glpp.Model:
    return glpp.Model(TWO_LEVEL_CFA, DEMO_TWOLEVEL)


@pytest.fixture(scope="module")
def two_level_cfa_fit(two_level_cfa) -> glpp.MLResult:
    return two_level_cfa.fit()


def two_level_name(key: str) -> tuple[str, bool] | None:
    """glpp's parameter for a lavaan two-level ``est`` key, and whether lavaan reports its square.

    ``None`` for lavaan's fixed entries (first loadings, level-1 and latent means).
    """
    statement, level = key.rsplit(" [level ", 1)
    between = level == "2]"
    if " =~ " in statement:
        latent, item = statement.split(" =~ ")
        return (f"lambda[{latent},{item}]", False) if item != "y1" else None
    if " ~~ " in statement:
        left, _ = statement.split(" ~~ ")
        if left in ("fw", "fb"):
            return f"sd[{left}]", True
        return (f"sd[{left}|cluster]", True) if between else (f"sigma[{left}]", True)
    item = statement.split(" ~1")[0]
    return (f"nu[{item}]", False) if between and item.startswith("y") else None


def lavaan_two_level_params() -> dict[str, float]:
    params = {}
    for key, value in REFERENCE["demo_twolevel"]["est"].items():
        if (named := two_level_name(key)) is not None:
            name, squared = named
            params[name] = np.sqrt(value) if squared else value
    return params


def test_two_level_factor_model_matches_lavaan(two_level_cfa_fit):
    reference = REFERENCE["demo_twolevel"]
    fit = two_level_cfa_fit
    assert fit.converged
    assert fit.n_params == reference["df"] == 15
    assert fit.loglik == pytest.approx(reference["loglik"], abs=0.01)
    assert fit.n_clusters == {"unit": 2500, "cluster": 200}
    # nip="auto": the two-level closed form (a cluster's items are jointly normal)
    assert fit.quadrature.startswith("exact, multivariate normal") and fit.nip == 0
    expected = lavaan_two_level_params()
    assert set(expected) == set(fit.params.index)
    for name, value in expected.items():
        assert fit.params[name] == pytest.approx(value, abs=TWO_LEVEL_ESTIMATE_TOL), name


def two_level_cluster_loglik(params: dict[str, float], data: pd.DataFrame) -> np.ndarray:
    """Independent two-level CFA log-likelihood per cluster: all items of a cluster are one normal vector.

    ``Cov = I_n (x) Sigma_within + J_n (x) Sigma_between`` for a cluster of ``n`` units (scipy).
    """
    items = ["y1", "y2", "y3"]
    within_loadings = np.array([1.0] + [params[f"lambda[fw,{item}]"] for item in items[1:]])
    between_loadings = np.array([1.0] + [params[f"lambda[fb,{item}]"] for item in items[1:]])
    within = params["sd[fw]"] ** 2 * np.outer(within_loadings, within_loadings) + np.diag(
        [params[f"sigma[{item}]"] ** 2 for item in items]
    )
    between = params["sd[fb]"] ** 2 * np.outer(between_loadings, between_loadings) + np.diag(
        [params[f"sd[{item}|cluster]"] ** 2 for item in items]
    )
    means = np.array([params[f"nu[{item}]"] for item in items])
    totals = []
    for _, cluster in data.groupby("cluster", sort=True):
        n = len(cluster)
        covariance = np.kron(np.eye(n), within) + np.kron(np.ones((n, n)), between)
        responses = cluster[items].to_numpy(float).ravel()
        totals.append(stats.multivariate_normal(np.tile(means, n), covariance).logpdf(responses))
    return np.array(totals)


@pytest.mark.parametrize("nip", ["auto", 1])  # the closed form, and one adaptive point per level
def test_two_level_loglik_at_lavaans_estimates(two_level_cfa, nip):
    reference = REFERENCE["demo_twolevel"]
    params = lavaan_two_level_params()
    per_cluster = two_level_cfa.loglik_at(params, nip=nip, per_cluster=True)
    assert per_cluster.shape == (200,)
    np.testing.assert_allclose(per_cluster, two_level_cluster_loglik(params, DEMO_TWOLEVEL), rtol=0, atol=1e-8)
    assert per_cluster.sum() == pytest.approx(reference["loglik"], abs=1e-6)


def test_two_level_closed_form_equals_the_quadrature_fit(two_level_cfa, two_level_cfa_fit):
    # Laplace (one adaptive point per level) is exact for gaussian items: the same estimates,
    # standard errors and EB predictions of both levels' latents
    exact, quadrature = two_level_cfa_fit, two_level_cfa.fit(nip=1)
    assert quadrature.quadrature.startswith("Laplace")
    assert quadrature.loglik == pytest.approx(exact.loglik, abs=1e-6)
    np.testing.assert_allclose(quadrature.params, exact.params, atol=1e-5)
    np.testing.assert_allclose(quadrature.se, exact.se, rtol=1e-3)
    exact_latent, quadrature_latent = exact.latent(), quadrature.latent()
    assert exact_latent.groupby("level").size().to_dict() == {"cluster": 4 * 200, "unit": 2500}
    np.testing.assert_allclose(quadrature_latent["mean"], exact_latent["mean"], atol=1e-5)
    np.testing.assert_allclose(quadrature_latent["sd"], exact_latent["sd"], atol=1e-5)


CROSSLEVEL = pd.read_csv(DATA / "crosslevel.csv")
#: simulated (make_data.R): the within factor depends on the between factor, path 0.7
CROSSLEVEL_PATH = "level: 1\nfw =~ y1 + y2 + y3\nfw ~ fb\nlevel: cluster\nfb =~ y4 + y5 + y6"


def test_latent_depending_on_a_latent_of_the_level_above_matches_lavaan():
    # lavaan has no path between levels; its reference is the same model written as fb loading
    # on y1-y3 with loadings b * (fw's loadings), constrained (make_reference.R)
    reference = REFERENCE["crosslevel_path"]
    est = reference["est"]
    fit = glpp.Model(CROSSLEVEL_PATH, CROSSLEVEL).fit()
    assert fit.converged
    assert fit.n_params == reference["df"] == 22
    assert fit.loglik == pytest.approx(reference["loglik"], abs=0.01)
    expected = {
        "path[fw~fb]": est["fb =~ y1 [level 2]"],
        "lambda[fw,y2]": est["fw =~ y2 [level 1]"],
        "lambda[fw,y3]": est["fw =~ y3 [level 1]"],
        "lambda[fb,y5]": est["fb =~ y5 [level 2]"],
        "lambda[fb,y6]": est["fb =~ y6 [level 2]"],
        "sd[fw]": np.sqrt(est["fw ~~ fw [level 1]"]),
        "sd[fb]": np.sqrt(est["fb ~~ fb [level 2]"]),
        "sd[y4|cluster]": np.sqrt(est["y4 ~~ y4 [level 2]"]),
        "sigma[y1]": np.sqrt(est["y1 ~~ y1 [level 1]"]),
        "nu[y3]": est["y3 ~1  [level 2]"],
    }
    for name, value in expected.items():
        assert fit.params[name] == pytest.approx(value, abs=TWO_LEVEL_ESTIMATE_TOL), name
    # the simulated path (0.7) and between-factor variance (0.5) within 2 SE
    assert abs(fit.params["path[fw~fb]"] - 0.7) < 2 * fit.se["path[fw~fb]"]
    assert abs(fit.params["sd[fb]"] - np.sqrt(0.5)) < 2 * fit.se["sd[fb]"]


def test_factors_at_two_levels_of_long_data_match_lavaan():
    reference = REFERENCE["crosslevel_long_factors"]
    long = CROSSLEVEL.assign(unit=np.arange(len(CROSSLEVEL))).melt(
        id_vars=["unit", "cluster"], var_name="item", value_name="y"
    )
    model = glpp.Model("y ~ 0 + item\nfw@unit =~ item\nfb@cluster =~ item", long)
    assert [level.name for level in model.design.levels] == ["unit", "cluster"]
    fit = model.fit()
    assert fit.n_params == reference["df"] == 19
    assert fit.loglik == pytest.approx(reference["loglik"], abs=0.01)
    est = reference["est"]
    for latent, level in (("fw", 1), ("fb", 2)):
        for item in ("y2", "y4", "y6"):
            assert fit.params[f"lambda[{latent},{item}]"] == pytest.approx(
                est[f"{latent} =~ {item} [level {level}]"], abs=TWO_LEVEL_ESTIMATE_TOL
            )
        assert fit.params[f"sd[{latent}]"] == pytest.approx(np.sqrt(est[f"{latent} ~~ {latent} [level {level}]"]), abs=1e-3)
    assert fit.params["sigma"] == pytest.approx(np.sqrt(est["y1 ~~ y1 [level 1]"]), abs=1e-3)


def test_two_level_closed_form_with_paths_equals_the_quadrature():
    # paths from a unit-level covariate, a cluster-level covariate and the level above
    data = CROSSLEVEL.assign(
        w=CROSSLEVEL.groupby("cluster")["y4"].transform("mean").round(3),
        x=np.random.default_rng(1).standard_normal(len(CROSSLEVEL)).round(3),
    )
    model = glpp.Model(CROSSLEVEL_PATH + "\nfw ~ x\nfb ~ w", data)
    fit = model.fit()
    assert fit.converged and fit.quadrature.startswith("exact")
    assert {"path[fw~fb]", "path[fw~x]", "path[fb~w]"} <= set(fit.params.index)
    exact = model.loglik_at(fit.params, per_cluster=True)
    np.testing.assert_allclose(model.loglik_at(fit.params, nip=1, per_cluster=True), exact, rtol=0, atol=1e-8)
    assert exact.sum() == pytest.approx(fit.loglik, abs=1e-8)


def test_a_path_that_duplicates_loadings_is_reported_as_not_identified():
    # fw ~ fb with fb measured by fw's own items: b * lambda_w trades off against fb's loadings.
    # With three items that is more parameters than moments (16 > 15): an error before fitting
    with pytest.raises(glpp.IdentificationError, match="16 free parameters but the data give only 15"):
        glpp.Model("level: 1\nfw =~ y1 + y2 + y3\nfw ~ fb\nlevel: cluster\nfb =~ y1 + y2 + y3", DEMO_TWOLEVEL)
    # with four items the count passes (21 <= 24) and the fit finds the flat direction
    items = "y1 + y2 + y3 + y4"
    model = glpp.Model(f"level: 1\nfw =~ {items}\nfw ~ fb\nlevel: cluster\nfb =~ {items}", DEMO_TWOLEVEL)
    with pytest.warns(glpp.IdentificationWarning, match=r"may not be identified.*path\[fw~fb\]"):
        fit = model.fit()
    assert not fit.converged
    # the likelihood is that of the model without the path (the same covariances)
    without = glpp.Model(f"level: 1\nfw =~ {items}\nlevel: cluster\nfb =~ {items}", DEMO_TWOLEVEL).fit()
    assert without.converged and fit.loglik == pytest.approx(without.loglik, abs=1e-4)


@pytest.mark.parametrize(
    "model",
    [
        "level: 1\nfw =~ y1 + y2 + y3\nlevel: cluster\nfb =~ y4 + y5 + y6\nfb ~ fw",
        "y ~ 0 + item\nfw@unit =~ item\nfb@cluster =~ item\nfb ~ fw",
    ],
)
def test_a_latent_cannot_depend_on_a_latent_of_a_lower_level(model):
    data = CROSSLEVEL.assign(unit=np.arange(len(CROSSLEVEL)))
    if "item" in model:
        data = data.melt(id_vars=["unit", "cluster"], var_name="item", value_name="y")
    with pytest.raises(glpp.SpecError, match=r"'fb ~ fw': 'fw' varies at level 'u\w+', below the level of 'fb'"):
        glpp.Model(model, data)


def test_level_blocks_and_at_levels_on_wide_data():
    # F@g outside blocks: the factor varies over clusters, with no between-level item residuals
    at_level = glpp.Model("fw =~ y1 + y2 + y3\nfb@cluster =~ y1 + y2 + y3", DEMO_TWOLEVEL).layout
    assert not any("|cluster]" in name for name in at_level.natural_names) and at_level.n_theta == 12
    # y ~~ 0*y in the block removes one; the within level may be left undeclared
    removed = glpp.Model("fw =~ y1 + y2 + y3\nlevel: cluster\nfb =~ y1 + y2 + y3\ny1 ~~ 0*y1", DEMO_TWOLEVEL)
    assert [name for name in removed.layout.natural_names if "|cluster]" in name] == ["sd[y2|cluster]", "sd[y3|cluster]"]
    assert [level.name for level in removed.design.levels] == ["unit", "cluster"]
    assert removed.design.levels[1].latent_names == ("fb", "y2", "y3")
    # each unit's items share its cluster
    unit, cluster = removed.design.levels
    np.testing.assert_array_equal(unit.parent_index[unit.cluster_index], cluster.cluster_index)


@pytest.mark.parametrize(
    ("model", "error", "message"),
    [
        ("level: 1\nfw =~ y1 + y2 + y3\nlevel: clustr\nfb =~ y1 + y2 + y3", glpp.DataError, r"grouping column 'clustr' of 'level: clustr' is not in the data"),
        ("fw =~ y1 + y2 + y3\nfb@clustr =~ y1 + y2 + y3", glpp.DataError, r"grouping column 'clustr' of 'fb@clustr =~ \.\.\.'"),
        (TWO_LEVEL_CFA + "\nlevel: cluster\nfc =~ y4 + y5 + y6", glpp.SpecError, r"level 'cluster' is already declared on line 3"),
        ("level: 1\nfw =~ y1 + y2 + y3\nlevel: 2\nfb =~ y1 + y2 + y3", glpp.SpecError, r"'level: 2': glpp names a level by its grouping column"),
        (TWO_LEVEL_CFA + "\nfw ~~ fb", glpp.SpecError, r"'fw ~~ fb'.*different levels"),
        (TWO_LEVEL_CFA + "\nfb ~ x1", glpp.DataError, r"'fb ~ x1'.*'x1' varies within them"),
        (TWO_LEVEL_CFA + "\ny4 ~~ y4", glpp.SpecError, r"'y4 ~~ y4' in the 'level: cluster' block: 'y4' is not an item"),
        ("level: 1\nfw =~ y1 + y2 + y3\ny1 ~~ y2\nlevel: cluster\nfb =~ y1 + y2 + y3", glpp.SpecError, r"'y1 ~~ y2': residual covariances of items"),
    ],
)
def test_bad_level_declarations(model, error, message):
    with pytest.raises(error, match=message):
        glpp.Model(model, DEMO_TWOLEVEL)


def test_levels_must_be_nested():
    data = DEMO_TWOLEVEL.assign(school=np.arange(len(DEMO_TWOLEVEL)) % 2)  # every cluster in both schools
    model = TWO_LEVEL_CFA + "\nlevel: school\nfs =~ y1 + y2 + y3"
    with pytest.raises(glpp.DataError, match=r"'cluster' is not nested in 'school': cluster 1 appears in more than one"):
        glpp.Model(model, data)


def test_factor_with_every_loading_fixed_at_one_is_the_long_random_intercept_model():
    # all loadings fixed at 1: the graph has no loading input (once a TypeError in fit())
    wide = pd.read_csv(ROOT / "model_library" / "data" / "verbagg_wide.csv")
    items = ["i1", "i2", "i3", "i4"]
    fit_wide = glpp.Model("F =~ 1*i1 + 1*i2 + 1*i3 + 1*i4", wide, family="binomial").fit(nip=15)
    long = wide.melt(id_vars="id", value_vars=items, var_name="item", value_name="y")
    fit_long = glpp.Model("y ~ 0 + C(item) + (1 | id)", long, family="binomial").fit(nip=15)
    assert fit_wide.converged and fit_long.converged
    assert abs(fit_wide.loglik - fit_long.loglik) < 1e-6
    assert abs(fit_wide.params["sd[F]"] - fit_long.params["sd[id]"]) < 1e-4
