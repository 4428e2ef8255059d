"""Ordinal responses: cumulative-link mixed models."""

from __future__ import annotations

from model_library.entry import LibraryModel
from model_library.truth import TRUTH
from model_library.catalogue.verbagg import VERBAGG_DESCRIPTION

__all__ = ["ENTRIES"]

WINE = "rating ~ warm + contact + (1 | judge)"
WINE_DESCRIPTION = (
    "Bitterness of wine rated on a five-point scale by judges (Randall 1989; ordinal's wine), "
    "for wines pressed at a warm or cold temperature with or without skin contact. A "
    "cumulative-link mixed model as ordinal::clmm: thresholds tau_k between the categories "
    "and a random intercept per judge; the linear predictor has no intercept."
)
ENTRIES: tuple[LibraryModel, ...] = (
    LibraryModel(
        "wine",
        "Wine bitterness: cumulative logit with a random judge effect",
        "logit P(rating_ij <= k) = tau_k - (b1 warm_ij + b2 contact_ij + u_j),"
        "  u_j ~ N(0, sd[judge]^2)",
        WINE_DESCRIPTION,
        "ordinal",
        "wine.csv",
        WINE,
        "ordinal",
        nip=20,
        reference="wine_ordinal_logit",
        reference_file="ordinal.json",
    ),
    LibraryModel(
        "wine_probit",
        "Wine bitterness: cumulative probit with a random judge effect",
        "Phi^-1(P(rating_ij <= k)) = tau_k - (b1 warm_ij + b2 contact_ij + u_j),"
        "  u_j ~ N(0, sd[judge]^2)",
        WINE_DESCRIPTION + " Here with the probit link.",
        "ordinal",
        "wine.csv",
        WINE,
        "ordinal",
        "probit",
        nip=20,
        reference="wine_ordinal_probit",
        reference_file="ordinal.json",
    ),
    LibraryModel(
        "verbagg_ordinal",
        "Verbal aggression, three categories: cumulative logit with a random person effect",
        "logit P(resp_ij <= k) = tau_k - (x_ij' b + u_j),  u_j ~ N(0, sd[id]^2)",
        VERBAGG_DESCRIPTION + "Here the full answer (no, perhaps, yes) is the ordinal response, "
        "explained by the person's trait anger and sex and the item's behaviour mode, blame "
        "and verb.",
        "ordinal",
        "verbagg.csv",
        "resp ~ anger + male + do + self + scold + shout + (1 | id)",
        "ordinal",
        nip=15,
        reference="verbagg_ordinal_logit",
        reference_file="ordinal.json",
    ),
    LibraryModel(
        "scaled_ordinal_probit",
        "Scaled ordinal probit: threshold covariates and a heteroscedastic latent response",
        "P(y_ij <= k) = Phi((tau_k + gamma_k w_ij - b x_ij - u_j) / exp(alpha z_ij)),"
        "  u_j ~ N(0, sd[g]^2)",
        "A heteroscedastic (\"scaled\") ordinal probit with threshold covariates on simulated data "
        "(model_library/simulate.py), as gllamm's oprobit link with its thres() and s() options "
        "(Skrondal & Rabe-Hesketh 2004, ch. 2.3): the latent response's residual SD is "
        "exp(log_scale[z] z) (dispersion='~ z'), each threshold has its own shift with w "
        "(tau[k|k+1~w], thresholds='~ w'), and clusters g have a random intercept. Four "
        "categories, six responses per cluster.",
        "ordinal",
        "scaled_ordinal_probit.csv",
        "y ~ x + (1 | g)",
        "ordinal",
        "probit",
        options={"thresholds": "~ w", "dispersion": "~ z"},
        truth=TRUTH["scaled_ordinal_probit"],
    ),
)
