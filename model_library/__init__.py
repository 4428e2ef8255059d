"""Classic models, each with its data set, ready to fit.

>>> from model_library import load, MODELS
>>> fit = load("toenail").fit()
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from model_library.truth import TRUTH

DATA = Path(__file__).resolve().parent / "data"

__all__ = ["LibraryModel", "MODELS", "load", "read_data"]


@dataclass(frozen=True)
class LibraryModel:
    """A model string with its data set and family (a family name, or a column of family names
    with ``link`` a column of link names)."""

    name: str
    description: str
    data: str
    formula: str
    family: str = "gaussian"
    link: str | None = None
    #: the case of tests/reference/reference.json fitted with the same model (R's numbers)
    reference: str | None = None
    #: simulated data: the true parameter values, by name (``model_library/simulate.py``)
    truth: dict[str, float] | None = None


MODELS: dict[str, LibraryModel] = {
    model.name: model
    for model in (
        LibraryModel(
            "toenail",
            "Onychomycosis trial: random-intercept logistic regression (Lesaffre & Spiessens 2001)",
            "toenail.csv",
            "outcome ~ treatment + month + trt_month + (1 | patient)",
            "binomial",
            reference="toenail_logit",
        ),
        LibraryModel(
            "sleepstudy",
            "Reaction times under sleep deprivation: correlated random intercept and slope",
            "sleepstudy.csv",
            "reaction ~ days + (days | subject)",
            reference="sleepstudy_slopes_ml",
        ),
        LibraryModel(
            "exam",
            "Inner-London exam scores: random intercept and slope of the intake score by school",
            "exam.csv",
            "normexam ~ standLRT + (standLRT | school)",
            reference="exam_slopes_ml",
        ),
        LibraryModel(
            "owls",
            "Barn owl sibling negotiation: Poisson GLMM with a brood-size offset",
            "owls.csv",
            "SiblingNegotiation ~ FoodTreatment + ArrivalTime + offset(log_brood_size) + (1 | Nest)",
            "poisson",
            reference="owls_poisson_offset",
        ),
        LibraryModel(
            "cbpp",
            "Contagious bovine pleuropneumonia: binomial GLMM with trials",
            "cbpp.csv",
            "cbind(incidence, size - incidence) ~ period2 + period3 + period4 + (1 | herd)",
            "binomial",
            reference="cbpp_binomial_trials",
        ),
        LibraryModel(
            "verbagg_rasch",
            "Verbal aggression: Rasch model as a GLMM in long format (316 persons x 24 items)",
            "verbagg.csv",
            "r2 ~ 0 + C(item) + (1 | id)",
            "binomial",
            reference="verbagg_rasch",
        ),
        LibraryModel(
            "guimmun",
            "Guatemalan child immunisation: three-level random-intercept logit (children, mothers, communities)",
            "guimmun.csv",
            "immun ~ kid2p + mom25p + ord23 + ord46 + ord7p + ethnN + ethnS + momEdP + momEdS"
            " + husEdP + husEdS + husEdU + momWorkY + ruralY + pcInd81 + (1 | comm/mom)",
            "binomial",
            reference="guimmun_3level_laplace",
        ),
        LibraryModel(
            "egsingle",
            "Chicago math achievement: three-level growth model (years in children in schools)",
            "egsingle.csv",
            "math ~ year + black + hispanic + (1 | schoolid/childid)",
            reference="egsingle_3level",
        ),
        LibraryModel(
            "holzinger_cfa",
            "Holzinger-Swineford: three-factor confirmatory factor analysis",
            "holzinger.csv",
            "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9",
            reference="holzinger_cfa3",
        ),
        LibraryModel(
            "political_democracy",
            "Bollen's political democracy: structural equations among latents, correlated item residuals",
            "political_democracy.csv",
            "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem65 =~ y5 + y6 + y7 + y8\n"
            "dem60 ~ ind60\ndem65 ~ ind60 + dem60\n"
            "y1 ~~ y5\ny2 ~~ y4 + y6\ny3 ~~ y7\ny4 ~~ y8\ny6 ~~ y8",
            reference="political_democracy",
        ),
        LibraryModel(
            "demo_twolevel",
            "lavaan's Demo.twolevel: two-level factor model (within and between factors, between-level residuals)",
            "demo_twolevel.csv",
            "level: 1\nfw =~ y1 + y2 + y3\nlevel: cluster\nfb =~ y1 + y2 + y3",
            reference="demo_twolevel",
        ),
        LibraryModel(
            "crosslevel",
            "Two-level factor model with a structural path between levels: the units' factor depends on "
            "the clusters' factor (simulated, path 0.7)",
            "crosslevel.csv",
            "level: 1\nfw =~ y1 + y2 + y3\nfw ~ fb\nlevel: cluster\nfb =~ y4 + y5 + y6",
            reference="crosslevel_path",
        ),
        LibraryModel(
            "endogenous_treatment",
            "Endogenous treatment (Terza 1998; simulated): a Poisson count and a probit treatment equation "
            "sharing a latent F with a free loading; the treatment effect is beta[d_out:treat] (truth 0.6)",
            "endogenous_treatment.csv",
            "resp ~ 0 + d_out + d_out:x + d_out:treat + d_trt + d_trt:x + d_trt:z\nF@id =~ eq",
            "fam",
            "lnk",
            truth=TRUTH["endogenous_treatment"],
        ),
        LibraryModel(
            "dependent_dropout",
            "Random-coefficient dependent dropout (Wu & Carroll 1988; simulated): a gaussian growth model and "
            "a probit dropout hazard sharing the random intercept I and slope S, each with a free loading",
            "dependent_dropout.csv",
            "resp ~ 0 + d_y + d_y:t + d_drop + d_drop:t\nI@id =~ d_y + d_drop\nS@id =~ t_y + d_drop",
            "fam",
            "lnk",
            truth=TRUTH["dependent_dropout"],
        ),
        LibraryModel(
            "cace",
            "Complier average causal effect (Imbens & Rubin 1997; simulated): a trial with one-sided "
            "noncompliance, compliance C latent in the control arm and known in the treated arm; the "
            "effect of treatment in compliers is beta[C1:z] (truth 0.5)",
            "cace.csv",
            "y ~ x + C + C1:z\nC ~~ classes(2, known = compliance)",
            truth=TRUTH["cace"],
        ),
        LibraryModel(
            "growth_mixture",
            "Growth mixture (Muthen & Shedden 1999; simulated): two classes of linear trajectories with "
            "a normal random intercept within class",
            "growth_mixture.csv",
            "y ~ C + C:time + (1 | id)\nC@id ~~ classes(2)",
            truth=TRUTH["growth_mixture"],
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
