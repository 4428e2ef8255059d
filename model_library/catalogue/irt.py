"""Item response models."""

from __future__ import annotations

from model_library.entry import LibraryModel
from model_library.catalogue.verbagg import VERBAGG_DESCRIPTION

__all__ = ["ENTRIES"]

ENTRIES: tuple[LibraryModel, ...] = (
    LibraryModel(
        "verbagg_rasch",
        "Verbal aggression: Rasch model as a GLMM in long format",
        "logit P(r2_ij = 1) = b_i + u_j,  u_j ~ N(0, sd[id]^2)  (item i, person j)",
        VERBAGG_DESCRIPTION + "The Rasch model: one easiness b_i per item and a normal "
        "ability per person, fitted as a GLMM on long data (one row per answer). lme4's "
        "reference stopped with a convergence warning slightly below the maximum.",
        "irt",
        "verbagg.csv",
        "r2 ~ 0 + C(item) + (1 | id)",
        "binomial",
        nip=15,
        reference="verbagg_rasch",
    ),
    LibraryModel(
        "verbagg_lltm",
        "Verbal aggression: explanatory item response model (LLTM with person covariates)",
        "logit P(r2_ij = 1) = b0 + b1 anger_j + b2 male_j + b3 do_i + b4 self_i + b5 scold_i"
        " + b6 shout_i + u_j,  u_j ~ N(0, sd[id]^2)",
        VERBAGG_DESCRIPTION + "The items' easiness is explained by their design (behaviour "
        "mode, blame, verb) and the persons' ability by trait anger and sex: De Boeck & "
        "Wilson's explanatory (linear logistic test) model.",
        "irt",
        "verbagg.csv",
        "r2 ~ anger + male + do + self + scold + shout + (1 | id)",
        "binomial",
        nip=15,
        reference="verbagg_lltm_logit",
    ),
)
