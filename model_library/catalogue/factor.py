"""Factor models and structural equations on wide data."""

from __future__ import annotations

from model_library.entry import LibraryModel

__all__ = ["ENTRIES"]

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

ENTRIES: tuple[LibraryModel, ...] = (
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
