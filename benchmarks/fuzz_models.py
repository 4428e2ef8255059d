"""Fuzz run: randomly generated valid models on data simulated from them (issue 17).

Each model draws a family and link, two or three levels, a random slope or
not (long data), or a one-factor model with a family per item (wide data),
simulates data from known parameters, fits it by ML with the defaults, and
classifies the outcome:

- ``ok``: ``converged=True``, a finite log-likelihood, a settled quadrature;
  the recovery of the truth is recorded as ``z = (estimate - truth) / SE``.
- ``flagged``: ``converged=False`` with a warning (documented behaviour for a
  fit that did not settle or a model the data cannot identify).
- ``refused``: a :class:`glpp.SpecError`, :class:`glpp.DataError` or
  identification error before fitting (documented behaviour).
- ``FAIL``: anything else: a crash (another exception), a NaN log-likelihood,
  ``converged=True`` with an unsettled quadrature, or a converged fit whose
  parameters miss the truth by more than 3 SE on average.

Run ``python benchmarks/fuzz_models.py --n 200 --seed 1`` from the repository
root; it prints one line per model and a summary, writes a CSV with
``--out`` and exits non-zero when any model failed. Structures repeat (a
handful of families x levels x slopes), so compiled graphs are reused.
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

import glpp

#: (family, link) of the long-data models, and the families of factor items
LONG_FAMILIES = [("gaussian", "identity"), ("binomial", "logit"), ("binomial", "probit"),
                 ("poisson", "log"), ("ordinal", "logit"), ("ordinal", "probit")]
#: families of a factor model's items, repeated over the items (a handful of patterns, so that
#: compiled graphs are shared between models)
ITEM_PATTERNS = [
    [("binomial", "logit")],
    [("gaussian", "identity")],
    [("gaussian", "identity"), ("binomial", "probit")],
    [("poisson", "log"), ("binomial", "logit")],
]
EXPECTED_ERRORS = (glpp.SpecError, glpp.DataError, getattr(glpp, "IdentificationError", glpp.SpecError))


@dataclass
class Case:
    """A simulated model: its string, data, fit options and the true parameter values by name."""

    label: str
    formula: str
    data: pd.DataFrame
    options: dict
    truth: dict[str, float] = field(default_factory=dict)


def _respond(rng: np.random.Generator, family: str, link: str, predictor: np.ndarray,
             truth: dict[str, float]) -> np.ndarray:
    """Responses of one family given the linear predictor (truth gains sigma / thresholds)."""
    if family == "gaussian":
        sigma = float(rng.uniform(0.5, 1.5))
        truth["sigma"] = sigma
        return predictor + sigma * rng.normal(size=predictor.size)
    if family == "poisson":
        return rng.poisson(np.exp(np.clip(predictor, -5, 4))).astype(float)
    inverse = expit if link == "logit" else stats.norm.cdf
    if family == "binomial":
        return (rng.uniform(size=predictor.size) < inverse(predictor)).astype(float)
    thresholds = np.sort(rng.uniform(-1.5, 1.5, size=int(rng.integers(2, 4))))
    below = inverse(thresholds[None, :] - predictor[:, None])
    response = (rng.uniform(size=predictor.size)[:, None] > below).sum(axis=1).astype(float) + 1
    # the threshold between observed categories a < b is the upper one of category a
    # (an empty category in between merges with b, as clmm's factor levels)
    observed = np.unique(response).astype(int)
    for lower, upper in zip(observed[:-1], observed[1:]):
        truth[f"tau[{lower}|{upper}]"] = thresholds[lower - 1]
    return response


def long_case(rng: np.random.Generator, index: int) -> Case:
    """A GLMM on long data: two or three levels, a random slope in some two-level models."""
    family, link = LONG_FAMILIES[rng.integers(len(LONG_FAMILIES))]
    three_levels = rng.uniform() < 0.3
    slope = not three_levels and rng.uniform() < 0.3
    n_clusters, size = int(rng.integers(60, 150)), int(rng.integers(4, 10))
    group = np.repeat(np.arange(n_clusters), size)
    x = rng.normal(size=group.size)
    intercept = 0.0 if family == "ordinal" else float(rng.normal(0, 0.5))
    slope_x = float(rng.normal(0, 0.5))
    sd_g = float(rng.uniform(0.4, 1.2))
    predictor = intercept + slope_x * x + sd_g * rng.normal(size=n_clusters)[group]
    truth = {"beta[x]": slope_x}
    if family != "ordinal":
        truth["beta[(Intercept)]"] = intercept
    data = pd.DataFrame({"g": group, "x": x})
    if three_levels:
        n_top = max(n_clusters // 4, 15)
        top = rng.integers(n_top, size=n_clusters)
        sd_top = float(rng.uniform(0.4, 1.0))
        predictor = predictor + sd_top * rng.normal(size=n_top)[top][group]
        data["top"] = top[group]
        terms, truth["sd[top]"], truth["sd[top:g]"] = "(1 | top/g)", sd_top, sd_g
    elif slope:
        sd_slope = float(rng.uniform(0.2, 0.6))
        predictor = predictor + sd_slope * rng.normal(size=n_clusters)[group] * x
        terms, truth["sd[g]"], truth["sd[x|g]"] = "(1 | g) + (0 + x | g)", sd_g, sd_slope
    else:
        terms, truth["sd[g]"] = "(1 | g)", sd_g
    data["y"] = _respond(rng, family, link, predictor, truth)
    label = f"{index:3d} long {family}/{link} {terms}"
    return Case(label, f"y ~ x + {terms}", data, {"family": family, "link": link}, truth)


def factor_case(rng: np.random.Generator, index: int) -> Case:
    """A one-factor model on wide data, a family per item, the first loading fixed at 1."""
    n_items, n_units = int(rng.integers(4, 7)), int(rng.integers(400, 800))
    sd_factor = float(rng.uniform(0.6, 1.2))
    factor = sd_factor * rng.normal(size=n_units)
    data, families, truth = pd.DataFrame(), {}, {"sd[F]": sd_factor}
    pattern = ITEM_PATTERNS[rng.integers(len(ITEM_PATTERNS))]
    for item in range(1, n_items + 1):
        family, link = pattern[(item - 1) % len(pattern)]
        loading = 1.0 if item == 1 else float(rng.uniform(0.5, 1.5))
        intercept = float(rng.normal(0, 0.5))
        name = f"y{item}"
        item_truth: dict[str, float] = {}
        data[name] = _respond(rng, family, link, intercept + loading * factor, item_truth)
        families[name] = (family, link)
        if item > 1:
            truth[f"lambda[F,{name}]"] = loading
    label = f"{index:3d} wide factor {'+'.join(sorted({f for f, _ in families.values()}))} ({n_items} items)"
    formula = "F =~ " + " + ".join(data.columns)
    if len(pattern) == 1:  # one family for every item
        options = {"family": pattern[0][0], "link": pattern[0][1]}
    else:
        options = {"family": families}
    return Case(label, formula, data, options, truth)


def run_case(case: Case) -> dict:
    """Fit one case and classify its outcome."""
    started = time.perf_counter()
    row = {"model": case.label, "formula": case.formula}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = glpp.Model(case.formula, case.data, **case.options).fit()
    except EXPECTED_ERRORS as error:
        return {**row, "outcome": "refused", "detail": f"{type(error).__name__}: {error}"[:160]}
    except Exception as error:  # noqa: BLE001 - a crash is what the fuzz run looks for
        return {**row, "outcome": "FAIL", "detail": f"crash {type(error).__name__}: {error}"[:200]}
    row["seconds"] = round(time.perf_counter() - started, 2)
    row["loglik"] = fit.loglik
    row["warnings"] = "; ".join(sorted({type(w.message).__name__ for w in caught}))
    settled = fit.convergence is None or fit.convergence.nip_settled
    if not np.isfinite(fit.loglik):
        return {**row, "outcome": "FAIL", "detail": "log-likelihood not finite"}
    if fit.converged and not settled:
        return {**row, "outcome": "FAIL", "detail": "converged=True with an unsettled quadrature"}
    if not fit.converged:
        detail = "; ".join(fit.convergence.problems) if fit.convergence else ""
        outcome = "flagged" if caught else "FAIL"
        return {**row, "outcome": outcome, "detail": (detail or "converged=False without a warning")[:160]}
    z = [(fit.params[name] - value) / fit.se[name] for name, value in case.truth.items()
         if name in fit.params.index and fit.se[name] > 0]
    missing = [name for name in case.truth if name not in fit.params.index]
    row["mean_abs_z"] = float(np.mean(np.abs(z))) if z else float("nan")
    row["max_abs_z"] = float(np.max(np.abs(z))) if z else float("nan")
    if missing:
        return {**row, "outcome": "FAIL", "detail": f"parameters not in the fit: {missing}; the fit has {list(fit.params.index)}"}
    if row["mean_abs_z"] > 3:
        return {**row, "outcome": "FAIL", "detail": f"truth missed: mean |z| {row['mean_abs_z']:.2f}"}
    return {**row, "outcome": "ok", "detail": ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of models")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None, help="CSV of the outcomes")
    arguments = parser.parse_args()
    rng = np.random.default_rng(arguments.seed)
    rows = []
    for index in range(arguments.n):
        case = factor_case(rng, index) if rng.uniform() < 0.35 else long_case(rng, index)
        row = run_case(case)
        rows.append(row)
        z = f" mean|z| {row['mean_abs_z']:.2f} max|z| {row['max_abs_z']:.2f}" if "mean_abs_z" in row else ""
        print(f"{row['model']:<58} {row['outcome']:<8} {row.get('seconds', '')!s:>6}s{z} {row['detail']}",
              flush=True)
    table = pd.DataFrame(rows)
    if arguments.out:
        table.to_csv(arguments.out, index=False)
    print("\n" + table["outcome"].value_counts().to_string())
    fitted = table[table["outcome"] == "ok"]
    if len(fitted):
        print(f"converged fits: mean |z| {fitted['mean_abs_z'].mean():.3f}, "
              f"share of max |z| > 3: {(fitted['max_abs_z'] > 3).mean():.3f}")
    return int((table["outcome"] == "FAIL").any())


if __name__ == "__main__":
    raise SystemExit(main())
