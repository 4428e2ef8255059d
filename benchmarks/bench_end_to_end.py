"""End to end in a new Python process: VerbAgg Rasch (316 persons x 24 items) vs lme4.

What a user waits for when a notebook or script starts: ``import glpp``,
building the model, linking its compiled functions, the fit (``nip="auto"``).
Each run is a fresh process (best of ``RUNS``), with the compile caches warm.

Two pytensor caches are timed, because linking a compiled function first
reads *every* entry of pytensor's C-module cache (``ModuleCache.refresh``
unpickles one ``key.pkl`` per module, about 1 ms each):

- ``default``: the machine's own cache (``~/.pytensor``), whatever else it holds;
  a development machine's may hold thousands of modules of other graphs;
- ``glpp only``: a cache holding just what this model needs (created in
  ``benchmarks/.cache`` on the first run, which compiles for a minute or so),
  as on a user's machine that has run only glpp.

    python benchmarks/bench_end_to_end.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pytensor import config

ROOT = Path(__file__).resolve().parents[1]
RUNS = 3
CACHE = ROOT / "benchmarks" / ".cache" / "pytensor"
SCRIPT = """
import time
started = time.perf_counter()
import pandas as pd
import glpp
imported = time.perf_counter()
data = pd.read_csv({data!r})
model = glpp.Model("r2 ~ 0 + C(item) + (1 | id)", data, family="binomial")
built = time.perf_counter()
fit = model.fit()
done = time.perf_counter()
print({{"import": imported - started, "build": built - imported, "fit": done - built,
       "total": done - started, "loglik": fit.loglik, "nip": fit.nip}})
"""


def run(compiledir: Path | None, script: str = SCRIPT, data: str = "verbagg.csv") -> dict:
    """One fresh process running ``script`` (formatted with the data path), its timings."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # warm means Python's bytecode cache too (~0.3 s)
    if compiledir is not None:
        env["PYTENSOR_FLAGS"] = f"base_compiledir={compiledir}"
    code = script.format(data=str(ROOT / "model_library" / "data" / data))
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return eval(output.stdout.strip().splitlines()[-1])  # noqa: S307 - our own dict literal


def n_modules(compiledir: Path) -> int:
    return sum(1 for d in compiledir.glob("compiledir_*/*") if (d / "key.pkl").exists())


def time_both_caches(script: str, data: str, reference_time: float, label: str) -> None:
    """Best of ``RUNS`` fresh processes with the machine's cache and with a glpp-only cache
    (filled by a first run), each against ``reference_time`` (R's seconds)."""
    print(f"{'pytensor cache':<22}{'modules':>8}{'import':>8}{'build':>8}{'fit':>8}{'total':>8}  loglik")
    cache = CACHE.parent / f"{label}"
    if not cache.exists():
        run(cache, script, data)  # fills the cache: compiles this model's C modules
    for name, compiledir in (("default (~/.pytensor)", None), ("glpp only", cache)):
        runs = [run(compiledir, script, data) for _ in range(RUNS)]
        best = min(runs, key=lambda r: r["total"])
        modules = n_modules(compiledir or Path(config.base_compiledir))
        print(
            f"{name:<22}{modules:>8}{best['import']:>8.2f}{best['build']:>8.2f}{best['fit']:>8.2f}"
            f"{best['total']:>8.2f}  {best['loglik']:.4f} (nip={best['nip']}); "
            f"{reference_time / best['total']:.1f}x faster than R"
        )


def main() -> None:
    reference = json.loads((ROOT / "tests" / "reference" / "reference.json").read_text())["verbagg_rasch"]
    print(f"lme4 glmer(nAGQ=15): {reference['time_s']:.1f} s, loglik {reference['loglik']:.4f}\n")
    time_both_caches(SCRIPT, "verbagg.csv", reference["time_s"], "pytensor")


if __name__ == "__main__":
    main()
