"""Three- and four-level models: glpp.likelihood.multilevel against lme4 and independent numpy computations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, gammaln, logsumexp

import glpp
from glpp.fitting.multilevel import MultilevelObjective, compiled_multilevel

DATA = Path(__file__).resolve().parents[1] / "model_library" / "data"
REFERENCE = json.loads((Path(__file__).parent / "reference" / "reference.json").read_text())

#: log-likelihood against lme4 / the independent computation (issue 4 acceptance)
LOGLIK_TOL = 0.01
#: fixed effects, relative (STYLE.md)
FIXED_RTOL = 1e-3
#: variance components (SDs), relative (STYLE.md)
VARIANCE_RTOL = 1e-2
#: change of the log-likelihood at the estimate when nip increases (issue 4)
NIP_STABILITY = 1e-3

GUIMMUN_FORMULA = (
    "immun ~ kid2p + mom25p + ord23 + ord46 + ord7p + ethnN + ethnS + momEdP + momEdS"
    " + husEdP + husEdS + husEdU + momWorkY + ruralY + pcInd81 + (1 | comm/mom)"
)
POISSON3_FORMULA = "y ~ x + offset(log(exposure)) + (1 | l3) + (1 + x | l3:l2)"


@pytest.fixture(scope="module")
def egsingle_fit():
    data = pd.read_csv(DATA / "egsingle.csv")
    return glpp.Model("math ~ year + black + hispanic + (1 | schoolid/childid)", data).fit()


@pytest.fixture(scope="module")
def guimmun_model():
    return glpp.Model(GUIMMUN_FORMULA, pd.read_csv(DATA / "guimmun.csv"), family="binomial")


@pytest.fixture(scope="module")
def guimmun_laplace(guimmun_model):
    return guimmun_model.fit(nip=1)


@pytest.fixture(scope="module")
def guimmun_agq(guimmun_model):
    return guimmun_model.fit(nip=15)


@pytest.fixture(scope="module")
def poisson3_model():
    return glpp.Model(POISSON3_FORMULA, pd.read_csv(DATA / "poisson3.csv"), family="poisson")


# --------------------------------------------------------------- gaussian
def test_egsingle_matches_lmer(egsingle_fit):
    ref = REFERENCE["egsingle_3level"]
    fit = egsingle_fit
    assert fit.loglik == pytest.approx(ref["loglik"], abs=LOGLIK_TOL)
    assert fit.n_params == ref["df"]
    for name, value in ref["fixef"].items():
        assert fit.params[f"beta[{name}]"] == pytest.approx(value, rel=FIXED_RTOL)
    sdcor = ref["sdcor"]
    assert fit.params["sd[schoolid:childid]"] == pytest.approx(sdcor["childid:schoolid:(Intercept):NA"], rel=VARIANCE_RTOL)
    assert fit.params["sd[schoolid]"] == pytest.approx(sdcor["schoolid:(Intercept):NA"], rel=VARIANCE_RTOL)
    assert fit.params["sigma"] == pytest.approx(ref["sigma"], rel=VARIANCE_RTOL)
    assert fit.converged


def test_egsingle_latent_has_every_level(egsingle_fit):
    latent = egsingle_fit.latent()
    counts = latent.groupby("level").size()
    assert counts["schoolid"] == 60
    assert counts["schoolid:childid"] == egsingle_fit.n_clusters["schoolid:childid"]
    assert np.all(latent["sd"] > 0)


def test_egsingle_icc_by_hand(egsingle_fit):
    fit = egsingle_fit
    school, child = fit.params["sd[schoolid]"] ** 2, fit.params["sd[schoolid:childid]"] ** 2
    residual = fit.params["sigma"] ** 2
    total = school + child + residual
    icc = fit.icc()
    assert list(icc.index) == ["schoolid:childid", "schoolid", "Residual"]
    np.testing.assert_allclose(icc["variance"], [child, school, residual], rtol=1e-12)
    np.testing.assert_allclose(icc["vpc"], np.array([child, school, residual]) / total, rtol=1e-12)
    # the same child: both levels' intercepts are shared; the same school, another child: the school's only
    assert icc.loc["schoolid:childid", "icc"] == pytest.approx((child + school) / total, rel=1e-12)
    assert icc.loc["schoolid", "icc"] == pytest.approx(school / total, rel=1e-12)


# --------------------------------------------------------------- logistic
def test_guimmun_laplace_matches_lme4(guimmun_laplace):
    ref = REFERENCE["guimmun_3level_laplace"]
    fit = guimmun_laplace
    assert "Laplace" in fit.quadrature
    assert fit.n_params == ref["df"]
    # lme4 (bobyqa) and glmmTMB agree to 1e-4 on the Laplace optimum
    assert fit.loglik == pytest.approx(ref["loglik"], abs=LOGLIK_TOL)
    assert fit.loglik == pytest.approx(ref["loglik_glmmTMB"], abs=LOGLIK_TOL)


def _nested_gh_binary(data: pd.DataFrame, fit, n_points: int) -> float:
    """Three-level random-intercept logit log-likelihood by plain nested Gauss-Hermite.

    Non-adaptive: the latents are integrated against their N(0, sd^2) priors
    with ``n_points`` probabilists' Gauss-Hermite nodes at each level.
    """
    fixed_names = [name[5:-1] for name in fit.params.index if name.startswith("beta[")]
    beta = np.array([fit.params[f"beta[{name}]"] for name in fixed_names])
    design = np.column_stack([np.ones(len(data))] + [data[name].to_numpy(float) for name in fixed_names[1:]])
    sd_mom, sd_comm = fit.params["sd[comm:mom]"], fit.params["sd[comm]"]
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_points)
    log_weights = np.log(weights / weights.sum())
    y = data["immun"].to_numpy(float)
    mom_codes, mom_labels = pd.factorize(data["comm"].astype(str) + ":" + data["mom"].astype(str))
    comm_codes, _ = pd.factorize(data["comm"])
    mom_comm = np.zeros(len(mom_labels), dtype=int)
    mom_comm[mom_codes] = comm_codes
    # eta[row, comm node q, mom node k]
    eta = (design @ beta)[:, None, None] + sd_comm * nodes[None, :, None] + sd_mom * nodes[None, None, :]
    row_logp = y[:, None, None] * np.log(expit(eta)) + (1.0 - y[:, None, None]) * np.log(expit(-eta))
    per_mom = np.zeros((len(mom_labels), n_points, n_points))
    np.add.at(per_mom, mom_codes, row_logp)
    mom_integral = logsumexp(per_mom + log_weights[None, None, :], axis=2)  # (moms, comm nodes)
    per_comm = np.zeros((comm_codes.max() + 1, n_points))
    np.add.at(per_comm, mom_comm, mom_integral)
    return float(logsumexp(per_comm + log_weights[None, :], axis=1).sum())


def test_guimmun_agq_matches_independent_nested_quadrature(guimmun_model, guimmun_agq):
    fit = guimmun_agq
    data = pd.read_csv(DATA / "guimmun.csv")
    independent = _nested_gh_binary(data, fit, 60)
    # the independent rule itself is converged
    assert independent == pytest.approx(_nested_gh_binary(data, fit, 45), abs=1e-3)
    assert fit.loglik == pytest.approx(independent, abs=LOGLIK_TOL)
    assert fit.n_params == REFERENCE["guimmun_3level_laplace"]["df"]
    assert fit.converged


def test_guimmun_laplace_is_far_from_agq(guimmun_laplace, guimmun_agq):
    # Laplace is known to be poor here (Rodriguez & Goldman): about 30 log-likelihood units
    assert guimmun_agq.loglik - guimmun_laplace.loglik > 10.0
    assert guimmun_agq.params["sd[comm:mom]"] > guimmun_laplace.params["sd[comm:mom]"]


def test_guimmun_gradient_matches_finite_differences(guimmun_model, guimmun_agq):
    functions = compiled_multilevel(guimmun_model.layout, guimmun_model.family, guimmun_model.link)
    objective = MultilevelObjective(functions, guimmun_model.design, 7)
    theta = guimmun_model.layout.theta_from_natural(
        guimmun_agq.params.iloc[:16].to_numpy() + 0.05,
        [np.array([[1.5]]), np.array([[0.6]])],
        None,
    )
    _, gradient, _ = objective.loglik(theta)
    for k in (0, 1, 16, 17):
        step = np.zeros_like(theta)
        step[k] = 1e-5
        difference = (objective.loglik(theta + step)[0] - objective.loglik(theta - step)[0]) / 2e-5
        assert gradient[k] == pytest.approx(difference, rel=1e-5, abs=1e-5)


# ----------------------------------------------------------------- poisson
@pytest.fixture(scope="module")
def poisson3_laplace(poisson3_model):
    return poisson3_model.fit(nip=1)


@pytest.fixture(scope="module")
def poisson3_agq(poisson3_model):
    return poisson3_model.fit(nip=7)


def test_poisson3_laplace_matches_lme4(poisson3_laplace):
    # nip=1 is the same Laplace approximation as glmer's default, so the optima agree
    ref = REFERENCE["poisson3_laplace"]
    fit = poisson3_laplace
    assert fit.loglik == pytest.approx(ref["loglik"], abs=LOGLIK_TOL)
    assert fit.n_params == ref["df"]
    for name, value in ref["fixef"].items():
        assert fit.params[f"beta[{name}]"] == pytest.approx(value, rel=FIXED_RTOL, abs=1e-4)
    assert fit.params["sd[l3]"] == pytest.approx(ref["sdcor"]["l3:(Intercept):NA"], rel=VARIANCE_RTOL)
    assert fit.params["sd[x|l3:l2]"] == pytest.approx(ref["sdcor"]["l3:l2:x:NA"], rel=VARIANCE_RTOL)


def test_poisson3_agq_is_stable_in_nip(poisson3_model, poisson3_agq, poisson3_laplace):
    fit = poisson3_agq
    assert fit.converged
    functions = compiled_multilevel(poisson3_model.layout, poisson3_model.family, poisson3_model.link)
    theta = _theta_of(poisson3_model, fit)
    values = [MultilevelObjective(functions, poisson3_model.design, n).loglik(theta)[0] for n in (7, 11)]
    assert values[0] == pytest.approx(fit.loglik, abs=1e-8)
    assert values[1] == pytest.approx(values[0], abs=NIP_STABILITY)
    # counts of about 12 per level-2 unit: Laplace is close to AGQ here
    assert abs(fit.loglik - poisson3_laplace.loglik) < 0.5


#: EB means and SDs against brute-force joint integration at the same parameters (issue 14)
EB_ATOL = 1e-3


def _poisson3_eb_on_a_grid(data: pd.DataFrame, params: pd.Series) -> tuple[dict, dict]:
    """EB means and SDs of the level-3 intercept and the level-2 intercept and slope, numpy only.

    For each level-3 cluster the joint posterior is integrated on a product grid: the
    standardised level-3 intercept on 61 points and, given each of them, every level-2
    unit's two standardised effects on 45 x 45 points (steps 0.2 and 0.25; posterior SDs
    are 0.3 to 0.6). The units are independent given the level-3 intercept, so a level-2
    unit's moments average its conditional moments over the level-3 posterior.
    Returns ``{l3: (mean, sd)}`` and ``{(l3, l2): (means, sds)}`` (intercept, slope).
    """
    sd3 = params["sd[l3]"]
    sd0, sd1, rho = params["sd[(Intercept)|l3:l2]"], params["sd[x|l3:l2]"], params["cor[(Intercept),x|l3:l2]"]
    factor = np.linalg.cholesky(np.array([[sd0**2, rho * sd0 * sd1], [rho * sd0 * sd1, sd1**2]]))
    top = np.linspace(-6.0, 6.0, 61)
    axis = np.linspace(-5.5, 5.5, 45)
    standard = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    effects = standard @ factor.T  # (G, 2): intercept and slope of a level-2 unit
    log_prior_2 = -0.5 * np.sum(standard**2, axis=1)
    fixed = params["beta[(Intercept)]"] + params["beta[x]"] * data["x"] + np.log(data["exposure"])
    level3, level2 = {}, {}
    for l3, rows in data.assign(fixed=fixed).groupby("l3"):
        units, codes = np.unique(rows["l2"].to_numpy(), return_inverse=True)
        x, y = rows["x"].to_numpy(), rows["y"].to_numpy()
        # eta[row, level-3 node, level-2 node]
        eta = (rows["fixed"].to_numpy()[:, None, None] + sd3 * top[None, :, None]
               + effects[None, None, :, 0] + x[:, None, None] * effects[None, None, :, 1])
        row_log = y[:, None, None] * eta - np.exp(eta) - gammaln(y + 1)[:, None, None]
        per_unit = np.zeros((units.size, top.size, standard.shape[0]))
        np.add.at(per_unit, codes, row_log)
        per_unit += log_prior_2
        unit_log_lik = logsumexp(per_unit, axis=2)  # (units, level-3 nodes), up to a constant
        conditional = np.exp(per_unit - unit_log_lik[:, :, None])  # each unit's posterior given u3
        log_top = unit_log_lik.sum(axis=0) - 0.5 * top**2
        weight = np.exp(log_top - logsumexp(log_top))
        intercept = sd3 * top
        level3[l3] = (weight @ intercept, np.sqrt(weight @ intercept**2 - (weight @ intercept) ** 2))
        first = np.einsum("k,ukg,ga->ua", weight, conditional, effects)
        second = np.einsum("k,ukg,ga->ua", weight, conditional, effects**2)
        for unit, mean, moment in zip(units, first, second):
            level2[(l3, unit)] = (mean, np.sqrt(moment - mean**2))
    return level3, level2


def test_poisson3_eb_means_and_sds_match_brute_force_joint_integration(poisson3_laplace):
    fit = poisson3_laplace
    level3, level2 = _poisson3_eb_on_a_grid(pd.read_csv(DATA / "poisson3.csv"), fit.params)
    latent = fit.latent()
    top = latent[latent["level"] == "l3"]
    expected = np.array([level3[cluster] for cluster in top["cluster"]])
    np.testing.assert_allclose(top[["mean", "sd"]].to_numpy(), expected, atol=EB_ATOL, rtol=0)
    for position, name in enumerate(["(Intercept)", "x"]):
        unit = latent[(latent["level"] == "l3:l2") & (latent["latent"] == name)]
        assert len(unit) == 240
        expected = np.array([[level2[cluster][0][position], level2[cluster][1][position]] for cluster in unit["cluster"]])
        np.testing.assert_allclose(unit[["mean", "sd"]].to_numpy(), expected, atol=EB_ATOL, rtol=0)


def _theta_of(model, fit) -> np.ndarray:
    layout = model.layout
    params = fit.params
    beta = np.array([params[name] for name in layout.fixed_names])  # "beta[...]" names
    sd0, sd1 = params["sd[(Intercept)|l3:l2]"], params["sd[x|l3:l2]"]
    rho = params["cor[(Intercept),x|l3:l2]"]
    level2 = np.array([[sd0**2, rho * sd0 * sd1], [rho * sd0 * sd1, sd1**2]])
    return layout.theta_from_natural(beta, [level2, np.array([[params["sd[l3]"] ** 2]])], None)


# -------------------------------------------------------------- four levels
FOURLEVEL_FORMULA = "~ x + (1 | region/school/class)"


@pytest.fixture(scope="module")
def fourlevel_data():
    return pd.read_csv(DATA / "fourlevel.csv")


@pytest.fixture(scope="module")
def fourlevel_binary(fourlevel_data):
    return glpp.Model("yb" + FOURLEVEL_FORMULA, fourlevel_data, family="binomial")


def _fourlevel_sds(ref) -> list[float]:
    """lme4's SDs of the class, school and region intercepts (lowest level first)."""
    sdcor = ref["sdcor"]
    return [sdcor["class:(school:region):(Intercept):NA"], sdcor["school:region:(Intercept):NA"], sdcor["region:(Intercept):NA"]]


