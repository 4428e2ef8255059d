"""VerbAgg Rasch (316 persons x 24 items), Holzinger CFA, PoliticalDemocracy SEM, Demo.twolevel: glpp vs lme4 / lavaan.

Prints, for each model: build + compile time, first fit, repeat fit, and
the R time recorded in tests/reference/reference.json (lme4's glmer(nAGQ=15)
for the Rasch model, lavaan's cfa/sem for the others; rerun them with
tests/reference/make_reference.R on the same machine to refresh).
The all-gaussian factor models are fitted by the exact multivariate normal
likelihood (the default, ``nip="auto"``) and, for comparison, by adaptive
quadrature (an integer ``nip``).

    python benchmarks/bench_factor.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
started = time.perf_counter()
import pandas as pd  # noqa: E402

import glpp  # noqa: E402
from glpp.fitting import make_objective  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - started
#: repeat fits per model; the fastest is reported (the machine may be shared)
REPEATS = 5
REFERENCE = json.loads((ROOT / "tests" / "reference" / "reference.json").read_text())
CFA3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
DEMOCRACY = (
    "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem65 =~ y5 + y6 + y7 + y8\n"
    "dem60 ~ ind60\ndem65 ~ ind60 + dem60\n"
    "y1 ~~ y5\ny2 ~~ y4 + y6\ny3 ~~ y7\ny4 ~~ y8\ny6 ~~ y8"
)
TWO_LEVEL = "level: 1\nfw =~ y1 + y2 + y3\nlevel: cluster\nfb =~ y1 + y2 + y3"
# (label, model, data, family, reference case, fit options)
CASES = [
    ("VerbAgg Rasch", "r2 ~ 0 + C(item) + (1 | id)", "verbagg.csv", "binomial", "verbagg_rasch", {}),
    ("Holzinger CFA, exact", CFA3, "holzinger.csv", "gaussian", "holzinger_cfa3", {}),
    ("Holzinger CFA, nip=1", CFA3, "holzinger.csv", "gaussian", "holzinger_cfa3", {"nip": 1}),
    ("PolDem SEM, exact", DEMOCRACY, "political_democracy.csv", "gaussian", "political_democracy", {}),
    ("Demo.twolevel, exact", TWO_LEVEL, "demo_twolevel.csv", "gaussian", "demo_twolevel", {}),
    ("Demo.twolevel, nip=1", TWO_LEVEL, "demo_twolevel.csv", "gaussian", "demo_twolevel", {"nip": 1}),
]


def main() -> None:
    print(f"import glpp: {IMPORT_SECONDS:.2f} s\n")
    print(f"{'model':<24}{'compile':>9}{'1st fit':>9}{'repeat':>9}{'end2end':>9}{'R':>9}  loglik (R)")
    for label, formula, file, family, case, options in CASES:
        data = pd.read_csv(ROOT / "model_library" / "data" / file)
        t0 = time.perf_counter()
        model = glpp.Model(formula, data, family=family)
        make_objective(model.design, model.layout, model.family, model.link, **options)  # compiles (cached)
        compile_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        fit = model.fit(**options)
        first = time.perf_counter() - t0
        repeats = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            model.fit(**options)
            repeats.append(time.perf_counter() - t0)
        repeat = min(repeats)
        reference = REFERENCE[case]
        print(
            f"{label:<24}{compile_seconds:>9.2f}{first:>9.2f}{repeat:>9.2f}{compile_seconds + first:>9.2f}"
            f"{reference['time_s']:>9.2f}  {fit.loglik:.4f} ({reference['loglik']:.4f}, nip={fit.nip})"
        )


if __name__ == "__main__":
    main()
