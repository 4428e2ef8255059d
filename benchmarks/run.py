"""The benchmark suite: glpp against its R peers on the same data, on this machine.

For each case this runs, each in a new Python process:

- **cold**: an empty pytensor (and glpp, and XLA) cache, import included: what a new
  user waits for on the first fit of a structure (``backend="auto"``: JAX now, the C
  modules compiled by a background worker, whose time is reported as ``C in bg``);
- **warm**: the same process again once the worker is done (the C modules cached):
  end to end, import included, and the fit alone (a second ``fit`` in that process,
  everything compiled);

and the R peer (lme4, ordinal, lavaan, glmmTMB, flexmix) through ``Rscript``, timing
the fitting call only, on the same data (skipped with a message where R or the package
is missing). Writes the table of ``benchmarks/results.md`` (between its markers, with
the machine and the date) after each case; the notes around it are kept.

    python benchmarks/run.py                 # every case except the large ones
    python benchmarks/run.py toenail guimmun # only these
    python benchmarks/run.py --large         # also 100,000 and 1,000,000 simulated rows
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "model_library" / "data"
RESULTS = ROOT / "benchmarks" / "results.md"
SIMULATED = ROOT / "benchmarks" / ".data"


@dataclass(frozen=True)
class Case:
    """One benchmark: a glpp fit and the R fit of the same model and data."""

    name: str
    data: str
    model: str
    options: dict
    r_package: str
    #: R code fitting ``d`` (the data frame): assigns ``fit``; ``loglik`` is then ``logLik(fit)``
    r_fit: str
    r_setup: str = ""
    large: bool = False
    glpp_setup: str = ""
    notes: str = ""
    extra: dict = field(default_factory=dict)


TOENAIL = "outcome ~ treatment + month + trt_month + (1 | patient)"
CFA3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
LAVAAN_CFA3 = "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
DEMOCRACY = (
    "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem65 =~ y5 + y6 + y7 + y8\n"
    "dem60 ~ ind60\ndem65 ~ ind60 + dem60\n"
    "y1 ~~ y5\ny2 ~~ y4 + y6\ny3 ~~ y7\ny4 ~~ y8\ny6 ~~ y8"
)

CASES = [
    Case("toenail", "toenail.csv", TOENAIL, {"family": "binomial"}, "lme4",
         "fit <- glmer(outcome ~ treatment + month + trt_month + (1 | patient), d, family = binomial, nAGQ = 30)",
         notes="glpp nip='auto'; lme4 nAGQ = 30"),
    Case("VerbAgg Rasch", "verbagg.csv", "r2 ~ 0 + C(item) + (1 | id)", {"family": "binomial"}, "lme4",
         "fit <- glmer(r2 ~ 0 + factor(item) + (1 | id), d, family = binomial, nAGQ = 15)",
         notes="316 persons x 24 items; lme4 nAGQ = 15"),
    Case("guImmun, 3 levels", "guimmun.csv", "immun ~ kid2p + mom25p + ord23 + ord46 + ord7p + ethnN + ethnS"
         " + momEdP + momEdS + husEdP + husEdS + husEdU + momWorkY + ruralY + pcInd81 + (1 | comm/mom)",
         {"family": "binomial"}, "lme4",
         "fit <- glmer(immun ~ kid2p + mom25p + ord23 + ord46 + ord7p + ethnN + ethnS + momEdP + momEdS + husEdP"
         " + husEdS + husEdU + momWorkY + ruralY + pcInd81 + (1 | comm/mom), d, family = binomial)",
         notes="lme4 can only use the Laplace approximation (nAGQ = 1) with two levels: its log-likelihood differs"),
    Case("sleepstudy slopes", "sleepstudy.csv", "reaction ~ days + (days | subject)", {}, "lme4",
         "fit <- lmer(reaction ~ days + (days | subject), d, REML = FALSE)"),
    Case("wine ordinal", "wine.csv", "rating ~ warm + contact + (1 | judge)",
         {"family": "ordinal"}, "ordinal",
         "d$rating <- factor(d$rating, ordered = TRUE); fit <- clmm(rating ~ warm + contact + (1 | judge), d, nAGQ = 20)"),
    Case("Holzinger CFA", "holzinger.csv", CFA3, {}, "lavaan",
         f"fit <- cfa('{LAVAAN_CFA3}', d)", notes="exact normal likelihood in both"),
    Case("PoliticalDemocracy SEM", "political_democracy.csv", DEMOCRACY, {}, "lavaan",
         "fit <- sem('ind60 =~ x1 + x2 + x3\n dem60 =~ y1 + y2 + y3 + y4\n dem65 =~ y5 + y6 + y7 + y8\n"
         " dem60 ~ ind60\n dem65 ~ ind60 + dem60\n y1 ~~ y5\n y2 ~~ y4 + y6\n y3 ~~ y7\n y4 ~~ y8\n y6 ~~ y8', d)"),
    Case("exam heteroscedastic", "exam.csv", "normexam ~ standLRT + (1 | school)",
         {"dispersion": "~ male"}, "glmmTMB",
         "fit <- glmmTMB(normexam ~ standLRT + (1 | school), d, dispformula = ~ male)"),
    Case("RI logit 100k", "ri_logit_100000.csv", "y ~ x1 + x2 + x3 + (1 | cluster)", {"family": "binomial"}, "lme4",
         "fit <- glmer(y ~ x1 + x2 + x3 + (1 | cluster), d, family = binomial, nAGQ = 25)", large=True,
         notes="simulated, 10 rows per cluster; lme4 nAGQ = 25", extra={"rows": 100_000}),
    Case("RI logit 1M", "ri_logit_1000000.csv", "y ~ x1 + x2 + x3 + (1 | cluster)", {"family": "binomial"}, "lme4",
         "fit <- glmer(y ~ x1 + x2 + x3 + (1 | cluster), d, family = binomial, nAGQ = 1)", large=True,
         notes="simulated, 10 rows per cluster; lme4 Laplace (nAGQ = 25 would take most of an hour)",
         extra={"rows": 1_000_000}),
]

GLPP_SCRIPT = """
import json, resource, sys, time
started = time.perf_counter()
import pandas as pd
import glpp
imported = time.perf_counter()
data = pd.read_csv({data!r})
model = glpp.Model({model!r}, data, **{options!r})
fit = model.fit()
first = time.perf_counter()
refit = None
if {refit!r}:
    t0 = time.perf_counter()
    model.fit()
    refit = time.perf_counter() - t0
