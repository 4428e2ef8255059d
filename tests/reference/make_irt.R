## Reference fits for glpp's item response models on long VerbAgg data, from lme4.
## Run from the repo root:  Rscript tests/reference/make_irt.R
## Reads model_library/data/verbagg.csv (one row per answer) and writes
## tests/reference/irt.json. (The Rasch and LLTM references are in make_reference.R;
## the 2PL on wide data, which no R package here fits by quadrature, in make_2pl.py.)
suppressPackageStartupMessages({
  library(lme4); library(jsonlite)
})
ddir <- "model_library/data"
outf <- "tests/reference/irt.json"
verbagg <- read.csv(file.path(ddir, "verbagg.csv"))

## Uniform differential item functioning (De Boeck et al. 2011, J. Stat. Softw. 39(12)):
## male shifts every item (a difference in ability), male:do shifts the "do" items only (DIF).
## bobyqa in both stages: the default Nelder-Mead stage stops short on the VerbAgg Rasch model.
warnings_seen <- character(0)
elapsed <- system.time(fit <- withCallingHandlers(
  glmer(r2 ~ 0 + factor(item) + male + male:do + (1 | id), family = binomial, data = verbagg,
        nAGQ = 15, control = glmerControl(optimizer = "bobyqa")),
  warning = function(w) {
    warnings_seen <<- c(warnings_seen, conditionMessage(w)); invokeRestart("muffleWarning")
  }))["elapsed"]
ll <- logLik(fit)
coefficients <- summary(fit)$coefficients
res <- list()
res$verbagg_dif <- list(
  package = "lme4", package_version = as.character(packageVersion("lme4")),
  call = paste0("glmer(r2 ~ 0 + factor(item) + male + male:do + (1|id), binomial, nAGQ=15, ",
                "control=glmerControl(optimizer=\"bobyqa\"))"),
  data = "verbagg.csv", loglik = as.numeric(ll), df = attr(ll, "df"), time_s = unname(elapsed),
  fixef = as.list(fixef(fit)), se = as.list(setNames(coefficients[, "Std. Error"], rownames(coefficients))),
  sdcor = list(`id:(Intercept):NA` = attr(VarCorr(fit)$id, "stddev")[[1]]),
  nAGQ = fit@devcomp$dims[["nAGQ"]], singular = isSingular(fit))
messages <- unique(c(warnings_seen, fit@optinfo$conv$lme4$messages))
if (length(messages)) res$verbagg_dif$warnings <- messages

res$`_meta` <- list(R = R.version.string, created = format(Sys.time(), tz = "UTC", usetz = TRUE),
                    machine = paste(Sys.info()[["sysname"]], Sys.info()[["machine"]],
                                    parallel::detectCores(), "cores"),
                    note = "time_s = system.time(...)['elapsed'] of the fit call only")
write_json(res, outf, auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat("wrote", outf, "\n")