def test_fourlevel_gaussian_matches_lmer(fourlevel_data):
    ref = REFERENCE["fourlevel_gaussian"]
    fit = glpp.Model("y" + FOURLEVEL_FORMULA, fourlevel_data).fit()
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-4)
    assert fit.n_params == ref["df"]
    for name, value in ref["fixef"].items():
        assert fit.params[f"beta[{name}]"] == pytest.approx(value, rel=FIXED_RTOL)
    names = ["sd[region:school:class]", "sd[region:school]", "sd[region]"]
    for name, value in zip(names, _fourlevel_sds(ref)):
        assert fit.params[name] == pytest.approx(value, rel=VARIANCE_RTOL)
    assert fit.params["sigma"] == pytest.approx(ref["sigma"], rel=VARIANCE_RTOL)
    assert set(fit.latent()["level"]) == {"region", "region:school", "region:school:class"}


def _dense_joint_laplace(data: pd.DataFrame, beta: np.ndarray, sds: list[float]) -> float:
    """Laplace approximation of the 4-level logit likelihood with all 312 latents at once (dense numpy)."""
    region = data["region"].to_numpy() - 1
    school = region * 5 + data["school"].to_numpy() - 1
    klass = school * 4 + data["class"].to_numpy() - 1
    rows = np.arange(len(data))
    design = np.zeros((len(data), 240 + 60 + 12))
    design[rows, klass] = sds[0]
    design[rows, 240 + school] = sds[1]
    design[rows, 300 + region] = sds[2]
    fixed = beta[0] + beta[1] * data["x"].to_numpy()
    response = data["yb"].to_numpy()
    latent = np.zeros(design.shape[1])
    for _ in range(30):
        probability = expit(fixed + design @ latent)
        score = design.T @ (response - probability) - latent
        information = design.T @ (design * (probability * (1 - probability))[:, None]) + np.eye(latent.size)
        latent = latent + np.linalg.solve(information, score)
    eta = fixed + design @ latent
    probability = expit(eta)
    information = design.T @ (design * (probability * (1 - probability))[:, None]) + np.eye(latent.size)
    conditional = np.sum(response * eta - np.logaddexp(0.0, eta))
    return conditional - 0.5 * latent @ latent - 0.5 * np.linalg.slogdet(information)[1]


