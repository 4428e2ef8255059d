## Reference fits for glpp's ordinal family and dispersion regressions.
## Run from the repo root:  Rscript tests/reference/make_ordinal.R
## Reads model_library/data/{wine,verbagg,exam}.csv, writes tests/reference/ordinal.json.
## ordinal::clmm (adaptive Gauss-Hermite, nAGQ points) for cumulative-link mixed models;
## glmmTMB (Laplace, exact for a gaussian response) for the heteroscedastic exam model.
## clmm's thresholds are tau_k with P(y <= k) = F(tau_k - eta), as glpp's.
suppressPackageStartupMessages({
  library(ordinal); library(glmmTMB); library(jsonlite)
})
ddir <- "model_library/data"
outf <- "tests/reference/ordinal.json"

timed <- function(expr) {
  w <- character(0)
  t <- system.time(val <- withCallingHandlers(expr, warning = function(m) {
    w <<- c(w, conditionMessage(m)); invokeRestart("muffleWarning") }))
  list(val = val, time = unname(t["elapsed"]), warnings = unique(w))
}

clmm_entry <- function(call_text, r, data_file, group) {
  fit <- r$val
  ll <- logLik(fit)
  se <- sqrt(diag(vcov(fit)))
  out <- list(package = "ordinal", package_version = as.character(packageVersion("ordinal")),
              call = call_text, data = data_file,
              loglik = as.numeric(ll), df = attr(ll, "df"), time_s = r$time,
              beta = as.list(fit$beta), beta_se = as.list(se[names(fit$beta)]),
              thresholds = as.list(fit$alpha), thresholds_se = as.list(se[names(fit$alpha)]),
              sd = unname(attr(VarCorr(fit)[[group]], "stddev")))
  if (length(r$warnings)) out$warnings <- r$warnings
  out
}

wine <- read.csv(file.path(ddir, "wine.csv"))
wine$rating <- factor(wine$rating, ordered = TRUE)
wine$judge <- factor(wine$judge)
verbagg <- read.csv(file.path(ddir, "verbagg.csv"))
verbagg$resp <- factor(verbagg$resp, ordered = TRUE)
verbagg$id <- factor(verbagg$id)
exam <- read.csv(file.path(ddir, "exam.csv"))
exam$school <- factor(exam$school)

res <- list()
for (lk in c("logit", "probit")) {
  cat("fitting wine", lk, "\n")
  r <- timed(clmm(rating ~ warm + contact + (1 | judge), data = wine, link = lk, nAGQ = 20))
  res[[paste0("wine_ordinal_", lk)]] <- clmm_entry(
    sprintf("clmm(rating ~ warm + contact + (1 | judge), data = wine, link = '%s', nAGQ = 20)", lk),
    r, "wine.csv", "judge")
}
cat("fitting verbagg\n")
r <- timed(clmm(resp ~ anger + male + do + self + scold + shout + (1 | id), data = verbagg,
                link = "logit", nAGQ = 15))
res$verbagg_ordinal_logit <- clmm_entry(
  "clmm(resp ~ anger + male + do + self + scold + shout + (1 | id), data = verbagg, link = 'logit', nAGQ = 15)",
  r, "verbagg.csv", "id")

cat("fitting exam heteroscedastic\n")
r <- timed(glmmTMB(normexam ~ standLRT + (1 | school), dispformula = ~ male, data = exam))
fit <- r$val
ll <- logLik(fit)
disp <- fixef(fit)$disp
res$exam_heteroscedastic <- list(
  package = "glmmTMB", package_version = as.character(packageVersion("glmmTMB")),
  call = "glmmTMB(normexam ~ standLRT + (1 | school), dispformula = ~ male, data = exam)",
  data = "exam.csv", loglik = as.numeric(ll), df = attr(ll, "df"), time_s = r$time,
  fixef = as.list(fixef(fit)$cond), disp_log_variance = as.list(disp),
  log_sigma = as.list(disp / 2),
  sd_school = unname(attr(VarCorr(fit)$cond$school, "stddev")),
  note = "glmmTMB's gaussian dispformula is on log(variance); log_sigma = disp / 2 (log SD).")
if (length(r$warnings)) res$exam_heteroscedastic$warnings <- r$warnings

res$`_meta` <- list(R = R.version.string, created = format(Sys.time(), tz = "UTC", usetz = TRUE),
                    machine = paste(Sys.info()[["sysname"]], Sys.info()[["machine"]],
                                    parallel::detectCores(), "cores"),
                    note = "time_s = system.time(...)['elapsed'] of the fit call only")
write_json(res, outf, auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat("wrote", outf, "\n")
