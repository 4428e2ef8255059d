"""Several response types sharing latents."""

from __future__ import annotations

from model_library.entry import LibraryModel
from model_library.truth import TRUTH

__all__ = ["ENTRIES"]

MEASUREMENT_ERROR_MODEL = "resp ~ 0 + d_x + d_y + d_y:z\nF@id =~ d_x + d_y\nF ~ z"
MEASUREMENT_ERROR_DESCRIPTION = (
    "gllamm's covariate measurement error model (Rabe-Hesketh, Pickles & Skrondal 2003) on "
    "simulated data (model_library/simulate.py): a binary outcome y (logit) depends on an "
    "error-free covariate z and on a true covariate that is measured twice with gaussian error "
    "(x1, x2). Long data with three rows per unit (eq: y, x1, x2) and a family per row; the "
    "latent F is the true covariate less beta[d_x] (its mean where z = 0), regressed on z "
    "(path[F~z]) with residual SD sd[F]. F's loading on the measurements (d_x) is fixed at 1, "
    "so F is on the covariate's scale, and its loading on the outcome rows, lambda[F,d_y], is "
    "the log-odds ratio of the true covariate. The naive logistic regression of y on z and the "
    "mean of x1 and x2 attenuates that effect, roughly by the mean's reliability "
    "sd[F]^2 / (sd[F]^2 + sigma^2 / 2), and lets z, which predicts the true covariate, pick up "
    "part of it; the joint model recovers both."
)

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
    LibraryModel(
        "covariate_measurement_error",
        "Covariate measurement error: a logit outcome on a true covariate measured twice with error",
        "logit P(y_j = 1) = a0 + a1 z_j + lambda F_j;  x_kj = m + F_j + e_kj (k = 1, 2);"
        "  F_j = g z_j + zeta_j,  zeta_j ~ N(0, sd[F]^2),  e_kj ~ N(0, sigma^2)",
        MEASUREMENT_ERROR_DESCRIPTION,
        "mixed_response",
        "covariate_measurement_error.csv",
        MEASUREMENT_ERROR_MODEL,
        "fam",
        "lnk",
        truth=TRUTH["covariate_measurement_error"],
    ),
    LibraryModel(
        "missing_covariate",
        "Missing covariate: the measurement error model with measurements missing at random given y",
        "logit P(y_j = 1) = a0 + a1 z_j + lambda F_j;  x_kj = m + F_j + e_kj for the x_kj observed;"
        "  F_j = g z_j + zeta_j",
        "The covariate measurement error model (covariate_measurement_error) on simulated data "
        "(model_library/simulate.py) where 40% of the units lose their second measurement x2 and "
        "15% lose both, more often when y = 1: missing at random given the observed outcome, so "
        "the units with both measurements are a selected sample, and a complete-case analysis "
        "is biased (it underestimates the outcome's intercept beta[d_y] and, by less, the "
        "covariate's mean beta[d_x]). In long data a missing measurement is a row that is "
        "absent: each unit contributes the rows it has, a unit without measurements its outcome "
        "row alone, and the likelihood integrates the true covariate out of what is observed "
        "(missing at random: the missingness is ignorable).",
        "mixed_response",
        "missing_covariate.csv",
        MEASUREMENT_ERROR_MODEL,
        "fam",
        "lnk",
        truth=TRUTH["missing_covariate"],
    ),
)
