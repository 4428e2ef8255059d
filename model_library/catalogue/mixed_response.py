"""Several response types sharing latents."""

from __future__ import annotations

from model_library.entry import LibraryModel
from model_library.truth import TRUTH

__all__ = ["ENTRIES"]

ENTRIES: tuple[LibraryModel, ...] = (
    LibraryModel(
        "endogenous_treatment",
        "Endogenous treatment: a Poisson count and a probit treatment sharing a latent",
        "log E[count_j] = a0 + a1 x_j + a2 treat_j + F_j;  Phi^-1 P(treat_j = 1) = c0 + c1 x_j"
        " + c2 z_j + lambda F_j;  F_j ~ N(0, sd[F]^2)",
        "Terza's (1998) endogenous treatment model on simulated data (model_library/simulate.py): "
        "a latent F raises both the chance of treatment and the count, so the outcome equation "
        "alone is biased. Long data with two rows per subject, each with its own family and "
        "link (columns fam and lnk); the treatment effect is beta[d_out:treat].",
        "mixed_response",
        "endogenous_treatment.csv",
        "resp ~ 0 + d_out + d_out:x + d_out:treat + d_trt + d_trt:x + d_trt:z\nF@id =~ eq",
        "fam",
        "lnk",
        truth=TRUTH["endogenous_treatment"],
    ),
    LibraryModel(
        "dependent_dropout",
        "Random-coefficient dependent dropout: a gaussian growth model and a probit dropout hazard",
        "y_tj = a0 + a1 t + I_j + S_j t + e_tj;  Phi^-1 P(drop at t) = c0 + c1 t + l1 I_j + l2 S_j",
        "Wu & Carroll's (1988) random-coefficient dependent dropout on simulated data "
        "(model_library/simulate.py): the growth model's random intercept I and slope S also "
        "enter, with free loadings, the probit hazard of dropping out, so dropout is "
        "informative.",
        "mixed_response",
        "dependent_dropout.csv",
        "resp ~ 0 + d_y + d_y:t + d_drop + d_drop:t\nI@id =~ d_y + d_drop\nS@id =~ t_y + d_drop",
        "fam",
        "lnk",
        truth=TRUTH["dependent_dropout"],
    ),
)
