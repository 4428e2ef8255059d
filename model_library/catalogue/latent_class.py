"""Latent classes, latent class regression and mixtures."""

from __future__ import annotations

from model_library.entry import LibraryModel
from model_library.truth import TRUTH
from model_library.catalogue.verbagg import VERBAGG_DESCRIPTION, VERBAGG_ITEMS

__all__ = ["ENTRIES"]

ENTRIES: tuple[LibraryModel, ...] = (
    LibraryModel(
        "verbagg_lca2",
        "Verbal aggression: two latent classes",
        "P(items of unit i) = sum_c pi_c prod_m p_mc^y_im (1 - p_mc)^(1 - y_im),"
        "  logit p_mc = nu[Cc:m]",
        VERBAGG_DESCRIPTION + "A latent class model of the answers in wide form (one row per "
        "person): each class has its own probability of \"yes\" on every item and the items "
        "are independent within a class. Fitted from several random starts.",
        "latent_class",
        "verbagg_wide.csv",
        f"C ~~ classes(2); C =~ {VERBAGG_ITEMS}",
        "binomial",
        reference="verbagg_lca2",
        reference_file="latent_classes.json",
    ),
    LibraryModel(
        "verbagg_lca3",
        "Verbal aggression: three latent classes",
        "P(items of unit i) = sum_c pi_c prod_m p_mc^y_im (1 - p_mc)^(1 - y_im),"
        "  logit p_mc = nu[Cc:m]",
        VERBAGG_DESCRIPTION + "The latent class model with three classes. flexmix's best of "
        "its random starts stops slightly below the maximum that glpp finds.",
        "latent_class",
        "verbagg_wide.csv",
        f"C ~~ classes(3); C =~ {VERBAGG_ITEMS}",
        "binomial",
        reference="verbagg_lca3",
        reference_file="latent_classes.json",
    ),
    LibraryModel(
        "toenail_npml",
        "Onychomycosis trial: logistic regression with a nonparametric (NPML) random intercept",
        "logit P(outcome_ij = 1) = b0 + b1 treatment_j + b2 month_ij + b3 treatment_j month_ij"
        " + u_j;  u_j = a_c with probability pi_c (c = 1..4),  sum_c pi_c a_c = 0",
        "The toenail trial of the glmm entries (De Backer et al. 1998): patients examined at up "
        "to seven visits for moderate or severe onycholysis. The patients' normal random "
        "intercept is replaced by a discrete distribution of four mass points with free "
        "locations and masses (nonparametric maximum likelihood, Aitkin 1999; the latent's mean "
        "is fixed at zero). Four is where masspoints(\"auto\") stops, the Gateaux derivative "
        "being nowhere positive; one point runs off to minus infinity (the patients who never "
        "had the outcome), reported in fit.points[\"escaped\"]. flexmix fits the same likelihood "
        "as a mixture over patients of logistic regressions with their own intercepts and "
        "common slopes, and its EM follows that point to a large negative intercept. With a "
        "point at minus infinity the zero mean leaves b0 and the locations without standard "
        "errors: the slopes, the sizes pi_c and the finite points' b0 + a_c are the estimates.",
        "latent_class",
        "toenail.csv",
        "outcome ~ treatment * month + (1 | patient)\npatient ~~ masspoints(4)",
        "binomial",
        reference="toenail_npml",
        reference_file="npml.json",
    ),
    LibraryModel(
        "cace",
        "Complier average causal effect: compliance a latent class in the control arm, known when treated",
        "y_i = b0 + b1 x_i + a_C + d z_i [C_i = 1] + e_i;  P(C_i = 1) = pi, C_i observed where z_i = 1",
        "Imbens & Rubin's (1997) complier average causal effect on simulated data "
        "(model_library/simulate.py): a trial with one-sided noncompliance, where compliance C is "
        "observed in the treated arm (column compliance) and a latent class in the control arm. "
        "The effect of treatment z in compliers is beta[C1:z]; classes with known members keep "
        "their labels, so class 1 is the compliers.",
        "latent_class",
        "cace.csv",
        "y ~ x + C + C1:z\nC ~~ classes(2, known = compliance)",
        truth=TRUTH["cace"],
    ),
    LibraryModel(
        "growth_mixture",
        "Growth mixture: two classes of linear trajectories with a random intercept within class",
        "y_tj = a_C + b_C t + u_j + e_tj;  u_j ~ N(0, sd[id]^2);  P(C_j = c) = pi_c",
        "A growth mixture model (Muthen & Shedden 1999) on simulated data "
        "(model_library/simulate.py): each subject belongs to one of two latent classes with its "
        "own intercept and slope over time, and subjects vary around their class's trajectory by "
        "a normal random intercept. Discrete and continuous latents in one model: the "
        "likelihood sums over classes of adaptive Gauss-Hermite integrals.",
        "latent_class",
        "growth_mixture.csv",
        "y ~ C + C:time + (1 | id)\nC@id ~~ classes(2)",
        truth=TRUTH["growth_mixture"],
    ),
    LibraryModel(
        "class_regression",
        "Latent class regression: two classes of six binary items, membership regressed on a covariate",
        "P(items of unit i) = sum_c pi_c(v_i) prod_m p_mc^y_im (1 - p_mc)^(1 - y_im),"
        "  logit p_mc = nu[Cc:m],  log(pi_1(v) / pi_2(v)) = a + b v",
        "A latent class model with a class-membership regression (Dayton & Macready's 1988 "
        "concomitant-variable latent class model; gllamm's peqs() option) on simulated data "
        "(model_library/simulate.py): six binary items are independent given the class, each "
        "class has its own probability of a 1 on every item (nu[Cc:ym], log-odds), and the "
        "log-odds of belonging to class 1 rather than class 2 is linear in the unit's covariate "
        "v (class[C1], class[C1:v]). Fitted from several random starts.",
        "latent_class",
        "class_regression.csv",
        "C ~~ classes(2); C =~ y1 + y2 + y3 + y4 + y5 + y6; C ~ v",
        "binomial",
        truth=TRUTH["class_regression"],
    ),
)
