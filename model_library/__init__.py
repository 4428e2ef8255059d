"""Classic models, each with its data set, ready to fit.

>>> from model_library import load, MODELS
>>> fit = load("toenail").fit()
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parent / "data"

__all__ = ["LibraryModel", "MODELS", "load", "read_data"]


@dataclass(frozen=True)
class LibraryModel:
    """A model string with its data set and family."""

    name: str
    description: str
    data: str
    formula: str
    family: str = "gaussian"
    link: str | None = None


MODELS: dict[str, LibraryModel] = {
    model.name: model
    for model in (
        LibraryModel(
            "toenail",
            "Onychomycosis trial: random-intercept logistic regression (Lesaffre & Spiessens 2001)",
            "toenail.csv",
            "outcome ~ treatment + month + trt_month + (1 | patient)",
            "binomial",
        ),
        LibraryModel(
            "sleepstudy",
            "Reaction times under sleep deprivation: correlated random intercept and slope",
            "sleepstudy.csv",
            "reaction ~ days + (days | subject)",
        ),
        LibraryModel(
            "exam",
            "Inner-London exam scores: random intercept and slope of the intake score by school",
            "exam.csv",
            "normexam ~ standLRT + (standLRT | school)",
        ),
        LibraryModel(
            "owls",
            "Barn owl sibling negotiation: Poisson GLMM with a brood-size offset",
            "owls.csv",
            "SiblingNegotiation ~ FoodTreatment + ArrivalTime + offset(log_brood_size) + (1 | Nest)",
            "poisson",
        ),
        LibraryModel(
            "cbpp",
            "Contagious bovine pleuropneumonia: binomial GLMM with trials",
            "cbpp.csv",
            "cbind(incidence, size - incidence) ~ period2 + period3 + period4 + (1 | herd)",
            "binomial",
        ),
        LibraryModel(
            "verbagg_rasch",
            "Verbal aggression: Rasch model as a GLMM in long format (316 persons x 24 items)",
            "verbagg.csv",
            "r2 ~ 0 + C(item) + (1 | id)",
            "binomial",
        ),
    )
}


def read_data(name: str) -> pd.DataFrame:
    """The data set of a library model (or a CSV file name in the data folder)."""
    file = MODELS[name].data if name in MODELS else name
    return pd.read_csv(DATA / file)


def load(name: str):
    """A :class:`glpp.Model` of the named library model."""
    import glpp

    if name not in MODELS:
        raise KeyError(f"unknown library model {name!r}; choose one of {sorted(MODELS)}")
    model = MODELS[name]
    return glpp.Model(model.formula, read_data(name), family=model.family, link=model.link)
