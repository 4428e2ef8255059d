"""The library's models: each a model string on a data set of ``model_library/data/``, with the
R fit (or simulated truth) it reproduces.

Equations use ``i`` for the rows (occasions, items, pupils) and ``j``, ``k``, ... for the
clusters above them; ``u``, ``v`` are normal random effects, ``F`` factors.
"""

from __future__ import annotations

from model_library.entry import LibraryModel
from model_library.truth import TRUTH

__all__ = ["CATEGORIES", "MODELS"]

#: model type -> (short label for ``--list``, title of its documentation page)
CATEGORIES: dict[str, tuple[str, str]] = {
    "glmm": ("GLMM", "Generalized linear mixed models"),
    "multilevel": ("multilevel GLMM", "Three and more levels"),
    "ordinal": ("ordinal GLMM", "Ordinal responses"),
    "irt": ("IRT", "Item response models"),
    "factor": ("factor / SEM", "Factor models and structural equations"),
    "multilevel_factor": ("multilevel factor", "Multilevel factor models"),
    "latent_class": ("latent class", "Latent classes"),
    "mixed_response": ("mixed responses", "Mixed response types"),
}

TOENAIL = "outcome ~ treatment + month + trt_month + (1 | patient)"
TOENAIL_DESCRIPTION = (
    "A randomised trial of two oral treatments for toenail infection (De Backer et al. 1998; "
    "Lesaffre & Spiessens 2001): patients were examined at up to seven visits and the outcome "
    "is moderate or severe onycholysis. The random intercept of each patient captures the "
    "patients' differing risk; the treatment-by-month interaction is the difference in the "
    "rate of improvement. A known hard case for quadrature: many patients never or always "
    "have the outcome, so the Laplace approximation and few quadrature points are off."
)
HOLZINGER_CFA3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
HOLZINGER_DESCRIPTION = (
    "Mental ability tests of seventh- and eighth-grade children in two schools (Holzinger & "
    "Swineford 1939; lavaan's HolzingerSwineford1939): visual perception, cubes and lozenges "
    "(x1-x3), paragraph comprehension, sentence completion and word meaning (x4-x6), and "
    "speeded addition, counting and discrimination (x7-x9). "
)
DEMOCRACY = (
    "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem65 =~ y5 + y6 + y7 + y8\n"
    "dem60 ~ ind60\ndem65 ~ ind60 + dem60"
)
DEMOCRACY_DESCRIPTION = (
    "Bollen's (1989) industrialisation and political democracy in developing countries "
    "(lavaan's PoliticalDemocracy): industrialisation in 1960 (ind60; GNP per capita, energy "
    "use, labour force in industry) and democracy in 1960 and 1965 (dem60, dem65; press "
    "freedom, freedom of opposition, fairness of elections, elected legislature), with "
    "democracy in 1965 regressed on democracy in 1960 and industrialisation. "
)
VERBAGG_DESCRIPTION = (
    "Verbal aggression (De Boeck & Wilson 2004; lme4's VerbAgg): persons answered whether "
    "they would (\"do\") or would want to (\"want\") curse, scold or shout in frustrating "
    "situations caused by themselves or by others; r2 is 1 for \"yes\" or \"perhaps\". "
)
LCA_ITEMS = " + ".join(f"i{j}" for j in range(1, 25))
FOURLEVEL_DESCRIPTION = (
    "Simulated pupils in classes in schools in regions (tests/reference/make_data.R), with a "
    "random intercept at each of the three levels above the pupils; "
)

