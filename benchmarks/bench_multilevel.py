"""Benchmark: three-level random-intercept logit (guImmun) and per-evaluation scaling.

Run from the repository root: ``.venv/bin/python benchmarks/bench_multilevel.py [--quick]``.

Prints the end-to-end time of a new Python process (import, model, compiled
functions from the disk cache, ``fit()`` with ``nip="auto"``), compile time
(separately), fit times of ``glpp.Model.fit``
for Laplace (``nip=1``), a fixed AGQ rule and ``nip="auto"``, the lme4/glmmTMB
times recorded in ``tests/reference/reference.json`` (and, when ``Rscript``
is on the PATH, a fresh lme4 timing), and the cost of one likelihood +
gradient evaluation (modes included) at 1x, 10x and 100x replicated data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import glpp  # noqa: E402
from glpp.fitting.multilevel import MultilevelObjective, compiled_multilevel  # noqa: E402

FORMULA = (
    "immun ~ kid2p + mom25p + ord23 + ord46 + ord7p + ethnN + ethnS + momEdP + momEdS"
    " + husEdP + husEdS + husEdU + momWorkY + ruralY + pcInd81 + (1 | comm/mom)"
)


def replicate(data: pd.DataFrame, times: int) -> pd.DataFrame:
    """``times`` copies of the data with new community and mother ids."""
    copies = []
    span_comm, span_mom = data["comm"].max() + 1, data["mom"].max() + 1
    for copy in range(times):
        part = data.copy()
        part["comm"] = part["comm"] + copy * span_comm
        part["mom"] = part["mom"] + copy * span_mom
        copies.append(part)
    return pd.concat(copies, ignore_index=True)


def r_timing() -> float | None:
    if shutil.which("Rscript") is None:
        return None
    script = (
        "suppressMessages(library(lme4)); d <- read.csv('model_library/data/guimmun.csv');"
        f"f <- {FORMULA.replace('(1 | comm/mom)', '(1 | comm/mom)')};"
        "t <- system.time(glmer(f, family=binomial, data=d, control=glmerControl(optimizer='bobyqa')))[['elapsed']];"
        "cat(t)"
    )
    try:
        out = subprocess.run(["Rscript", "-e", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
        return float(out.stdout.strip().split()[-1])
    except Exception:  # R or lme4 missing: report nothing
        return None


END_TO_END = f"""
import time
started = time.perf_counter()
import pandas as pd
import glpp
imported = time.perf_counter()
model = glpp.Model({FORMULA!r}, pd.read_csv("model_library/data/guimmun.csv"), family="binomial")
fit = model.fit()
finished = time.perf_counter()
print(imported - started, fit.fit_seconds, finished - started, fit.loglik, fit.nip)
"""


def end_to_end() -> None:
    """A user's session: a new process imports glpp, builds the model and fits it (compiled graphs cached on disk)."""
    for attempt in ("first (fills the disk cache if empty)", "second"):
        out = subprocess.run([sys.executable, "-c", END_TO_END], cwd=ROOT, capture_output=True, text=True)
        imported, fitted, total, loglik, nip = out.stdout.strip().splitlines()[-1].split(maxsplit=4)
        print(f"end to end, {attempt}: {float(total):.2f} s (import {float(imported):.2f} s, "
              f"fit {float(fitted):.2f} s, the rest model + compiled functions), loglik {float(loglik):.4f}, nip {nip}")


def main(quick: bool) -> None:
    warnings.filterwarnings("ignore", message=".*BLAS.*")
    end_to_end()
    reference = json.loads((ROOT / "tests" / "reference" / "reference.json").read_text())["guimmun_3level_laplace"]
    data = pd.read_csv(ROOT / "model_library" / "data" / "guimmun.csv")
    print(f"cores available: {os.cpu_count()}; pytensor mode: {glpp.likelihood.two_level.COMPILE_MODE}")
    model = glpp.Model(FORMULA, data, family="binomial")
    started = time.perf_counter()
    functions = compiled_multilevel(model.layout, model.family, model.link)
    print(f"compile (cached per model structure; pytensor graph rewriting, C modules cached): "
          f"{time.perf_counter() - started:.1f} s")

    rows = []
    settings = [1, 15] if quick else [1, 15, "auto"]
    fits = {}
    for nip in settings:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit(nip=nip)
        fits[nip] = fit
        rows.append((f"glpp nip={nip}", time.perf_counter() - started, fit.loglik, fit.nip))
    rows.append(("lme4 Laplace, bobyqa (reference.json)", reference["time_s"], reference["loglik"], 1))
    rows.append(("lme4 Laplace, default optimizer (reference.json)", reference["time_s_default_optimizer"], reference["loglik_default_optimizer"], 1))
    rows.append(("glmmTMB Laplace (reference.json)", reference["time_s_glmmTMB"], reference["loglik_glmmTMB"], 1))
    fresh = r_timing()
    if fresh is not None:
        rows.append(("lme4 Laplace, bobyqa (rerun here)", fresh, float("nan"), 1))
    print("\nguImmun, 2159 children / 1595 mothers / 161 communities (times exclude compilation)")
    print(f"{'fit':52s} {'seconds':>8s} {'loglik':>12s} {'nip':>8s}")
    for name, seconds, loglik, nip in rows:
        print(f"{name:52s} {seconds:8.2f} {loglik:12.4f} {str(nip):>8s}")
    print(f"Laplace - AGQ(nip=15) log-likelihood: {fits[1].loglik - fits[15].loglik:.3f}")
    print("nip path of the last fit:", {k: round(v, 5) for k, v in fit.nip_path.items()})

    theta = model.layout.theta_from_natural(
        fits[15].params.iloc[: model.layout.n_fixed].to_numpy(),
        [np.array([[fits[15].params["sd[comm:mom]"] ** 2]]), np.array([[fits[15].params["sd[comm]"] ** 2]])],
        None,
    )
    print("\nlog-likelihood at the nip=15 estimate by points per dimension (independent check -1323.95244)")
    for n_points in (7, 11, 15, 21, 31, 51):
        objective = MultilevelObjective(functions, model.design, n_points)
        print(f"  nip={n_points:3d}: {objective.loglik(theta)[0]:.5f}")

    print("\nper evaluation (log-likelihood + gradient, modes warm), nip=7 at both levels")
    print(f"{'data':6s} {'rows':>8s} {'ms/eval':>9s} {'us/row':>8s} {'of which modes':>15s}")
    for times in (1, 10) if quick else (1, 10, 100):
        replicated = glpp.Model(FORMULA, replicate(data, times), family="binomial")
        objective = MultilevelObjective(functions, replicated.design, 7)
        objective.loglik(theta)
        repeats = max(3, 30 // times)
        started = time.perf_counter()
        for _ in range(repeats):
            objective.loglik(theta * (1.0 + 1e-6))
            objective.loglik(theta)
        seconds = (time.perf_counter() - started) / (2 * repeats)
        started = time.perf_counter()
        for _ in range(repeats):
            objective.prepare(theta * (1.0 + 1e-6))
            objective.prepare(theta)
        modes = (time.perf_counter() - started) / (2 * repeats)
        n_rows = replicated.design.n_rows
        print(f"{times:4d}x  {n_rows:8d} {1e3 * seconds:9.2f} {1e6 * seconds / n_rows:8.2f} {1e3 * modes:12.2f} ms")


if __name__ == "__main__":
    main("--quick" in sys.argv)
