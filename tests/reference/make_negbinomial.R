## Reference fit for glpp's negative binomial (NB2) family, from glmmTMB.
## Run from the repo root:  Rscript tests/reference/make_negbinomial.R
## Reads model_library/data/owls.csv and writes tests/reference/negbinomial.json.
## JSON conventions as in tests/reference/make_reference.R.
suppressPackageStartupMessages({
  library(glmmTMB); library(jsonlite)
})
ddir <- "model_library/data"
outf <- "tests/reference/negbinomial.json"
owls <- read.csv(file.path(ddir, "owls.csv"))

warn_of <- function(expr) {
  w <- character(0)
  t <- system.time(val <- withCallingHandlers(expr, warning = function(m) {
    w <<- c(w, conditionMessage(m)); invokeRestart("muffleWarning") }))
  list(val = val, time = unname(t["elapsed"]), warnings = w)
}

cat("fitting owls_nbinom2\n")
r <- warn_of(glmmTMB(SiblingNegotiation ~ FoodTreatment + ArrivalTime + offset(log_brood_size) + (1 | Nest),
                     family = nbinom2, data = owls))
fit <- r$val
ll <- logLik(fit)
beta <- fixef(fit)$cond
se <- sqrt(diag(vcov(fit)$cond))
sd_u <- attr(VarCorr(fit)$cond$Nest, "stddev")[[1]]
size <- sigma(fit)   # glmmTMB nbinom2: sigma = theta (size), Var = mu + mu^2/theta

## exact marginal log-likelihood at glmmTMB's estimates (per-Nest integrate()),
## to show how far the Laplace value is from the integral it approximates
X <- model.matrix(~ FoodTreatment + ArrivalTime, owls)
eta0 <- drop(X %*% beta[colnames(X)]) + owls$log_brood_size
llc <- sapply(split(seq_len(nrow(owls)), owls$Nest), function(i) {
  lf <- function(u) sapply(u, function(uu)
    sum(dnbinom(owls$SiblingNegotiation[i], size = size, mu = exp(eta0[i] + uu), log = TRUE)) +
      dnorm(uu, 0, sd_u, log = TRUE))
  mode <- optimize(lf, c(-10 * sd_u, 10 * sd_u), maximum = TRUE, tol = 1e-10)$maximum
  c0 <- lf(mode)
  I <- integrate(function(u) exp(lf(u) - c0), mode - 12 * sd_u, mode + 12 * sd_u,
                 rel.tol = 1e-12, abs.tol = 0, subdivisions = 1000L)$value
  c0 + log(I)
})

res <- list(owls_nbinom2 = list(
  package = "glmmTMB", package_version = as.character(packageVersion("glmmTMB")),
  call = paste("glmmTMB(SiblingNegotiation ~ FoodTreatment + ArrivalTime + offset(log_brood_size)",
               "+ (1 | Nest), family = nbinom2, data = owls)"),
  data = "owls.csv",
  loglik = as.numeric(ll), loglik_laplace = as.numeric(ll),
  loglik_exact_at_estimate = sum(llc),
  df = attr(ll, "df"), time_s = r$time,
  fixef = as.list(beta), fixef_se = as.list(se),
  vcov = list("Nest:(Intercept):NA" = sd_u^2),
  sdcor = list("Nest:(Intercept):NA" = sd_u),
  sd_Nest = sd_u, size = size, sigma = size,
  convergence = fit$fit$convergence, convergence_message = fit$fit$message,
  pdHess = fit$sdr$pdHess,
  note = paste("Laplace ML (glmmTMB). NB2: y ~ NegBin(size, mu), Var = mu + mu^2/size;",
               "size = glmmTMB's sigma(fit) for nbinom2 (theta). loglik = loglik_laplace is the",
               "maximised Laplace loglik; loglik_exact_at_estimate is the exact marginal loglik",
               "(per-Nest integrate()) at the Laplace estimates, not maximised.")))
if (length(r$warnings)) res$owls_nbinom2$warnings <- unique(r$warnings)

res$`_meta` <- list(R = R.version.string, created = format(Sys.time(), tz = "UTC", usetz = TRUE),
                    machine = paste(Sys.info()[["sysname"]], Sys.info()[["machine"]],
                                    parallel::detectCores(), "cores"),
                    note = "time_s = system.time(...)['elapsed'] of the fit call only")
write_json(res, outf, auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat("wrote", outf, "\n")
