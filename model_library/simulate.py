"""Simulate the data of the library's models with a known truth.

``python -m model_library.simulate`` (from the repository root) writes, in ``model_library/data/``,
the files of :data:`DATA_SETS` (``python -m model_library.simulate FILE ...``: the named ones only),

- ``endogenous_treatment.csv``: a count outcome with an endogenous binary treatment
  (Terza's model, gllamm's endogenous treatment example): a shared latent ``F``
  raises both the chance of treatment and the outcome.
- ``dependent_dropout.csv``: a random-coefficient growth model of a gaussian
  outcome with dropout whose probit hazard depends on each subject's random
  intercept and slope (Wu & Carroll's random-coefficient dependent dropout).
- ``covariate_measurement_error.csv``: a binary outcome, an error-free covariate ``z`` and
  two replicate gaussian measurements of a covariate measured with error (gllamm's
  covariate measurement error model).
- ``missing_covariate.csv``: the same, with measurements missing at random given the outcome
  (their rows absent).

These are long data with one row per response: ``resp`` the response, ``fam`` and
``lnk`` its family and link, ``eq`` its equation and 0/1 dummies of the equations.

- ``cace.csv``: a randomised trial with one-sided noncompliance (Imbens & Rubin 1997;
  Little & Yau 1998): compliance is observed in the treated arm and latent in the
  control arm; the treatment works in compliers only.
- ``growth_mixture.csv``: two classes of subjects with their own linear trajectories and
  a normal random intercept within class (Muthen & Shedden 1999).
- ``class_regression.csv``: six binary items of two latent classes whose membership depends
  on a covariate ``v`` (a latent class regression).
- ``scaled_ordinal_probit.csv``: an ordinal probit response with a random cluster intercept,
  threshold covariate ``w`` and scale covariate ``z``.
- ``multinomial.csv``, ``rankings.csv``: choice sets with one row per alternative, the chosen
  alternative or the ranks, and random effects over groups ``g``.

The true values are in :mod:`model_library.truth` (each entry's ``truth``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from model_library.truth import TRUTH

DATA = Path(__file__).resolve().parent / "data"



def endogenous_treatment(n: int = 1000, seed: int = 20261201) -> pd.DataFrame:
    """Two rows per subject: the Poisson outcome (``eq="outcome"``) and the probit treatment."""
    truth = TRUTH["endogenous_treatment"]
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=n), rng.normal(size=n)
    latent = truth["sd[F]"] * rng.normal(size=n)
    utility = truth["beta[d_trt]"] + truth["beta[d_trt:x]"] * x + truth["beta[d_trt:z]"] * z
    treat = (utility + truth["lambda[F,treatment]"] * latent + rng.normal(size=n) > 0).astype(float)
    log_mean = truth["beta[d_out]"] + truth["beta[d_out:x]"] * x + truth["beta[d_out:treat]"] * treat + latent
    count = rng.poisson(np.exp(log_mean)).astype(float)
    common = {"id": np.arange(n), "x": x, "z": z, "treat": treat}
    outcome = pd.DataFrame({**common, "eq": "outcome", "resp": count, "fam": "poisson", "lnk": "log"})
    treatment = pd.DataFrame({**common, "eq": "treatment", "resp": treat, "fam": "binomial", "lnk": "probit"})
    data = pd.concat([outcome, treatment]).sort_values(["id", "eq"], kind="stable").reset_index(drop=True)
    data["d_out"] = (data["eq"] == "outcome").astype(float)
    data["d_trt"] = 1.0 - data["d_out"]
    return data


def dependent_dropout(n: int = 500, occasions: int = 5, seed: int = 20261203) -> pd.DataFrame:
    """Outcome rows (``eq="y"``) at t = 0, 1, ... while a subject stays; dropout rows (``eq="drop"``)
    at t = 1, 2, ... while at risk: 1 at the occasion the subject drops out (its outcome is then
    missing), 0 before."""
    truth = TRUTH["dependent_dropout"]
    rng = np.random.default_rng(seed)
    sd = np.array([truth["sd[I]"], truth["sd[S]"]])
    correlation = np.array([[1.0, truth["cor[I,S]"]], [truth["cor[I,S]"], 1.0]])
    effects = rng.multivariate_normal(np.zeros(2), correlation * np.outer(sd, sd), size=n)
    rows = []
    for subject, (intercept, slope) in enumerate(effects):
        for t in range(occasions):
            if t > 0:
                hazard = (
                    truth["beta[d_drop]"] + truth["beta[d_drop:t]"] * t
                    + truth["lambda[I,d_drop]"] * intercept + truth["lambda[S,d_drop]"] * slope
                )
                dropped = float(hazard + rng.normal() > 0)
                rows.append((subject, t, "drop", dropped, "binomial", "probit"))
                if dropped:
                    break
            mean = truth["beta[d_y]"] + truth["beta[d_y:t]"] * t + intercept + slope * t
            rows.append((subject, t, "y", mean + truth["sigma"] * rng.normal(), "gaussian", "identity"))
    data = pd.DataFrame(rows, columns=["id", "t", "eq", "resp", "fam", "lnk"])
    data["d_y"] = (data["eq"] == "y").astype(float)
    data["d_drop"] = 1.0 - data["d_y"]
    data["t_y"] = data["t"] * data["d_y"]
    return data


def cace(n: int = 1000, seed: int = 20261202) -> pd.DataFrame:
    """One row per subject: outcome ``y``, covariate ``x``, assigned treatment ``z`` (0/1) and
    ``compliance``: 1 (complier) or 2 (never-taker) in the treated arm, missing in the control arm."""
    truth = TRUTH["cace"]
    rng = np.random.default_rng(seed)
    complier = rng.random(n) < 1.0 / (1.0 + np.exp(-truth["class[C1]"]))
    z = (rng.random(n) < 0.5).astype(float)
    x = rng.normal(size=n)
    mean = (
        truth["beta[x]"] * x + np.where(complier, truth["beta[C1]"], truth["beta[C2]"])
        + truth["beta[C1:z]"] * z * complier
    )
    y = mean + truth["sigma"] * rng.normal(size=n)
    compliance = np.where(z == 1.0, np.where(complier, 1.0, 2.0), np.nan)
    return pd.DataFrame({"y": y, "x": x, "z": z, "compliance": compliance})


def growth_mixture(n: int = 300, occasions: int = 5, seed: int = 20261204) -> pd.DataFrame:
    """``occasions`` rows per subject ``id`` at ``time`` = 0, 1, ...: class 1 (60%) rises, class 2 falls."""
    truth = TRUTH["growth_mixture"]
    rng = np.random.default_rng(seed)
    first = rng.random(n) < 1.0 / (1.0 + np.exp(-truth["class[C1]"]))
    intercept = np.where(first, truth["beta[C1]"], truth["beta[C2]"]) + truth["sd[id]"] * rng.normal(size=n)
    slope = np.where(first, truth["beta[C1:time]"], truth["beta[C2:time]"])
    subject = np.repeat(np.arange(n), occasions)
    time = np.tile(np.arange(occasions, dtype=float), n)
    y = intercept[subject] + slope[subject] * time + truth["sigma"] * rng.normal(size=n * occasions)
    return pd.DataFrame({"id": subject, "time": time, "y": y})


def scaled_ordinal_probit(n_clusters: int = 300, size: int = 6, seed: int = 12) -> pd.DataFrame:
    """``size`` rows per cluster ``g``: an ordinal ``y`` (categories 1..4) with
    P(y <= k) = Phi((tau_k + w gamma_k - x beta - u_g) / exp(z alpha)), ``w`` and ``z`` 0/1."""
    truth = TRUTH["scaled_ordinal_probit"]
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_clusters), size)
    x, w, z = rng.normal(size=g.size), rng.integers(0, 2, g.size), rng.integers(0, 2, g.size)
    eta = truth["beta[x]"] * x + rng.normal(0.0, truth["sd[g]"], n_clusters)[g]
    thresholds = np.array(
        [truth[f"tau[{k}|{k + 1}]"] + w * truth[f"tau[{k}|{k + 1}~w]"] for k in (1, 2, 3)]
    ).T
    latent = eta + np.exp(truth["log_scale[z]"] * z) * rng.normal(size=g.size)
    y = 1 + (latent[:, None] > thresholds).sum(axis=1)
    return pd.DataFrame({"y": y, "x": x, "w": w, "z": z, "g": g})


def multinomial(n_groups: int = 300, per_group: int = 8, seed: int = 21) -> pd.DataFrame:
    """Three rows per choice ``situation`` (one per alternative ``alt``, ``chosen`` 0/1),
    ``per_group`` situations per group ``g``; alternative 1 is the reference: ``alt2``, ``alt3``
    the others' dummies, ``x2``, ``x3`` the situation's covariate ``x`` times them, ``price`` per
    alternative."""
    truth = TRUTH["multinomial"]
    rng = np.random.default_rng(seed)
    sd = np.array([truth["sd[alt2|g]"], truth["sd[alt3|g]"]])
    correlation = np.array([[1.0, truth["cor[alt2,alt3|g]"]], [truth["cor[alt2,alt3|g]"], 1.0]])
    effects = rng.multivariate_normal(np.zeros(2), np.outer(sd, sd) * correlation, size=n_groups)
    n_sets = n_groups * per_group
    group = np.repeat(np.arange(n_groups), per_group)
    x = rng.normal(size=n_sets)
    price = rng.normal(size=(n_sets, 3))
    eta = truth["beta[price]"] * price
    eta[:, 1] += truth["beta[alt2]"] + truth["beta[x2]"] * x + effects[group, 0]
    eta[:, 2] += truth["beta[alt3]"] + truth["beta[x3]"] * x + effects[group, 1]
    probability = np.exp(eta - eta.max(axis=1, keepdims=True))
    probability /= probability.sum(axis=1, keepdims=True)
    choice = (rng.random(n_sets)[:, None] > np.cumsum(probability, axis=1)).sum(axis=1)
    alt = np.tile(np.arange(1, 4), n_sets)
    data = pd.DataFrame({
        "g": np.repeat(group, 3), "situation": np.repeat(np.arange(n_sets), 3), "alt": alt,
        "chosen": (np.repeat(choice, 3) == alt - 1).astype(int), "x": np.repeat(x, 3),
        "price": price.ravel(),
    })
    for k in (2, 3):
        data[f"alt{k}"] = (data["alt"] == k).astype(float)
        data[f"x{k}"] = data[f"alt{k}"] * data["x"]
    return data


def rankings(n_groups: int = 300, per_group: int = 4, seed: int = 22) -> pd.DataFrame:
    """Four rows per ``ranking`` (one per alternative ``alt``, with its ``rank``), ``per_group``
    rankings per group ``g``: every third ranking ranks the top two only (the others 0). The
    ranks sort the alternatives by utility ``eta + Gumbel noise`` (the exploded logit)."""
    truth = TRUTH["rankings"]
    rng = np.random.default_rng(seed)
    n_sets = n_groups * per_group
    group = np.repeat(np.arange(n_groups), per_group)
    slope = truth["beta[q]"] + truth["sd[q|g]"] * rng.normal(size=n_groups)
    q = rng.normal(size=(n_sets, 4))
    intercepts = np.array([0.0, truth["beta[alt2]"], truth["beta[alt3]"], truth["beta[alt4]"]])
    utility = slope[group][:, None] * q + intercepts + rng.gumbel(size=q.shape)
    rank = np.argsort(np.argsort(-utility, axis=1), axis=1) + 1
    partial = np.arange(n_sets) % 3 == 2
    rank[partial] = np.where(rank[partial] <= 2, rank[partial], 0)
    alt = np.tile(np.arange(1, 5), n_sets)
    data = pd.DataFrame({
        "g": np.repeat(group, 4), "ranking": np.repeat(np.arange(n_sets), 4), "alt": alt,
        "rank": rank.ravel(), "q": q.ravel(),
    })
    for k in (2, 3, 4):
        data[f"alt{k}"] = (data["alt"] == k).astype(float)
    return data


def class_regression(n_units: int = 800, seed: int = 13) -> pd.DataFrame:
    """One row per unit: six binary items ``y1``..``y6`` independent given the unit's class, and
    the covariate ``v`` of the class membership, logit P(class 1) = class[C1] + class[C1:v] v."""
    truth = TRUTH["class_regression"]
    rng = np.random.default_rng(seed)
    v = rng.normal(size=n_units)
    logit = truth["class[C1]"] + truth["class[C1:v]"] * v
    first = rng.random(n_units) < 1.0 / (1.0 + np.exp(-logit))
    items = [f"y{j}" for j in range(1, 7)]
    first_class = [truth[f"nu[C1:{item}]"] for item in items]
    second_class = [truth[f"nu[C2:{item}]"] for item in items]
    log_odds = np.where(first[:, None], first_class, second_class)
    responses = (rng.random((n_units, len(items))) < 1.0 / (1.0 + np.exp(-log_odds))).astype(float)
    return pd.DataFrame(responses, columns=items).assign(v=v)


#: missing_covariate's missingness given the outcome y = 0, 1: the probability that a unit loses
#: its second measurement x2 only, and that it loses both (in all, about 40% of the units lose x2
#: and 15% both)
MISSING_X2_ONLY = (0.20, 0.32)
MISSING_BOTH = (0.08, 0.26)


def _measured_covariate_rows(
    truth: dict[str, float], n: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Three rows per unit ``id``: the binary outcome (``eq="y"``, logit) and two gaussian
    measurements (``eq="x1"``, ``"x2"``) of its true covariate ``beta[d_x] + F``, where
    ``F = path[F~z] z + zeta``."""
    z = rng.normal(size=n)
    latent = truth["path[F~z]"] * z + truth["sd[F]"] * rng.normal(size=n)
    log_odds = truth["beta[d_y]"] + truth["beta[d_y:z]"] * z + truth["lambda[F,d_y]"] * latent
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-log_odds))).astype(float)
    measurements = truth["beta[d_x]"] + latent[:, None] + truth["sigma"] * rng.normal(size=(n, 2))
    common = {"id": np.arange(n), "z": z}
    pieces = [pd.DataFrame({**common, "eq": "y", "resp": y, "fam": "binomial", "lnk": "logit"})]
    for k in (1, 2):
        measurement = {"eq": f"x{k}", "resp": measurements[:, k - 1], "fam": "gaussian", "lnk": "identity"}
        pieces.append(pd.DataFrame({**common, **measurement}))
    data = pd.concat(pieces).sort_values(["id", "eq"], kind="stable").reset_index(drop=True)
    data["d_y"] = (data["eq"] == "y").astype(float)
    data["d_x"] = 1.0 - data["d_y"]
    return data


