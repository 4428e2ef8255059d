"""``python -m model_library NAME``: fit a library model and print its summary.

``--list`` lists the models; ``--bayes`` samples the posterior (NUTS on the marginal model,
latents integrated out; ``--kind latent``: every latent a PyMC variable) instead and prints
arviz's summary, the largest R-hat, the smallest bulk ESS and the divergences.
"""

from __future__ import annotations

import argparse
import sys
import time

from model_library import CATEGORIES, MODELS, load, read_data, reference_label


def list_models() -> str:
    """A table of the library: name, model type, family, rows of data, reference."""
    rows = [("name", "type", "family", "rows", "reference")]
    for name, entry in MODELS.items():
        family = entry.family if entry.link is None else f"{entry.family}/{entry.link}"
        rows.append(
            (name, CATEGORIES[entry.category][0], family, str(len(read_data(name))), reference_label(name))
        )
    widths = [max(len(row[k]) for row in rows) for k in range(4)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row[:4], widths)), row[4]]) for row in rows
    )


def fit_and_print(name: str, nip: int | str) -> None:
    """Fit by maximum likelihood and print the summary."""
    started = time.perf_counter()
    fit = load(name).fit(nip=nip)
    print(fit.summary())
    print(f"\n(fitted in {time.perf_counter() - started:.1f} s including compilation)")


def sample_and_print(
    name: str, *, draws: int, tune: int, chains: int, seed: int, nip: int | None = None, kind: str = "marginal"
) -> int:
    """Sample the model of ``kind`` by NUTS and print arviz's summary and its diagnostics; 2 (with
    the reason on stderr) where the model cannot be sampled. ``nip=None``: the points are chosen
    for the data (:func:`glpp.bayes.choose_nip`)."""
    import arviz
    import glpp
    from glpp.bayes.build import check_supported

    model = load(name)
    try:
        check_supported(model)
    except glpp.SpecError as error:
        print(f"{name}: Bayesian sampling is not available for this model: {error}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    datatree = model.sample(kind=kind, draws=draws, tune=tune, chains=chains, random_seed=seed, nip=nip)
    # the parameters under their ML names (not PyMC's internal Cholesky factors or the latents)
    names = [name for name in model.layout.natural_names if name in datatree.posterior.data_vars]
    summary = arviz.summary(datatree, var_names=names)
    print(summary)
    attrs = datatree.posterior.attrs
    print(
        f"\n{kind}: max R-hat {summary['r_hat'].astype(float).max():.4f}, min bulk ESS "
        f"{summary['ess_bulk'].astype(float).min():.0f}, divergences "
        f"{int(datatree['sample_stats']['diverging'].sum())}, {attrs.get('glpp_parameterization', '')}"
    )
    print(f"(sampled in {time.perf_counter() - started:.1f} s including compilation)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model_library", description=__doc__)
    parser.add_argument("name", nargs="?", choices=list(MODELS), metavar="NAME", help="library model")
    parser.add_argument("--list", action="store_true", help="list the library's models")
    parser.add_argument("--nip", default=None, help="quadrature points ('auto' or an integer; "
                        "default: the rule of the model's reference fit; with --bayes: chosen for the data)")
    parser.add_argument("--bayes", action="store_true", help="sample the posterior by NUTS instead")
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain (--bayes)")
    parser.add_argument("--tune", type=int, default=1000, help="tuning steps per chain (--bayes)")
    parser.add_argument("--chains", type=int, default=4, help="chains (--bayes)")
    parser.add_argument("--kind", choices=["marginal", "latent"], default="marginal", help="PyMC model (--bayes)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (--bayes)")
    arguments = parser.parse_args(argv)
    if arguments.list:
        print(list_models())
        return 0
    if arguments.name is None:
        parser.error("name a model (python -m model_library --list shows them)")
    entry = MODELS[arguments.name]
    formula = entry.formula.replace("\n", "\n    ")
    reference = reference_label(arguments.name, call=True)
    print(f"{arguments.name}: {entry.title}\n\n    {formula}\n\n{entry.equation}\nreference: {reference}\n")
    if arguments.bayes:
        return sample_and_print(
            arguments.name, draws=arguments.draws, tune=arguments.tune, chains=arguments.chains,
            seed=arguments.seed, nip=None if arguments.nip in (None, "auto") else int(arguments.nip),
            kind=arguments.kind,
        )
    nip = entry.nip if arguments.nip is None else arguments.nip
    fit_and_print(arguments.name, nip if nip == "auto" else int(nip))
    return 0


if __name__ == "__main__":
    sys.exit(main())
