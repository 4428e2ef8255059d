"""The two-level generalized linear mixed models."""

from __future__ import annotations

from model_library.entry import LibraryModel

__all__ = ["ENTRIES"]

TOENAIL = "outcome ~ treatment + month + trt_month + (1 | patient)"
TOENAIL_DESCRIPTION = (
    "A randomised trial of two oral treatments for toenail infection (De Backer et al. 1998; "
    "Lesaffre & Spiessens 2001): patients were examined at up to seven visits and the outcome "
    "is moderate or severe onycholysis. The random intercept of each patient captures the "
    "patients' differing risk; the treatment-by-month interaction is the difference in the "
    "rate of improvement. A known hard case for quadrature: many patients never or always "
    "have the outcome, so the Laplace approximation and few quadrature points are off."
)

ENTRIES: tuple[LibraryModel, ...] = (
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
