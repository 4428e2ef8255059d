"""ESS per second: full-latent vs marginal NUTS, for a GLMM and factor models.

Usage: python benchmarks/bench_bayes.py [draws] [tune] [chains] [case]

``case`` is ``toenail`` (default; the variance component ``sd[patient]``),
``cfa`` (Holzinger ``visual =~ x1 + x2 + x3``) or ``2pl`` (six VerbAgg items);
for the factor models the ESS is that of the slowest-mixing loading.

Reports, per kind: compile+setup time, NUTS sampling time (PyMC's own
``sampling_time``), post-processing (per-cluster log-likelihoods and, for
the marginal kind, latent draws), bulk/tail ESS of ``sd[patient]``, ESS/s
over the sampling time, max R-hat, divergences and posterior means.
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
CASES = {
    "toenail": ("outcome ~ treatment + month + trt_month + (1 | patient)", "toenail.csv", "binomial"),
    "cfa": ("visual =~ x1 + x2 + x3", "holzinger.csv", "gaussian"),
    "2pl": ("F =~ i1 + i2 + i3 + i4 + i5 + i6", "verbagg_wide.csv", "binomial"),
}


def main(draws: int = 1000, tune: int = 1000, chains: int = 2, case: str = "toenail") -> pd.DataFrame:
    formula, data, family = CASES[case]
    model = glpp.Model(formula, data=pd.read_csv(DATA / data), family=family)
    names = list(model.layout.natural_names)
    rows = {}
    for kind in ("latent", "marginal"):
        started = time.perf_counter()
        idata = model.sample(kind=kind, draws=draws, tune=tune, chains=chains, random_seed=2024, progressbar=False)
        total = time.perf_counter() - started
        attrs = idata["posterior"].attrs
        summary = az.summary(idata, var_names=names, kind="all")
        sampling = float(attrs["sampling_time"])
        key = "sd[patient]" if case == "toenail" else str(summary.loc[list(model.layout.loading_parameters), "ess_bulk"].astype(float).idxmin())
        ess = float(summary.loc[key, "ess_bulk"])
        rows[kind] = {
            "total_s": total,
            "sampling_s": sampling,
            "postprocessing_s": float(attrs["postprocessing_seconds"]),
            "ess_bulk_sd": ess,
            "ess_of": key,
            "ess_tail_sd": float(summary.loc[key, "ess_tail"]),
            "ess_per_s_sd": ess / sampling,
            "max_rhat": float(summary["r_hat"].astype(float).max()),
            "divergences": int(idata["sample_stats"]["diverging"].sum()),
            **{f"mean {name}": float(summary.loc[name, "mean"]) for name in names},
            **{f"mcse {name}": float(summary.loc[name, "mcse_mean"]) for name in names},
        }
        print(kind, rows[kind], flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string())
    return table


if __name__ == "__main__":
    main(*(int(value) for value in sys.argv[1:4]), *sys.argv[4:5])
