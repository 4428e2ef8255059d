"""Sample every library model that supports sampling at ``sample()``'s defaults (4 chains x
1000 draws after 1000 tuning steps, the points and the latent kind's parameterisation chosen
for the data) with both PyMC models, and record whether the chains converged.

For each model and kind: the largest R-hat and smallest bulk ESS over the ML parameters, the
divergent transitions, the largest distance of a posterior mean from the ML estimate (in
posterior SDs), the latent kind's parameterisation by level and the seconds of ``sample()``
(compilation included). Each run is a new process (one model's failure or memory cannot
affect the next); the rows are kept in ``benchmarks/bayes_results.json`` (a rerun of some
models replaces their rows) and the table between the markers of
``benchmarks/bayes_results.md`` is rewritten from all of them.

Usage::

    python benchmarks/bayes_defaults.py                   # every model, both kinds
    python benchmarks/bayes_defaults.py toenail cbpp      # these models
    python benchmarks/bayes_defaults.py --kind latent     # one kind
    python benchmarks/bayes_defaults.py --table           # rewrite the table only
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's glpp, not an installed one

RESULTS = ROOT / "benchmarks" / "bayes_results.json"
TABLE = ROOT / "benchmarks" / "bayes_results.md"
BEGIN, END = "<!-- bayes_defaults: begin -->", "<!-- bayes_defaults: end -->"
#: the convergence bar of the table's verdict column (issue 14: R-hat <= 1.01 at the defaults)
RHAT_BAR = 1.01
KINDS = ("marginal", "latent")
#: one model's sampling is stopped after this many seconds (recorded as a timeout)
TIMEOUT_S = 3600


def run_one(name: str, kind: str, seed: int) -> dict:
    """Sample one model in this process and return its row."""
    import arviz as az
    import numpy as np

    import glpp
    import model_library
    from glpp.bayes.build import check_supported

    model = model_library.load(name)
    row: dict = {"model": name, "kind": kind, "seed": seed}
    try:
        check_supported(model)
    except glpp.SpecError as error:
        return row | {"status": f"not supported: {error}"}
    fit = model.fit()
    started = time.perf_counter()
    tree = model.sample(kind=kind, random_seed=seed, progressbar=False)
    seconds = time.perf_counter() - started
    names = [name for name in fit.params.index if name in tree["posterior"].data_vars]
    posterior = tree["posterior"].to_dataset()[names]
    rhat, ess = az.rhat(posterior), az.ess(posterior)
    distance = [
        abs(float(posterior[name].mean()) - fit.params[name]) / float(posterior[name].std()) for name in names
    ]
    attrs = tree["posterior"].attrs
    return row | {
        "status": "sampled",
        "chains": int(tree["posterior"].sizes["chain"]),
        "draws": int(tree["posterior"].sizes["draw"]),
        "max_rhat": max(float(rhat[name].max()) for name in names),
        "min_ess_bulk": min(float(ess[name].min()) for name in names),
        "divergences": int(np.asarray(tree["sample_stats"]["diverging"]).sum()),
        "max_distance_sd": max(distance),
        "parameterization": str(attrs.get("glpp_parameterization", "")),
        "seconds": seconds,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPUs",
        "date": time.strftime("%Y-%m-%d"),
    }


def verdict(row: dict) -> str:
    if row["status"] != "sampled":
        return row["status"]
    if row["max_rhat"] <= RHAT_BAR and row["divergences"] == 0:
        return "converged"
    return "R-hat above 1.01" if row["max_rhat"] > RHAT_BAR else "divergences"


def write_table(rows: list[dict]) -> None:
    import model_library

    order = {name: k for k, name in enumerate(model_library.MODELS)}
    rows = sorted(rows, key=lambda row: (order.get(row["model"], len(order)), KINDS.index(row["kind"])))
    lines = [
        "| model | kind | max R-hat | min bulk ESS | divergences | max \\|mean - ML\\| / SD | "
        "parameterisation | seconds | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        if row["status"] == "sampled":
            lines.append(
                f"| {row['model']} | {row['kind']} | {row['max_rhat']:.4f} | {row['min_ess_bulk']:.0f} | "
                f"{row['divergences']} | {row['max_distance_sd']:.2f} | {row['parameterization'] or '-'} | "
                f"{row['seconds']:.0f} | {verdict(row)} |"
            )
        else:
            lines.append(f"| {row['model']} | {row['kind']} | | | | | | | {verdict(row)} |")
    sampled = [row for row in rows if row["status"] == "sampled"]
    converged = sum(verdict(row) == "converged" for row in sampled)
    lines.append("")
    lines.append(f"{converged} of {len(sampled)} sampled runs converged (R-hat <= {RHAT_BAR}, no divergences).")
    text = TABLE.read_text()
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    TABLE.write_text(f"{head}{BEGIN}\n{chr(10).join(lines)}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="library models (default: all)")
    parser.add_argument("--kind", choices=KINDS, action="append", help="PyMC model (default: both)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--table", action="store_true", help="rewrite the table from the stored rows only")
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "KIND"), help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.one:
        print(json.dumps(run_one(*arguments.one, arguments.seed)))
        return 0
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    if not arguments.table:
        import model_library

        for name in arguments.models or list(model_library.MODELS):
            for kind in arguments.kind or KINDS:
                command = [sys.executable, __file__, "--one", name, kind, "--seed", str(arguments.seed)]
                try:
                    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
                    output = done.stdout.strip().splitlines()
                    row = json.loads(output[-1]) if done.returncode == 0 and output else {
                        "model": name, "kind": kind, "seed": arguments.seed,
                        "status": "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:200],
                    }
                except subprocess.TimeoutExpired:
                    row = {"model": name, "kind": kind, "seed": arguments.seed, "status": f"timeout ({TIMEOUT_S} s)"}
                print(json.dumps(row), flush=True)
                stored = [old for old in stored if (old["model"], old["kind"]) != (name, kind)] + [row]
                RESULTS.write_text(json.dumps(stored, indent=1) + "\n")
    write_table(stored)
    return 0


if __name__ == "__main__":
    sys.exit(main())
