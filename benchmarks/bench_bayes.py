"""ESS per second of the toenail variance component: full-latent vs marginal NUTS.

Usage: python benchmarks/bench_bayes.py [draws] [tune] [chains]

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
FORMULA = "outcome ~ treatment + month + trt_month + (1 | patient)"


def main(draws: int = 1000, tune: int = 1000, chains: int = 2) -> pd.DataFrame:
    model = glpp.Model(FORMULA, data=pd.read_csv(ROOT / "model_library" / "data" / "toenail.csv"), family="binomial")
    names = list(model.layout.natural_names)
    rows = {}
    for kind in ("latent", "marginal"):
        started = time.perf_counter()
        idata = model.sample(kind=kind, draws=draws, tune=tune, chains=chains, random_seed=2024, progressbar=False)
        total = time.perf_counter() - started
        attrs = idata["posterior"].attrs
        summary = az.summary(idata, var_names=names, kind="all")
        sampling = float(attrs["sampling_time"])
        ess = float(summary.loc["sd[patient]", "ess_bulk"])
        rows[kind] = {
            "total_s": total,
            "sampling_s": sampling,
            "postprocessing_s": float(attrs["postprocessing_seconds"]),
            "ess_bulk_sd": ess,
            "ess_tail_sd": float(summary.loc["sd[patient]", "ess_tail"]),
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
    main(*(int(value) for value in sys.argv[1:4]))