_GLMM = (
    LibraryModel(
        "toenail",
        "Onychomycosis trial: random-intercept logistic regression",
        "logit P(outcome_ij = 1) = b0 + b1 treatment_j + b2 month_ij + b3 trt_month_ij + u_j,"
        "  u_j ~ N(0, sd[patient]^2)",
        TOENAIL_DESCRIPTION,
        "glmm",
        "toenail.csv",
        TOENAIL,
        "binomial",
        nip=30,
        reference="toenail_logit",
    ),
    LibraryModel(
        "toenail_probit",
        "Onychomycosis trial: random-intercept probit regression",
        "Phi^-1(P(outcome_ij = 1)) = b0 + b1 treatment_j + b2 month_ij + b3 trt_month_ij + u_j,"
        "  u_j ~ N(0, sd[patient]^2)",
        TOENAIL_DESCRIPTION + " Here with the probit link (Phi the standard normal CDF).",
        "glmm",
        "toenail.csv",
        TOENAIL,
        "binomial",
        "probit",
        nip=30,
        reference="toenail_probit",
    ),
    LibraryModel(
        "toenail_cloglog",
        "Onychomycosis trial: random-intercept complementary log-log regression",
        "log(-log(1 - P(outcome_ij = 1))) = b0 + b1 treatment_j + b2 month_ij + b3 trt_month_ij"
        " + u_j,  u_j ~ N(0, sd[patient]^2)",
        TOENAIL_DESCRIPTION + " Here with the complementary log-log link (a discrete-time "
        "proportional hazards model for the onset of the outcome).",
        "glmm",
        "toenail.csv",
        TOENAIL,
        "binomial",
        "cloglog",
        nip=30,
        reference="toenail_cloglog",
    ),
    LibraryModel(
        "sleepstudy",
        "Reaction times under sleep deprivation: correlated random intercept and slope",
        "reaction_ij = b0 + b1 days_ij + u0_j + u1_j days_ij + e_ij,  (u0_j, u1_j) ~ N(0, Sigma),"
        "  e_ij ~ N(0, sigma^2)",
        "Average reaction times of subjects on each day of a sleep-deprivation study "
        "(Belenky et al. 2003; lme4's sleepstudy). Each subject has their own baseline and "
        "their own slope over days, correlated; fitted by ML (lme4's REML = FALSE).",
        "glmm",
        "sleepstudy.csv",
        "reaction ~ days + (days | subject)",
        reference="sleepstudy_slopes_ml",
    ),
    LibraryModel(
        "exam",
        "Inner-London exam scores: random intercept and slope of the intake score by school",
        "normexam_ij = b0 + b1 standLRT_ij + u0_j + u1_j standLRT_ij + e_ij,"
        "  (u0_j, u1_j) ~ N(0, Sigma),  e_ij ~ N(0, sigma^2)",
        "Normalised GCSE exam scores of pupils in inner-London schools (Goldstein et al. 1993; "
        "mlmRev's Exam) against their London Reading Test score at intake (standLRT). Schools "
        "differ in their mean and in how strongly intake predicts the exam; the two effects "
        "are correlated.",
        "glmm",
        "exam.csv",
        "normexam ~ standLRT + (standLRT | school)",
        reference="exam_slopes_ml",
    ),
    LibraryModel(
        "exam_uncorrelated",
        "Inner-London exam scores: independent random intercept and slope",
        "normexam_ij = b0 + b1 standLRT_ij + u0_j + u1_j standLRT_ij + e_ij,"
        "  u0_j ~ N(0, sd0^2),  u1_j ~ N(0, sd1^2) independent,  e_ij ~ N(0, sigma^2)",
        "The exam model with the school intercepts and slopes uncorrelated: lme4's "
        "(1 | school) + (0 + standLRT | school), two terms of the same grouping.",
        "glmm",
        "exam.csv",
        "normexam ~ standLRT + (1 | school) + (0 + standLRT | school)",
        reference="exam_slopes_uncorrelated",
    ),
    LibraryModel(
        "exam_heteroscedastic",
        "Inner-London exam scores: residual SD that differs between boys and girls",
        "normexam_ij = b0 + b1 standLRT_ij + u_j + e_ij,  u_j ~ N(0, sd[school]^2),"
        "  log sd(e_ij) = a0 + a1 male_ij",
        "The exam data with a random school intercept and a dispersion regression: the log of "
        "the residual SD is linear in the pupil's sex (dispersion=\"~ male\"; glmmTMB's "
        "dispformula, which is on the log variance).",
        "glmm",
        "exam.csv",
        "normexam ~ standLRT + (1 | school)",
        options={"dispersion": "~ male"},
        reference="exam_heteroscedastic",
        reference_file="ordinal.json",
    ),
    LibraryModel(
        "owls",
        "Barn owl sibling negotiation: Poisson GLMM with a brood-size offset",
        "log E[SiblingNegotiation_ij] = log(BroodSize_j) + b0 + b1 FoodTreatment_ij"
        " + b2 ArrivalTime_ij + u_j,  u_j ~ N(0, sd[Nest]^2)",
        "Calls of barn owl nestlings when a parent arrives at the nest (Roulin & Bersier 2007; "
        "glmmTMB's Owls), in nests given extra food or not; the count is per chick through "
        "the offset log(BroodSize), with a random intercept per nest.",
        "glmm",
        "owls.csv",
        "SiblingNegotiation ~ FoodTreatment + ArrivalTime + offset(log_brood_size) + (1 | Nest)",
        "poisson",
        nip=30,
        reference="owls_poisson_offset",
    ),
    LibraryModel(
        "owls_nbinom2",
        "Barn owl sibling negotiation: negative binomial (NB2) GLMM",
        "SiblingNegotiation_ij ~ NegBin(mu_ij, size),  Var = mu + mu^2 / size,"
        "  log mu_ij = log(BroodSize_j) + b0 + b1 FoodTreatment_ij + b2 ArrivalTime_ij + u_j",
        "The owl counts with the negative binomial's extra-Poisson variation (glmmTMB's "
        "nbinom2, whose sigma() is the size reported here), fitted by the Laplace "
        "approximation as glmmTMB does.",
        "glmm",
        "owls.csv",
        "SiblingNegotiation ~ FoodTreatment + ArrivalTime + offset(log_brood_size) + (1 | Nest)",
        "negbinomial",
        nip=1,
        reference="owls_nbinom2",
        reference_file="negbinomial.json",
    ),
    LibraryModel(
        "cbpp",
        "Contagious bovine pleuropneumonia: binomial GLMM with trials",
        "incidence_ij ~ Binomial(size_ij, p_ij),  logit p_ij = b0 + b1 period2_ij + b2 period3_ij"
        " + b3 period4_ij + u_j,  u_j ~ N(0, sd[herd]^2)",
        "New cases of contagious bovine pleuropneumonia in zebu herds in Ethiopia over four "
        "periods (Lesnoff et al. 2004; lme4's cbpp), out of the herd's size: binomial "
        "responses with trials, written cbind(successes, failures) as in R.",
        "glmm",
        "cbpp.csv",
        "cbind(incidence, size - incidence) ~ period2 + period3 + period4 + (1 | herd)",
        "binomial",
        nip=30,
        reference="cbpp_binomial_trials",
    ),
    LibraryModel(
        "gamma",
        "Simulated positive responses: gamma GLMM with a log link",
        "y_ij ~ Gamma(shape, mean mu_ij),  log mu_ij = b0 + b1 x_ij + u_j,  u_j ~ N(0, sd^2)",
        "Simulated data (tests/reference/make_data.R): a gamma response whose log mean has a "
        "random intercept per cluster; shape is the gamma shape parameter (glmmTMB reports "
        "1/sqrt(shape) as sigma). Fitted by the Laplace approximation as glmmTMB does.",
        "glmm",
        "gamma_sim.csv",
        "y ~ x + (1 | cluster)",
        "gamma",
        "log",
        nip=1,
        reference="gamma_ri",
    ),
)

