"""2-class latent class model of the 24 dichotomised VerbAgg items: NUTS against ML.

``Model("C ~~ classes(2); C =~ i1 + ... + i24").sample(init=fit)`` (the classes summed out,
exchangeable labels relabelled to the ML fit, :mod:`glpp.bayes.labels`) against ``fit()``:
for each parameter the ML estimate and SE, the posterior mean and SD, their distance in
posterior SDs, R-hat and bulk ESS; then the largest distance and R-hat, the smallest ESS,
the draws relabelled per chain, divergences and the times (NUTS, all of ``sample()``).

Usage: python benchmarks/bench_lca_bayes.py [draws] [tune] [chains] [seed]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import arviz as az
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's glpp, not an installed one
import glpp  # noqa: E402

DATA = ROOT / "model_library" / "data" / "verbagg_wide.csv"
FORMULA = "C ~~ classes(2); C =~ " + " + ".join(f"i{j}" for j in range(1, 25))


def compare(fit, idata) -> pd.DataFrame:
    """ML estimate and SE, posterior mean and SD, distance in posterior SDs, R-hat and ESS."""
    posterior = idata["posterior"].to_dataset()[list(fit.params.index)]
    rhat, ess = az.rhat(posterior), az.ess(posterior)
    table = pd.DataFrame({
        "ml": fit.params, "se": fit.se,
        "mean": [float(posterior[name].mean()) for name in fit.params.index],
        "sd": [float(posterior[name].std()) for name in fit.params.index],
        "rhat": [float(rhat[name]) for name in fit.params.index],
        "ess": [float(ess[name]) for name in fit.params.index],
    })
    table["z"] = (table["mean"] - table["ml"]) / table["sd"]
    return table


def main(draws: int = 500, tune: int = 500, chains: int = 2, seed: int = 1) -> None:
    model = glpp.Model(FORMULA, pd.read_csv(DATA), family="binomial")
    fit = model.fit()
    began = time.perf_counter()
    idata = model.sample(draws=draws, tune=tune, chains=chains, random_seed=seed, init=fit, progressbar=False)
    seconds = time.perf_counter() - began
    table = compare(fit, idata)
    print(table.round(4).to_string())
    attrs = idata["posterior"].attrs
    divergences = int(idata["sample_stats"].to_dataset()["diverging"].sum())
    print(f"{chains} chains x {draws} draws ({tune} tuning): max |mean - ML| / SD {table['z'].abs().max():.3f}, "
          f"max R-hat {table['rhat'].max():.4f}, min ESS {table['ess'].min():.0f}, relabelled "
          f"{attrs['glpp_relabelled']}, divergences {divergences}; NUTS {attrs.get('sampling_time', float('nan')):.1f} s, "
          f"sample() {seconds:.1f} s")


if __name__ == "__main__":
    main(*(int(value) for value in sys.argv[1:]))
