## Reference for glpp's boundary-avoiding MAP prior, from blme (Chung et al. 2013).
## Run from the repo root:  Rscript tests/reference/make_blme.R
## Reads model_library/data/singular_intercept.csv (eight clusters of ten, a random intercept
## with a tiny SD, simulated by tests/test_map.py's seed) and writes tests/reference/blme.json:
## lmer's ML fit (singular) and blmer's with cov.prior = gamma(shape = 2, rate = 0) on the SD.
suppressPackageStartupMessages({ library(blme); library(jsonlite) })
d <- read.csv("model_library/data/singular_intercept.csv")
d$g <- factor(d$g)
ml <- lmer(y ~ x + (1 | g), data = d, REML = FALSE)
t <- system.time(map <- blmer(y ~ x + (1 | g), data = d, REML = FALSE,
                              cov.prior = gamma(shape = 2, rate = 0, posterior.scale = "sd", common.scale = FALSE)))
sd_of <- function(fit) attr(VarCorr(fit)$g, "stddev")[[1]]
out <- list(
  singular_ml = list(package = "lme4", call = "lmer(y ~ x + (1 | g), REML = FALSE)",
                     loglik = as.numeric(logLik(ml)), sd = sd_of(ml), sigma = sigma(ml),
                     fixef = as.list(fixef(ml))),
  singular_blme_gamma = list(package = "blme",
                             call = "blmer(y ~ x + (1 | g), REML = FALSE, cov.prior = gamma(shape = 2, rate = 0, posterior.scale = 'sd', common.scale = FALSE))",
                             loglik = as.numeric(logLik(map)), sd = sd_of(map), sigma = sigma(map),
                             fixef = as.list(fixef(map)), time_s = unname(t["elapsed"]))
)
## a GLMM by the Laplace approximation (blme's default for bglmer): toenail with the gamma prior
toe <- read.csv("model_library/data/toenail.csv")
toe$patient <- factor(toe$patient)
t <- system.time(bt <- bglmer(outcome ~ treatment + month + trt_month + (1 | patient), data = toe,
                              family = binomial, cov.prior = gamma(shape = 2, rate = 0, posterior.scale = "sd"),
                              control = glmerControl(optimizer = "Nelder_Mead")))
out$toenail_bglmer_gamma <- list(package = "blme", call = "bglmer(outcome ~ treatment + month + trt_month + (1 | patient), binomial, cov.prior = gamma(shape = 2, rate = 0, posterior.scale = 'sd'), control = glmerControl(optimizer = 'Nelder_Mead')) (Laplace)",
                                 loglik = as.numeric(logLik(bt)), sd = attr(VarCorr(bt)$patient, "stddev")[[1]],
                                 fixef = as.list(fixef(bt)), time_s = unname(t["elapsed"]))
write_json(out, "tests/reference/blme.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
