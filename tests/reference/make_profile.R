## Reference for glpp's likelihood-ratio tests and profile intervals (issue 14), from lme4.
## Run from the repo root:  Rscript tests/reference/make_profile.R
## Reads model_library/data/sleepstudy.csv and writes tests/reference/profile.json:
## ML fits (REML = FALSE) of Reaction ~ Days + (Days | Subject) and (1 | Subject),
## anova()'s likelihood-ratio statistic, and confint(method = "profile") of the larger fit
## (.sig01 = SD of the intercept, .sig02 = correlation, .sig03 = SD of Days, .sigma);
## the profile intervals of lmer's singular fit of model_library/data/singular_intercept.csv
## (SD estimated at 0), and of glm()'s logistic regression on the toenail data (confint.glm:
## profile likelihood, as MASS computes it), and of glmer's random-intercept logit on the toenail
## data (30 adaptive quadrature points) for the SD and one fixed effect.
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })
d <- read.csv("model_library/data/sleepstudy.csv")
d$subject <- factor(d$subject)
slope <- lmer(reaction ~ days + (days | subject), data = d, REML = FALSE)
intercept <- lmer(reaction ~ days + (1 | subject), data = d, REML = FALSE)
table <- anova(intercept, slope)
profile_ci <- confint(slope, method = "profile", level = 0.95, oldNames = FALSE)
wald_ci <- confint(slope, method = "Wald", level = 0.95)
as_rows <- function(ci) lapply(setNames(seq_len(nrow(ci)), rownames(ci)), function(k) unname(ci[k, ]))
out <- list(
  package = "lme4", version = as.character(packageVersion("lme4")),
  r_version = R.version.string,
  calls = list(slope = "lmer(reaction ~ days + (days | subject), REML = FALSE)",
               intercept = "lmer(reaction ~ days + (1 | subject), REML = FALSE)",
               anova = "anova(intercept, slope)",
               profile = "confint(slope, method = 'profile', level = 0.95, oldNames = FALSE)",
               wald = "confint(slope, method = 'Wald', level = 0.95)"),
  loglik = list(slope = as.numeric(logLik(slope)), intercept = as.numeric(logLik(intercept))),
  lrt = list(statistic = table$Chisq[2], df = table$Df[2], p_chi2 = table$`Pr(>Chisq)`[2]),
  profile = as_rows(profile_ci),
  wald_fixed = as_rows(wald_ci[c("(Intercept)", "days"), ])
)
singular_data <- read.csv("model_library/data/singular_intercept.csv")
singular_data$g <- factor(singular_data$g)
singular <- lmer(y ~ x + (1 | g), data = singular_data, REML = FALSE)
out$singular_profile <- as_rows(suppressWarnings(confint(singular, method = "profile", oldNames = FALSE)))
out$calls$singular <- "confint(lmer(y ~ x + (1 | g), REML = FALSE), method = 'profile', oldNames = FALSE)"
toenail <- read.csv("model_library/data/toenail.csv")
logistic <- glm(outcome ~ treatment + month + trt_month, family = binomial, data = toenail)
out$glm_profile <- as_rows(suppressMessages(confint(logistic)))
out$calls$glm <- "confint(glm(outcome ~ treatment + month + trt_month, family = binomial))"
toenail$patient <- factor(toenail$patient)
glmm <- glmer(outcome ~ treatment + month + trt_month + (1 | patient), family = binomial, data = toenail, nAGQ = 30)
out$glmm_profile <- as_rows(confint(glmm, method = "profile", parm = c(".sig01", "month")))
out$calls$glmm <- "confint(glmer(outcome ~ treatment + month + trt_month + (1 | patient), binomial, nAGQ = 30), method = 'profile', parm = c('.sig01', 'month'))"
write_json(out, "tests/reference/profile.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