_MULTILEVEL = (
    LibraryModel(
        "guimmun",
        "Guatemalan child immunisation: three-level random-intercept logit",
        "logit P(immun_ijk = 1) = x_ijk' b + u_jk + v_k,  u_jk ~ N(0, sd[comm:mom]^2),"
        "  v_k ~ N(0, sd[comm]^2)",
        "Full immunisation of children (i) of mothers (j) in communities (k) in Guatemala "
        "(Rodríguez & Goldman 2001; mlmRev's guImmun), on the child's age and birth order, "
        "the mother's age, ethnicity, education and work, the husband's education, rural "
        "residence and the community's proportion indigenous. Mothers with one to three "
        "children make the mothers' level a hard integral; the reference is lme4's Laplace "
        "fit, reproduced with nip=1 (nip=\"auto\" chooses the points of each level).",
        "multilevel",
        "guimmun.csv",
        "immun ~ kid2p + mom25p + ord23 + ord46 + ord7p + ethnN + ethnS + momEdP + momEdS"
        " + husEdP + husEdS + husEdU + momWorkY + ruralY + pcInd81 + (1 | comm/mom)",
        "binomial",
        nip=1,
        reference="guimmun_3level_laplace",
    ),
    LibraryModel(
        "egsingle",
        "Chicago math achievement: three-level growth model",
        "math_ijk = b0 + b1 year_ijk + b2 black_jk + b3 hispanic_jk + u_jk + v_k + e_ijk,"
        "  u_jk ~ N(0, sd[schoolid:childid]^2),  v_k ~ N(0, sd[schoolid]^2)",
        "Mathematics IRT scores of children (j) in Chicago public schools (k) over school "
        "years (i) (Bryk & Raudenbush; mlmRev's egsingle), with random intercepts of "
        "children and schools.",
        "multilevel",
        "egsingle.csv",
        "math ~ year + black + hispanic + (1 | schoolid/childid)",
        reference="egsingle_3level",
    ),
    LibraryModel(
        "poisson3",
        "Simulated counts with exposure: three levels, correlated random intercept and slope",
        "log E[y_ijk] = log(exposure_ijk) + b0 + b1 x_ijk + v_k + u0_jk + u1_jk x_ijk,"
        "  v_k ~ N(0, sd[l3]^2),  (u0_jk, u1_jk) ~ N(0, Sigma)",
        "Simulated Poisson counts (tests/reference/make_data.R) with an exposure offset, a "
        "random intercept of the top level (l3) and a correlated random intercept and slope "
        "of x at the middle level (l2 within l3, lme4's l3:l2). The reference is lme4's "
        "Laplace fit, reproduced with nip=1.",
        "multilevel",
        "poisson3.csv",
        "y ~ x + offset(log(exposure)) + (1 | l3) + (1 + x | l3:l2)",
        "poisson",
        nip=1,
        reference="poisson3_laplace",
    ),
    LibraryModel(
        "fourlevel",
        "Simulated pupils in classes in schools in regions: four-level linear model",
        "y_ijkl = b0 + b1 x_ijkl + u_jkl + v_kl + w_l + e_ijkl (classes j, schools k, regions l)",
        FOURLEVEL_DESCRIPTION + "a gaussian response, for which one quadrature point per level "
        "is exact.",
        "multilevel",
        "fourlevel.csv",
        "y ~ x + (1 | region/school/class)",
        reference="fourlevel_gaussian",
    ),
    LibraryModel(
        "fourlevel_binary",
        "Simulated pupils in classes in schools in regions: four-level logit",
        "logit P(yb_ijkl = 1) = b0 + b1 x_ijkl + u_jkl + v_kl + w_l",
        FOURLEVEL_DESCRIPTION + "a binary response. The reference is lme4's Laplace fit, "
        "reproduced with nip=1.",
        "multilevel",
        "fourlevel.csv",
        "yb ~ x + (1 | region/school/class)",
        "binomial",
        nip=1,
        reference="fourlevel_binary_laplace",
    ),
)