def test_fourlevel_logit_laplace_is_the_joint_laplace(fourlevel_data, fourlevel_binary):
    """nip=1 at every level is the Laplace approximation of the joint integral (checked at lme4's estimate)."""
    ref = REFERENCE["fourlevel_binary_laplace"]
    model = fourlevel_binary
    beta = np.array([ref["fixef"]["(Intercept)"], ref["fixef"]["x"]])
    sds = _fourlevel_sds(ref)
    theta = model.layout.theta_from_natural(beta, [np.array([[sd**2]]) for sd in sds], None)
    functions = compiled_multilevel(model.layout, model.family, model.link)
    value = MultilevelObjective(functions, model.design, 1).loglik(theta)[0]
    assert value == pytest.approx(_dense_joint_laplace(fourlevel_data, beta, sds), abs=1e-6)
    # lme4 reports 0.0014 less at its own estimate than the joint Laplace computed above
    assert value == pytest.approx(ref["loglik"], abs=LOGLIK_TOL)
    fit = model.fit(nip=1)
    assert fit.loglik >= value - 1e-6
    assert fit.loglik == pytest.approx(ref["loglik"], abs=LOGLIK_TOL)
    assert fit.n_params == ref["df"]
    assert fit.params["beta[x]"] == pytest.approx(ref["fixef"]["x"], rel=1e-2)
    assert fit.params["sd[region:school:class]"] == pytest.approx(sds[0], rel=VARIANCE_RTOL)


