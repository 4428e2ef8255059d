"""Item response models."""

from __future__ import annotations

from model_library.entry import LibraryModel
from model_library.catalogue.verbagg import VERBAGG_DESCRIPTION, VERBAGG_ITEMS

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
    LibraryModel(
        "verbagg_2pl",
        "Verbal aggression: two-parameter logistic (2PL) model on wide data",
        "logit P(y_ij = 1) = nu_i + lambda_i F_j,  F_j ~ N(0, 1)  (item i, person j)",
        VERBAGG_DESCRIPTION + "The 2PL: every item has its own easiness nu_i and its own "
        "discrimination lambda_i, the loading of a standard-normal ability F, fitted as a "
        "one-factor model with a binomial family on the answers in wide form (one row per "
        "person; the Rasch model is the 2PL with all loadings equal). No R package here fits "
        "it by quadrature; the reference is an independent numpy/scipy maximisation of the "
        "same likelihood with 101 Gauss-Hermite points (tests/reference/make_2pl.py).",
        "irt",
        "verbagg_wide.csv",
        f"F =~ {VERBAGG_ITEMS}",
        "binomial",
        options={"std_lv": True},
        nip=15,
        reference="verbagg_2pl",
        reference_file="irt_2pl.json",
    ),
    LibraryModel(
        "verbagg_dif",
        "Verbal aggression: Rasch model with uniform differential item functioning (DIF)",
        "logit P(r2_ij = 1) = b_i + g male_j + d male_j do_i + u_j,  u_j ~ N(0, sd[id]^2)"
        "  (item i, person j)",
        VERBAGG_DESCRIPTION + "Uniform DIF of the \"do\" items by sex (De Boeck et al. 2011, "
        "J. Stat. Softw. 39(12)), a GLMM on long data: male shifts every item (a difference in "
        "ability between men and women, not DIF) and male:do shifts the \"do\" items only, so "
        "beta[male:do] is the difference in log-odds of a \"yes\" between men and women of the "
        "same verbal aggression on the \"do\" items, over and above the \"want\" items.",
        "irt",
        "verbagg.csv",
        "r2 ~ 0 + C(item) + male + male:do + (1 | id)",
        "binomial",
        nip=15,
        reference="verbagg_dif",
        reference_file="irt.json",
    ),
)
