"""ESS per second: full-latent vs marginal NUTS, for a GLMM and factor models.

Usage: python benchmarks/bench_bayes.py [draws] [tune] [chains] [case] [seed]

``case`` is ``toenail`` (default; the variance component ``sd[patient]``),
``cfa`` (Holzinger, three factors) or ``2pl`` (six VerbAgg items); for the
factor models the ESS is that of the slowest-mixing loading.

Both kinds run back to back in one process with the defaults a user gets
(``Model.sample(kind=...)``; the latent kind with PyMC's default
initialisation, the marginal kind with its Laplace start), the same draws,
chains and seed. Reported per kind: NUTS time (PyMC's ``sampling_time``),
initialisation (the marginal kind's mode and Laplace covariance), the rest
of the call (model building and compilation), post-processing (per-cluster
log-likelihoods and, for the marginal kind, latent draws), leapfrog steps
per draw, bulk/tail ESS, ESS per second of NUTS plus initialisation time
(wall clock, and CPU time summed over the NUTS steps, tuning included:
less sensitive to other work on a shared machine), max R-hat, divergences
and posterior means with their Monte Carlo SEs; then the ratios marginal /
latent of the ESS per second.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import arviz as az
import pandas as pd

import glpp

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "model_library" / "data"
HOLZINGER = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
CASES = {
    "toenail": ("outcome ~ treatment + month + trt_month + (1 | patient)", "toenail.csv", "binomial"),
    "cfa": (HOLZINGER, "holzinger.csv", "gaussian"),
    "2pl": ("F =~ i1 + i2 + i3 + i4 + i5 + i6", "verbagg_wide.csv", "binomial"),
}
KINDS = ("latent", "marginal")


def _ess_parameter(model, summary: pd.DataFrame, case: str) -> str:
    if case == "toenail":
        return "sd[patient]"
    loadings = list(model.layout.loading_parameters)
    return str(summary.loc[loadings, "ess_bulk"].astype(float).idxmin())


def run_kind(model, kind: str, case: str, draws: int, tune: int, chains: int, seed: int) -> dict:
    """Sample one kind with the defaults and summarise its efficiency."""
    names = list(model.layout.natural_names)
    started = time.perf_counter()
    idata = model.sample(
        kind=kind, draws=draws, tune=tune, chains=chains, random_seed=seed, progressbar=False,
        discard_tuned_samples=False,  # keeps the tuning steps' CPU times
    )
    total = time.perf_counter() - started
    attrs = idata["posterior"].attrs
    summary = az.summary(idata, var_names=names, kind="all")
    nuts = float(attrs["sampling_time"])
    initialisation = float(attrs.get("initialisation_seconds", 0.0))
    key = _ess_parameter(model, summary, case)
    ess = float(summary.loc[key, "ess_bulk"])
    stats = idata["sample_stats"]
    nuts_cpu = sum(float(idata[group]["process_time_diff"].sum()) for group in ("warmup_sample_stats", "sample_stats"))
    return {
        "total_s": total,
        "nuts_s": nuts,
        "initialisation_s": initialisation,
        "postprocessing_s": float(attrs["postprocessing_seconds"]),
        "steps_per_draw": float(stats["n_steps"].mean()),
        "step_size": float(stats["step_size"].mean()),
        "ess_of": key,
        "ess_bulk": ess,
        "ess_tail": float(summary.loc[key, "ess_tail"]),
        "ess_per_s": ess / (nuts + initialisation),
        "nuts_cpu_s": nuts_cpu,
        "ess_per_cpu_s": ess / (nuts_cpu + initialisation),
        "min_ess_bulk": float(summary["ess_bulk"].astype(float).min()),
        "max_rhat": float(summary["r_hat"].astype(float).max()),
        "divergences": int(stats["diverging"].sum()),
        "nip": attrs.get("glpp_nip"),
        "init": attrs.get("glpp_init"),
        **{f"mean {name}": float(summary.loc[name, "mean"]) for name in names},
        **{f"mcse {name}": float(summary.loc[name, "mcse_mean"]) for name in names},
    }


def main(draws: int = 1000, tune: int = 1000, chains: int = 4, case: str = "toenail", seed: int = 2024) -> pd.DataFrame:
    formula, data, family = CASES[case]
    model = glpp.Model(formula, data=pd.read_csv(DATA / data), family=family)
    rows = {}
    for kind in KINDS:
        rows[kind] = run_kind(model, kind, case, draws, tune, chains, seed)
        print(kind, rows[kind], flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string())
    for column, label in (("ess_per_s", "wall"), ("ess_per_cpu_s", "CPU")):
        latent, marginal = rows["latent"][column], rows["marginal"][column]
        print(f"ESS of {rows['latent']['ess_of']} per {label} second (NUTS + initialisation): "
              f"latent {latent:.2f}, marginal {marginal:.2f}; marginal / latent = {marginal / latent:.2f}")
    return table


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(*(int(value) for value in arguments[:3]), *arguments[3:4], *(int(value) for value in arguments[4:5]))
