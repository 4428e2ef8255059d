## Reference fits for glpp's latent class models (discrete latents), from flexmix.
## Run from the repo root:  Rscript tests/reference/make_latent_classes.R
## Reads model_library/data/verbagg_wide.csv (24 dichotomised VerbAgg items, one row per
## person) and writes tests/reference/latent_classes.json: for k = 2 and 3 classes the best
## log-likelihood of stepFlexmix(nrep = 50) (many random EM starts) with its df and class
## sizes, and the elapsed time of stepFlexmix(nrep = 10) for k = 3 (the speed benchmark).
suppressPackageStartupMessages({
  library(flexmix); library(jsonlite)
})
ddir <- "model_library/data"
outf <- "tests/reference/latent_classes.json"
wide <- read.csv(file.path(ddir, "verbagg_wide.csv"))
items <- as.matrix(wide[, paste0("i", 1:24)])

res <- list()
for (k in 2:3) {
  set.seed(20261201 + k)
  t <- system.time(fit <- stepFlexmix(items ~ 1, k = k, model = FLXMCmvbinary(), nrep = 50,
                                      verbose = FALSE))
  ll <- logLik(fit)
  prior <- sort(parameters(fit, which = "concomitant") |> (\(x) fit@prior)(), decreasing = TRUE)
  res[[paste0("verbagg_lca", k)]] <- list(
    package = "flexmix", package_version = as.character(packageVersion("flexmix")),
    call = sprintf("stepFlexmix(items ~ 1, k = %d, model = FLXMCmvbinary(), nrep = 50)", k),
    data = "verbagg_wide.csv", loglik = as.numeric(ll), df = attr(ll, "df"),
    n_classes = k, prior = as.numeric(prior), time_s = unname(t["elapsed"]))
}
set.seed(1)
t10 <- system.time(stepFlexmix(items ~ 1, k = 3, model = FLXMCmvbinary(), nrep = 10, verbose = FALSE))
res$verbagg_lca3$time_nrep10_s <- unname(t10["elapsed"])

res$`_meta` <- list(R = R.version.string, created = format(Sys.time(), tz = "UTC", usetz = TRUE),
                    machine = paste(Sys.info()[["sysname"]], Sys.info()[["machine"]],
                                    parallel::detectCores(), "cores"),
                    note = "time_s = system.time(...)['elapsed'] of the stepFlexmix call only")
write_json(res, outf, auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat("wrote", outf, "\n")