def covariate_measurement_error(n: int = 1000, seed: int = 20261205) -> pd.DataFrame:
    """Three rows per unit: the outcome and two replicate measurements of its covariate (see
    :func:`_measured_covariate_rows`)."""
    rng = np.random.default_rng(seed)
    return _measured_covariate_rows(TRUTH["covariate_measurement_error"], n, rng)


def missing_covariate(n: int = 1000, seed: int = 20261206) -> pd.DataFrame:
    """The rows of :func:`covariate_measurement_error` less the measurements lost: a unit loses x2
    alone or x1 and x2 with probabilities that depend on its outcome y (:data:`MISSING_X2_ONLY`,
    :data:`MISSING_BOTH`): missing at random given y."""
    rng = np.random.default_rng(seed)
    data = _measured_covariate_rows(TRUTH["missing_covariate"], n, rng)
    y = data.loc[data["eq"] == "y", "resp"].to_numpy().astype(int)
    draw = rng.random(n)
    lose_both = draw < np.take(MISSING_BOTH, y)
    lose_x2 = draw < np.take(MISSING_BOTH, y) + np.take(MISSING_X2_ONLY, y)
    unit = data["id"].to_numpy()
    lost = ((data["eq"] == "x1") & lose_both[unit]) | ((data["eq"] == "x2") & lose_x2[unit])
    return data[~lost.to_numpy()].reset_index(drop=True)


#: the data sets written by ``python -m model_library.simulate``: CSV file -> its simulation
DATA_SETS = {
    "cace.csv": cace,
    "growth_mixture.csv": growth_mixture,
    "endogenous_treatment.csv": endogenous_treatment,
    "dependent_dropout.csv": dependent_dropout,
    "scaled_ordinal_probit.csv": scaled_ordinal_probit,
    "multinomial.csv": multinomial,
    "rankings.csv": rankings,
    "class_regression.csv": class_regression,
    "covariate_measurement_error.csv": covariate_measurement_error,
    "missing_covariate.csv": missing_covariate,
}


def write(files: list[str] | None = None, folder: Path = DATA) -> None:
    """Write the named CSV files of :data:`DATA_SETS` (default: all) into ``folder``."""
    for file in files or list(DATA_SETS):
        if file not in DATA_SETS:
            raise KeyError(f"no simulated data set {file!r}; choose one of {list(DATA_SETS)}")
        DATA_SETS[file]().to_csv(folder / file, index=False, float_format="%.6g")


if __name__ == "__main__":
    write(sys.argv[1:] or None)
