"""``python -m model_library NAME``: fit a library model and print its summary."""

from __future__ import annotations

import argparse
import time

from model_library import MODELS, load


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m model_library", description=__doc__)
    parser.add_argument("name", choices=sorted(MODELS), help="library model to fit")
    parser.add_argument("--nip", default="auto", help="quadrature points ('auto' or an integer)")
    arguments = parser.parse_args()
    nip = arguments.nip if arguments.nip == "auto" else int(arguments.nip)
    print(f"{arguments.name}: {MODELS[arguments.name].description}\n")
    started = time.perf_counter()
    fit = load(arguments.name).fit(nip=nip)
    print(fit.summary())
    print(f"\n(fitted in {time.perf_counter() - started:.1f} s including compilation)")


if __name__ == "__main__":
    main()
