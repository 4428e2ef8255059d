## Reference fit for glpp's NPML model (a random intercept with a discrete distribution of
## free mass points), from flexmix.
## Run from the repo root:  Rscript tests/reference/make_npml.R
## Reads model_library/data/toenail.csv and writes tests/reference/npml.json.
##
## glpp: outcome ~ treatment * month + (1 | patient); patient ~~ masspoints(4). flexmix fits
## the same likelihood as a mixture over patients of logistic regressions whose intercepts
## differ by component and whose slopes are common (FLXMRglmfix's fixed part). Four points is
## where glpp's masspoints("auto") stops (the Gateaux derivative is nowhere positive); one of
## them runs off to minus infinity (the patients who never had the outcome), which flexmix's
## EM follows to a large negative intercept, so its EM runs to a tight tolerance and keeps
## every component (minprior = 0).
suppressPackageStartupMessages({
  library(flexmix); library(jsonlite)
})
ddir <- "model_library/data"
outf <- "tests/reference/npml.json"
toenail <- read.csv(file.path(ddir, "toenail.csv"))

n_points <- 4
set.seed(20261210)
elapsed <- system.time(fit <- stepFlexmix(
  cbind(outcome, 1 - outcome) ~ 1 | patient, data = toenail, k = n_points,
  model = FLXMRglmfix(fixed = ~ treatment + month + treatment:month, family = "binomial"),
  nrep = 20, verbose = FALSE, control = list(minprior = 0, tolerance = 1e-10, iter.max = 5000)))["elapsed"]
ll <- logLik(fit)
coefficients <- parameters(fit)
by_size <- order(fit@prior, decreasing = TRUE)
slopes <- coefficients[c("coef.treatment", "coef.month", "coef.treatment:month"), 1]
res <- list()
res$toenail_npml <- list(
  package = "flexmix", package_version = as.character(packageVersion("flexmix")),
  call = paste0(
    "stepFlexmix(cbind(outcome, 1 - outcome) ~ 1 | patient, k = ", n_points, ", model = ",
    "FLXMRglmfix(fixed = ~ treatment + month + treatment:month, family = \"binomial\"), nrep = 20, ",
    "control = list(minprior = 0, tolerance = 1e-10, iter.max = 5000))"),
  data = "toenail.csv", loglik = as.numeric(ll), df = attr(ll, "df"), time_s = unname(elapsed),
  n_points = n_points, converged = fit@converged, iterations = fit@iter,
  fixef = as.list(setNames(slopes, c("treatment", "month", "treatment:month"))),
  prior = fit@prior[by_size],
  intercepts = unname(coefficients["coef.(Intercept)", by_size]))

res$`_meta` <- list(R = R.version.string, created = format(Sys.time(), tz = "UTC", usetz = TRUE),
                    machine = paste(Sys.info()[["sysname"]], Sys.info()[["machine"]],
                                    parallel::detectCores(), "cores"),
                    note = paste("time_s = system.time(...)['elapsed'] of the stepFlexmix call only;",
                                 "prior and intercepts: the components, largest first"))
write_json(res, outf, auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat("wrote", outf, "\n")