WINE = "rating ~ warm + contact + (1 | judge)"
WINE_DESCRIPTION = (
    "Bitterness of wine rated on a five-point scale by judges (Randall 1989; ordinal's wine), "
    "for wines pressed at a warm or cold temperature with or without skin contact. A "
    "cumulative-link mixed model as ordinal::clmm: thresholds tau_k between the categories "
    "and a random intercept per judge; the linear predictor has no intercept."
)
_ORDINAL = (
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
)

_IRT = (
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

_FACTOR = (
    LibraryModel(
        "holzinger_cfa",
        "Holzinger-Swineford: three-factor confirmatory factor analysis",
        "x_im = nu_m + lambda_m F_k(m),i + e_im,  (visual, textual, speed) ~ N(0, Psi),"
        "  e_im ~ N(0, sigma_m^2)",
        HOLZINGER_DESCRIPTION + "Three correlated factors, each measured by three tests, the "
        "first loading of each fixed at 1 (lavaan's cfa with meanstructure = TRUE).",
        "factor",
        "holzinger.csv",
        HOLZINGER_CFA3,
        reference="holzinger_cfa3",
    ),
    LibraryModel(
        "holzinger_cfa_stdlv",
        "Holzinger-Swineford: three-factor CFA with unit factor variances",
        "x_im = nu_m + lambda_m F_k(m),i + e_im,  (visual, textual, speed) ~ N(0, R),"
        " R a correlation matrix",
        HOLZINGER_DESCRIPTION + "The same model as holzinger_cfa with the scale set by the "
        "factor variances instead of the first loadings (std_lv=True, lavaan's std.lv = TRUE): "
        "every loading is free; the fit is the same.",
        "factor",
        "holzinger.csv",
        HOLZINGER_CFA3,
        options={"std_lv": True},
        reference="holzinger_cfa3_stdlv",
    ),
    LibraryModel(
        "holzinger_cfa1",
        "Holzinger-Swineford: one-factor model of the visual tests",
        "x_im = nu_m + lambda_m visual_i + e_im,  visual_i ~ N(0, sd[visual]^2)",
        HOLZINGER_DESCRIPTION + "One factor measured by the three visual tests (just "
        "identified: as many parameters as means, variances and covariances).",
        "factor",
        "holzinger.csv",
        "visual =~ x1 + x2 + x3",
        reference="holzinger_cfa1_mean",
    ),
    LibraryModel(
        "holzinger_mimic",
        "Holzinger-Swineford: MIMIC model (factors regressed on sex and age)",
        "x_im = nu_m + lambda_m F_k(m),i + e_im,  F_i = Gamma (female_i, ageyr_i)' + zeta_i,"
        "  zeta_i ~ N(0, Psi)",
        HOLZINGER_DESCRIPTION + "The three-factor model with each factor regressed on the "
        "child's sex and age (multiple indicators, multiple causes). As lavaan with "
        "fixed.x = TRUE, the log-likelihood is that of the tests given the covariates.",
        "factor",
        "holzinger.csv",
        HOLZINGER_CFA3 + "\nvisual ~ female + ageyr\ntextual ~ female + ageyr\nspeed ~ female + ageyr",
        reference="holzinger_mimic",
    ),
    LibraryModel(
        "political_democracy",
        "Bollen's political democracy: structural equations among latents, correlated residuals",
        "items: y_im = nu_m + lambda_m F_k(m),i + e_im;  dem60 = b1 ind60 + zeta1,"
        "  dem65 = b2 ind60 + b3 dem60 + zeta2;  Cov(e_y1, e_y5), ... free",
        DEMOCRACY_DESCRIPTION + "The residuals of the same indicator in both years, and of "
        "indicators from the same source, are correlated (y1 ~~ y5 and so on).",
        "factor",
        "political_democracy.csv",
        DEMOCRACY + "\ny1 ~~ y5\ny2 ~~ y4 + y6\ny3 ~~ y7\ny4 ~~ y8\ny6 ~~ y8",
        reference="political_democracy",
    ),
    LibraryModel(
        "political_democracy_nocov",
        "Bollen's political democracy: structural equations among latents",
        "items: y_im = nu_m + lambda_m F_k(m),i + e_im;  dem60 = b1 ind60 + zeta1,"
        "  dem65 = b2 ind60 + b3 dem60 + zeta2",
        DEMOCRACY_DESCRIPTION + "Without residual covariances: the items are independent "
        "given the latents.",
        "factor",
        "political_democracy.csv",
        DEMOCRACY,
        reference="political_democracy_nocov",
    ),
)

_MULTILEVEL_FACTOR = (
    LibraryModel(
        "demo_twolevel",
        "lavaan's Demo.twolevel: two-level factor model (within and between factors)",
        "y_mij = nu_m + lambda_m fw_ij + lambda'_m fb_j + r_mj + e_mij  (unit i, cluster j;"
        " r_mj the item's between-level residual)",
        "lavaan's simulated Demo.twolevel data: units in clusters, three items measured by a "
        "within-cluster factor fw and a between-cluster factor fb, each item with a random "
        "intercept over clusters (lavaan's between-level residual). lavaan's level blocks, "
        "with the level named by its grouping column.",
        "multilevel_factor",
        "demo_twolevel.csv",
        "level: 1\nfw =~ y1 + y2 + y3\nlevel: cluster\nfb =~ y1 + y2 + y3",
        reference="demo_twolevel",
    ),
    LibraryModel(
        "crosslevel",
        "Two-level factor model with a structural path between levels",
        "fw_ij = b fb_j + zeta_ij;  y1..y3 measure fw, y4..y6 measure fb",
        "Simulated units in clusters (tests/reference/make_data.R): the units' factor fw "
        "depends on their cluster's factor fb (a latent regressed on a latent of a higher "
        "level, gllamm's structural model). lavaan fits the same model as fb loading on fw's "
        "items with constrained loadings.",
        "multilevel_factor",
        "crosslevel.csv",
        "level: 1\nfw =~ y1 + y2 + y3\nfw ~ fb\nlevel: cluster\nfb =~ y4 + y5 + y6",
        reference="crosslevel_path",
    ),
)

_LATENT_CLASS = (
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
        f"C ~~ classes(2); C =~ {LCA_ITEMS}",
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
        f"C ~~ classes(3); C =~ {LCA_ITEMS}",
        "binomial",
        reference="verbagg_lca3",
        reference_file="latent_classes.json",
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
)

_MIXED_RESPONSE = (
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

MODELS: dict[str, LibraryModel] = {
    model.name: model
    for model in (
        *_GLMM, *_MULTILEVEL, *_ORDINAL, *_IRT, *_FACTOR, *_MULTILEVEL_FACTOR, *_LATENT_CLASS,
        *_MIXED_RESPONSE,
    )
}