print(json.dumps(dict(total=first - started, imported=imported - started, loglik=float(fit.loglik),
                      nip=str(fit.nip), converged=bool(fit.converged), refit=refit,
                      rows=int(model.design.n_rows),
                      peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""

R_SCRIPT = """
suppressMessages(library({package}))
d <- read.csv({data!r})
{setup}
t <- system.time({{ {fit} }})[["elapsed"]]
cat(sprintf('{{"seconds": %.3f, "loglik": %.6f}}\\n', t, as.numeric(logLik(fit))))
"""


def simulate_random_intercept_logit(rows: int) -> Path:
    """A random-intercept logit, 10 rows per cluster, 3 normal covariates (seed 1)."""
    import numpy as np
    import pandas as pd

    path = SIMULATED / f"ri_logit_{rows}.csv"
    if path.exists():
        return path
    rng = np.random.default_rng(1)
    clusters = rows // 10
    cluster = np.repeat(np.arange(clusters), 10)
    x = rng.standard_normal((rows, 3))
    eta = -0.5 + x @ np.array([0.5, -0.3, 0.2]) + rng.normal(0, 1.0, clusters)[cluster]
    y = (rng.random(rows) < 1 / (1 + np.exp(-eta))).astype(int)
    SIMULATED.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"y": y, "x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "cluster": cluster}).to_csv(path, index=False)
    return path


def data_path(case: Case) -> Path:
    if case.large:
        return simulate_random_intercept_logit(case.extra["rows"])
    return DATA / case.data


def run_glpp(case: Case, compiledir: Path, refit: bool) -> dict:
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={compiledir}")
    env.pop("GLPP_BACKEND", None)
    code = GLPP_SCRIPT.format(data=str(data_path(case)), model=case.model, options=case.options, refit=refit)
    started = time.perf_counter()
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if output.returncode != 0:
        raise RuntimeError(f"{case.name}: glpp failed\n{output.stderr[-3000:]}")
    result = json.loads(output.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def wait_for_background(compiledir: Path, limit: float = 3600) -> float:
    """Seconds until the background C compile of ``compiledir``'s queue is done."""
    pending = compiledir / "glpp" / "pending"
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        busy = any(pending.glob("*.pkl")) if pending.exists() else False
        if not busy:
            worker = subprocess.run(["pgrep", "-f", f"compile_worker {pending}"], capture_output=True)
            if worker.returncode != 0:
                return time.perf_counter() - started
        time.sleep(1)
    return float("nan")


def run_r(case: Case) -> dict | str:
    if shutil.which("Rscript") is None:
        return "R not installed"
    check = subprocess.run(["Rscript", "-e", f"quit(status = !requireNamespace('{case.r_package}', quietly = TRUE))"],
                           capture_output=True)
    if check.returncode != 0:
        return f"R package {case.r_package} not installed"
    script = R_SCRIPT.format(package=case.r_package, data=str(data_path(case)), setup=case.r_setup, fit=case.r_fit)
    started = time.perf_counter()
    output = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if output.returncode != 0:
        return f"R failed: {output.stderr.strip().splitlines()[-1] if output.stderr.strip() else '?'}"
    return dict(json.loads(output.stdout.strip().splitlines()[-1]), wall=wall)


def benchmark(case: Case) -> dict:
    print(f"== {case.name}", flush=True)
    with tempfile.TemporaryDirectory(prefix="glpp-bench-") as directory:
        compiledir = Path(directory)
        cold = run_glpp(case, compiledir, refit=False)
        background = wait_for_background(compiledir)
        warm = min((run_glpp(case, compiledir, refit=True) for _ in range(2)), key=lambda r: r["wall"])
    r = run_r(case)
    row = dict(case=case.name, rows=warm["rows"], cold=cold["wall"], background=background, warm=warm["wall"],
               fit=warm["refit"], loglik=warm["loglik"], cold_loglik=cold["loglik"], nip=warm["nip"],
               converged=warm["converged"], peak_mib=max(cold["peak_mib"], warm["peak_mib"]),
               r=r, notes=case.notes, r_package=case.r_package)
    print(json.dumps(row), flush=True)
    return row


def _format(rows: list[dict]) -> str:
    lines = [
        "| model | rows | glpp logLik | R logLik | cold (s) | C in bg (s) | warm (s) | fit (s) | R process (s) "
        "| R fit (s) | R process / warm | R fit / fit | peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        r = row["r"]
        if isinstance(r, dict):
            r_loglik, r_time, r_wall = f"{r['loglik']:.4f}", f"{r['seconds']:.2f}", f"{r.get('wall', float('nan')):.2f}"
            ratio_warm = f"{r.get('wall', float('nan')) / row['warm']:.1f}x"
            ratio_fit = f"{r['seconds'] / row['fit']:.0f}x"
        else:
            r_loglik, r_time, r_wall, ratio_warm, ratio_fit = "-", r, "-", "-", "-"
        lines.append(
            f"| {row['case']} | {row['rows']:,} | {row['loglik']:.4f} | {r_loglik} | {row['cold']:.1f} "
            f"| {row['background']:.0f} | {row['warm']:.2f} | {row['fit']:.3f} | {r_wall} | {r_time} | {ratio_warm} "
            f"| {ratio_fit} | {row['peak_mib']:.0f} |"
        )
    notes = [f"- {row['case']}: {row['notes']}" for row in rows if row["notes"]]
    return "\n".join(lines + [""] + notes)


BEGIN, END = "<!-- begin: written by benchmarks/run.py -->", "<!-- end: written by benchmarks/run.py -->"


def write_results(rows: list[dict]) -> None:
    """Replace the generated table of ``results.md`` (between its markers); the notes around it stay."""
    import numpy
    import pytensor

    header = (
        f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} by `python benchmarks/run.py` on {platform.node()} "
        f"({os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"pytensor {pytensor.__version__}, numpy {numpy.__version__}).\n\n"
        "cold: new process, empty pytensor/glpp/XLA caches, import included (glpp's default `backend=\"auto\"`: "
        "JAX for this first fit); C in bg: the background worker's C compile of the same structure, "
        "after the cold process ended; warm: new process once the C modules are cached, import included "
        "(best of 2); fit: a second `fit()` in the warm process; R process: the whole Rscript run "
        "(start, package, data, fit); R fit: the R call alone (`system.time`). Ratios > 1: glpp faster.\n\n"
    )
    generated = f"{BEGIN}\n{header}{_format(rows)}\n{END}"
    text = RESULTS.read_text() if RESULTS.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = f"{text.rstrip()}\n\n{BEGIN}\n{END}\n"
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    RESULTS.write_text(before + generated + after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", nargs="*", help="case names (case-insensitive prefixes); default: all")
    parser.add_argument("--large", action="store_true", help="include the simulated 100k and 1M row cases")
    arguments = parser.parse_args()
    selected = [c for c in CASES if (arguments.large or not c.large)]
    if arguments.cases:
        wanted = [name.lower() for name in arguments.cases]
        selected = [c for c in CASES if any(c.name.lower().startswith(w) for w in wanted)]
    if shutil.which("Rscript") is None:
        print("Rscript not found: R columns are skipped (apt-get install r-base-core r-cran-lme4 ...)")
    rows = []
    for case in selected:
        rows.append(benchmark(case))
        write_results(rows)
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