def test_fourlevel_logit_auto_settles_per_level(fourlevel_binary):
    fit = fourlevel_binary.fit()
    assert fit.converged
    assert len(fit.nip_path) > 2
    # every level's next number of points changes the log-likelihood by less than the auto tolerance
    final = fit.nip if isinstance(fit.nip, tuple) else (fit.nip,) * 3
    raised = [key for key in fit.nip_path if sum(a != b for a, b in zip(key, final)) == 1 and max(key) > max(final)]
    assert len(raised) == 3
    for key in raised:
        assert abs(fit.nip_path[key] - fit.loglik) < 1e-4


# ------------------------------------------------------------------ errors
def test_non_nested_ids_raise_data_error_with_example():
    data = pd.read_csv(DATA / "poisson3.csv")
    # level-2 unit 13 (in l3 unit 3) also appears in l3 unit 1: not nested
    data.loc[0, "l2id"] = data.loc[100, "l2id"]
    with pytest.raises(glpp.DataError, match=r"'l2id' is not nested in 'l3': cluster 13 appears in more than one"):
        glpp.Model("y ~ x + (1 | l3) + (1 | l2id)", data, family="poisson")


def test_poisson3_predictions_at_two_levels(poisson3_laplace):
    """Conditional: the EB means of both levels (clusters of l3:l2 keyed by both ids); marginal:
    the lognormal mean exp(eta + v / 2), v the variance of the latent part of eta."""
    fit, data = poisson3_laplace, pd.read_csv(DATA / "poisson3.csv")
    params = fit.params
    eta = params["beta[(Intercept)]"] + params["beta[x]"] * data.x + np.log(data.exposure)
    latent = fit.latent()
    top = latent[latent.level == "l3"].set_index("cluster")["mean"]
    lower = latent[latent.level == "l3:l2"].pivot(index="cluster", columns="latent", values="mean")
    keys = list(zip(data.l3, data.l2))
    conditional = eta + top.loc[data.l3].to_numpy() + lower.loc[keys, "(Intercept)"].to_numpy() + lower.loc[keys, "x"].to_numpy() * data.x
    np.testing.assert_allclose(fit.predict()["prediction"], np.exp(conditional), rtol=1e-10)
    sd0, sd1, cor = params["sd[(Intercept)|l3:l2]"], params["sd[x|l3:l2]"], params["cor[(Intercept),x|l3:l2]"]
    variance = params["sd[l3]"] ** 2 + sd0**2 + 2 * cor * sd0 * sd1 * data.x + sd1**2 * data.x**2
    np.testing.assert_allclose(fit.predict(kind="marginal")["prediction"], np.exp(eta + variance / 2), rtol=1e-10)
