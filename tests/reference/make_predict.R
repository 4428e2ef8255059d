## Reference for glpp's predictions (issue 14), from lme4.
## Run from the repo root:  Rscript tests/reference/make_predict.R
## Reads model_library/data/sleepstudy.csv and writes tests/reference/predict.json: the ML fit
## (REML = FALSE) of reaction ~ days + (days | subject) and its predictions: conditional on the
## subjects' conditional modes (for a gaussian model with identity link these are the EB means
## glpp plugs in), and at the random effects' mean (re.form = NA: for an identity link, the
## marginal mean) for new rows, one of a subject not in the data (allow.new.levels = TRUE).
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })
d <- read.csv("model_library/data/sleepstudy.csv")
d$subject <- factor(d$subject)
slope <- lmer(reaction ~ days + (days | subject), data = d, REML = FALSE)
new <- data.frame(days = c(0, 4.5, 9), subject = factor(c("308", "999", "372")))
out <- list(
  package = "lme4", version = as.character(packageVersion("lme4")), r_version = R.version.string,
  calls = list(fit = "lmer(reaction ~ days + (days | subject), REML = FALSE)",
               conditional = "predict(fit)",
               new_conditional = "predict(fit, newdata = new, allow.new.levels = TRUE)",
               new_population = "predict(fit, newdata = new, re.form = NA)"),
  new = new,
  conditional = unname(predict(slope)),
  new_conditional = unname(predict(slope, newdata = new, allow.new.levels = TRUE)),
  new_population = unname(predict(slope, newdata = new, re.form = NA))
)
write_json(out, "tests/reference/predict.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
