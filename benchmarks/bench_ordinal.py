"""End to end in a new Python process: ordinal VerbAgg (7,584 responses in three ordered
categories, 316 persons, random intercept) vs ordinal::clmm(nAGQ = 15).

``import glpp``, building the model, linking its compiled functions and the fit
(``nip="auto"``), in a fresh process with the compile caches warm (the first run
fills them and is not counted); best of three, with the machine's pytensor cache and
with a cache holding only this model's modules (see bench_end_to_end.py). clmm's time is the one
tests/reference/make_ordinal.R measured on this machine (``time_s`` in
tests/reference/ordinal.json).

    python benchmarks/bench_ordinal.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_end_to_end import ROOT, time_both_caches  # noqa: E402

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


def main() -> None:
    reference = json.loads((ROOT / "tests" / "reference" / "ordinal.json").read_text())
    clmm = reference["verbagg_ordinal_logit"]
    print(f"clmm(nAGQ=15): {clmm['time_s']:.1f} s, loglik {clmm['loglik']:.4f}\n")
    time_both_caches(SCRIPT, "verbagg.csv", clmm["time_s"], "pytensor-ordinal")


if __name__ == "__main__":
    main()
