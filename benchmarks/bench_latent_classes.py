"""3-class latent class model of the 24 dichotomised VerbAgg items: glpp vs flexmix.

glpp: ``Model("C ~~ classes(3); C =~ i1 + ... + i24").fit()`` with its default random
starts (10), end to end (model build, warm compile cache, all starts, Hessian), timed twice
(the second reuses the compiled functions). flexmix: ``stepFlexmix(items ~ 1, k = 3,
FLXMCmvbinary(), nrep = 10)`` through Rscript when R with flexmix is installed (otherwise
the time recorded in tests/reference/latent_classes.json, marked so).

    python benchmarks/bench_latent_classes.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's glpp, not an installed one
import pandas as pd  # noqa: E402

import glpp  # noqa: E402

DATA = ROOT / "model_library" / "data" / "verbagg_wide.csv"
FORMULA = "C ~~ classes(3); C =~ " + " + ".join(f"i{j}" for j in range(1, 25))
R_SCRIPT = """
suppressMessages(library(flexmix))
w <- read.csv("{data}"); items <- as.matrix(w[, paste0("i", 1:24)])
set.seed(1)
t <- system.time(f <- stepFlexmix(items ~ 1, k = 3, model = FLXMCmvbinary(), nrep = 10, verbose = FALSE))
cat(t[["elapsed"]], as.numeric(logLik(f)), "\\n")
"""


def time_glpp(data: pd.DataFrame) -> tuple[float, glpp.MLResult]:
    began = time.perf_counter()
    fit = glpp.Model(FORMULA, data, family="binomial").fit()
    return time.perf_counter() - began, fit


def time_flexmix() -> tuple[float, float, str]:
    if shutil.which("Rscript"):
        output = subprocess.run(
            ["Rscript", "-e", R_SCRIPT.format(data=DATA)], capture_output=True, text=True, check=True
        ).stdout.split()
        return float(output[0]), float(output[1]), "measured now"
    reference = json.loads((ROOT / "tests" / "reference" / "latent_classes.json").read_text())["verbagg_lca3"]
    return reference["time_nrep10_s"], reference["loglik"], "recorded in latent_classes.json"


def main() -> None:
    data = pd.read_csv(DATA)
    first, fit = time_glpp(data)
    second, fit = time_glpp(data)
    flexmix_seconds, flexmix_loglik, source = time_flexmix()
    print(f"glpp    3 classes, {len(fit.start_logliks)} starts: first {first:.2f} s, again {second:.2f} s; "
          f"loglik {fit.loglik:.4f} (best reached by {fit.n_best}), df {fit.n_params}")
    print(f"flexmix stepFlexmix(nrep = 10): {flexmix_seconds:.2f} s ({source}); loglik {flexmix_loglik:.4f}")


if __name__ == "__main__":
    main()
