"""Toenail random-intercept logit: glpp vs lme4::glmer(nAGQ=30).

Times, in separate processes-worth of steps:
  1. compile: building and compiling the pytensor functions (warm or cold
     cache, as the machine has it; run with PYTENSOR_FLAGS=base_compiledir=...
     pointing at an empty folder for a cold start);
  2. first fit (nip=30, like lme4) including the Hessian for SEs;
  3. repeat fit (compiled functions reused);
  4. the default nip="auto" fit.
and lme4's glmer(nAGQ=30) through Rscript when R with lme4 is installed
(otherwise the time recorded in tests/reference/reference.json, marked so).

    python benchmarks/bench_toenail.py
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
started = time.perf_counter()
import pandas as pd  # noqa: E402

import glpp  # noqa: E402
from glpp.fitting import make_objective  # noqa: E402

import_seconds = time.perf_counter() - started
FORMULA = "outcome ~ treatment + month + trt_month + (1 | patient)"
R_SCRIPT = """
suppressMessages(library(lme4))
d <- read.csv("{data}")
invisible(glmer(outcome ~ treatment + month + trt_month + (1|patient), d, binomial, nAGQ=30))
t <- system.time(f <- glmer(outcome ~ treatment + month + trt_month + (1|patient), d, binomial, nAGQ=30))
cat(t[["elapsed"]], as.numeric(logLik(f)), "\\n")
"""


def r_time() -> tuple[float, float, str]:
    if shutil.which("Rscript"):
        script = R_SCRIPT.format(data=ROOT / "model_library" / "data" / "toenail.csv")
        result = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True)
        if result.returncode == 0:
            seconds, loglik = map(float, result.stdout.split())
            return seconds, loglik, "measured now"
        print("Rscript failed:", result.stderr[-500:])
    print("R/lme4 not available: using the time recorded in tests/reference/reference.json")
    reference = json.loads((ROOT / "tests" / "reference" / "reference.json").read_text())["toenail_logit"]
    return reference["time_s"], reference["loglik"], "recorded"


def main() -> None:
    data = pd.read_csv(ROOT / "model_library" / "data" / "toenail.csv")
    t0 = time.perf_counter()
    model = glpp.Model(FORMULA, data, family="binomial")
    make_objective(model.design, model.layout, model.family, model.link, nip=30)  # compiles (cached)
    compile_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.fit(nip=30)
    first_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    repeat = model.fit(nip=30)
    repeat_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    auto = model.fit()
    auto_seconds = time.perf_counter() - t0
    r_seconds, r_loglik, r_source = r_time()
    end_to_end = import_seconds + compile_seconds + first_seconds
    print(f"{'step':<44}{'seconds':>10}")
    print(f"{'import glpp':<44}{import_seconds:>10.3f}")
    print(f"{'build + compile functions':<44}{compile_seconds:>10.3f}")
    print(f"{'first fit, nip=30 (incl. SEs)':<44}{first_seconds:>10.3f}")
    print(f"{'repeat fit, nip=30 (incl. SEs)':<44}{repeat_seconds:>10.3f}")
    print(f"{'fit, nip=auto -> ' + str(auto.nip):<44}{auto_seconds:>10.3f}")
    print(f"{'lme4 glmer nAGQ=30 (' + r_source + ')':<44}{r_seconds:>10.3f}")
    print()
    print(f"loglik glpp nip=30 {repeat.loglik:.4f}, nip=auto {auto.loglik:.4f}, lme4 {r_loglik:.4f}")
    print(f"fit after compilation / lme4: {repeat_seconds / r_seconds:.3f}  (speed-up {r_seconds / repeat_seconds:.1f}x)")
    print(f"end to end (import + compile + first fit) / lme4: {end_to_end / r_seconds:.2f}")


if __name__ == "__main__":
    main()
