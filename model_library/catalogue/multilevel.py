"""Models with three and more nested levels."""

from __future__ import annotations

from model_library.entry import LibraryModel

__all__ = ["ENTRIES"]

FOURLEVEL_DESCRIPTION = (
    "Simulated pupils in classes in schools in regions (tests/reference/make_data.R), with a "
    "random intercept at each of the three levels above the pupils; "
)

ENTRIES: tuple[LibraryModel, ...] = (
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
