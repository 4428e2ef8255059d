"""End to end in a new Python process: ordinal VerbAgg (7,584 responses in three ordered
categories, 316 persons, random intercept) vs ordinal::clmm(nAGQ = 15).

``import glpp``, building the model, linking its compiled functions and the fit
(``nip="auto"``), in a fresh process with the compile caches warm (the first run
fills them and is not counted); best of ``RUNS``. clmm's time is the one
tests/reference/make_ordinal.R measured on this machine (``time_s`` in
tests/reference/ordinal.json).

    python benchmarks/bench_ordinal.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 3
SCRIPT = """
import time
started = time.perf_counter()
import pandas as pd
import glpp
imported = time.perf_counter()
data = pd.read_csv({data!r})
model = glpp.Model("resp ~ anger + male + do + self + scold + shout + (1 | id)", data, family="ordinal")
built = time.perf_counter()
fit = model.fit()
done = time.perf_counter()
print({{"import": imported - started, "build": built - imported, "fit": done - built,
       "total": done - started, "loglik": fit.loglik, "nip": fit.nip}})
"""


def run() -> dict:
    script = SCRIPT.format(data=str(ROOT / "model_library" / "data" / "verbagg.csv"))
    output = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return eval(output.stdout.strip().splitlines()[-1])  # noqa: S307 - our own dict literal


def main() -> None:
    reference = json.loads((ROOT / "tests" / "reference" / "ordinal.json").read_text())
    clmm = reference["verbagg_ordinal_logit"]
    print(f"clmm(nAGQ=15): {clmm['time_s']:.1f} s, loglik {clmm['loglik']:.4f}")
    run()  # warms the caches
    best = min((run() for _ in range(RUNS)), key=lambda r: r["total"])
    print(
        f"glpp: import {best['import']:.2f} s, build {best['build']:.2f} s, fit {best['fit']:.2f} s, "
        f"total {best['total']:.2f} s, loglik {best['loglik']:.4f} (nip={best['nip']}); "
        f"{clmm['time_s'] / best['total']:.1f}x faster than clmm"
    )


if __name__ == "__main__":
    main()
