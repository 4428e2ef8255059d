"""Choices among alternatives: multinomial logit and rankings (exploded logit) with random effects."""

from __future__ import annotations

from model_library.entry import LibraryModel
from model_library.truth import TRUTH

__all__ = ["ENTRIES"]

ENTRIES: tuple[LibraryModel, ...] = (
    LibraryModel(
        "multinomial",
        "Multinomial logit over choice sets with correlated random alternative effects",
        "P(a chosen in set i of group j) = exp(eta_ija) / sum_b exp(eta_ijb),  eta_ija = b_a + g_a x_i"
        " + c price_ia + u_ja;  (u_j2, u_j3) ~ N(0, Sigma),  b_1 = g_1 = u_j1 = 0",
        "A multinomial logit model with random effects (Skrondal & Rabe-Hesketh 2003, gllamm's "
        "mlogit link) on simulated data (model_library/simulate.py): in each choice situation one "
        "of three alternatives is chosen, with an alternative-specific constant, an effect of the "
        "situation's covariate x per alternative (x2, x3: x times the alternative's dummy) and a "
        "common effect of each alternative's price. Alternative 1 is the reference; each group "
        "has its own correlated preferences for alternatives 2 and 3 (random coefficients of "
        "alt2 and alt3). Long data with one row per alternative, the situations told apart by "
        "choice_set.",
        "choice",
        "multinomial.csv",
        "chosen ~ 0 + alt2 + alt3 + x2 + x3 + price + (0 + alt2 + alt3 | g)",
        "multinomial",
        options={"choice_set": "situation"},
        truth=TRUTH["multinomial"],
    ),
    LibraryModel(
        "rankings",
        "Rankings of four alternatives (exploded logit) with a random coefficient",
        "P(ranking of set i of group j) = prod_s exp(eta_(s)) / sum_(b not ranked before s) exp(eta_b),"
        "  eta_ija = b_a + (c + u_j) q_ija,  u_j ~ N(0, sd[q|g]^2)",
        "Rankings analysed by the exploded logit (Punj & Staelin 1978; Allison & Christakis 1994), "
        "as gllamm's rankings with random effects (Skrondal & Rabe-Hesketh 2003), on simulated "
        "data (model_library/simulate.py): four alternatives per ranking, ranked by utilities "
        "with Gumbel errors; the ranking is the product of the choices of the first, then the "
        "first among the rest, and so on. Every third ranking ranks the top two only (rank 0: "
        "not ranked). The effect of the alternative's attribute q varies between groups (a "
        "random coefficient).",
        "choice",
        "rankings.csv",
        "rank ~ 0 + alt2 + alt3 + alt4 + q + (0 + q | g)",
        "ranking",
        options={"choice_set": "ranking"},
        truth=TRUTH["rankings"],
    ),
)
