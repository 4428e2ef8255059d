"""Simulate the data of the library's models with a known truth.

``python -m model_library.simulate`` (from the repository root) writes, in ``model_library/data/``,

- ``endogenous_treatment.csv``: a count outcome with an endogenous binary treatment
  (Terza's model, gllamm's endogenous treatment example): a shared latent ``F``
  raises both the chance of treatment and the outcome.
- ``dependent_dropout.csv``: a random-coefficient growth model of a gaussian
  outcome with dropout whose probit hazard depends on each subject's random
  intercept and slope (Wu & Carroll's random-coefficient dependent dropout).

Both are long data with one row per response: ``resp`` the response, ``fam`` and
``lnk`` its family and link, ``eq`` its equation and 0/1 dummies of the equations.

- ``cace.csv``: a randomised trial with one-sided noncompliance (Imbens & Rubin 1997;
  Little & Yau 1998): compliance is observed in the treated arm and latent in the
  control arm; the treatment works in compliers only.
- ``growth_mixture.csv``: two classes of subjects with their own linear trajectories and
  a normal random intercept within class (Muthen & Shedden 1999).

The true values are in :mod:`model_library.truth` (each entry's ``truth``).
"""

from __future__ import annotations

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


if __name__ == "__main__":
    cace().to_csv(DATA / "cace.csv", index=False, float_format="%.6g")
    growth_mixture().to_csv(DATA / "growth_mixture.csv", index=False, float_format="%.6g")
    endogenous_treatment().to_csv(DATA / "endogenous_treatment.csv", index=False, float_format="%.6g")
    dependent_dropout().to_csv(DATA / "dependent_dropout.csv", index=False, float_format="%.6g")
