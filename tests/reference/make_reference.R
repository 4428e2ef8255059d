## Reference fits for glpp from established R packages.
## Run from the repo root:  Rscript tests/reference/make_reference.R
## Reads model_library/data/*.csv (built by tests/reference/make_data.R) and
## writes tests/reference/reference.json.
## Optional: Rscript tests/reference/make_reference.R case1 case2 ... updates
## only those cases in an existing reference.json.
suppressPackageStartupMessages({
  library(lme4); library(glmmTMB); library(lavaan); library(jsonlite)
})
ddir <- "model_library/data"
outf <- "tests/reference/reference.json"
rd <- function(f) read.csv(file.path(ddir, f))
only <- commandArgs(trailingOnly = TRUE)
res <- if (length(only) && file.exists(outf)) fromJSON(outf, simplifyVector = FALSE) else list()
want <- function(name) !length(only) || name %in% only

warn_of <- function(expr) {
  w <- character(0)
  t <- system.time(val <- withCallingHandlers(expr, warning = function(m) {
    w <<- c(w, conditionMessage(m)); invokeRestart("muffleWarning") }))
  list(val = val, time = unname(t["elapsed"]), warnings = w)
}

vc_lme4 <- function(fit) {
  v <- as.data.frame(VarCorr(fit))
  nm <- paste(v$grp, v$var1, v$var2, sep = ":")
  list(vcov = as.list(setNames(v$vcov, nm)), sdcor = as.list(setNames(v$sdcor, nm)))
}

lme4_case <- function(name, call_text, data_file, fun) {
  if (!want(name)) return(invisible())
  cat("fitting", name, "\n")
  d <- rd(data_file)
  r <- warn_of(fun(d))
  fit <- r$val
  ll <- logLik(fit)
  vc <- vc_lme4(fit)
  out <- list(package = "lme4", package_version = as.character(packageVersion("lme4")),
              call = call_text, data = data_file,
              loglik = as.numeric(ll), df = attr(ll, "df"), time_s = r$time,
              fixef = as.list(fixef(fit)), vcov = vc$vcov, sdcor = vc$sdcor)
  if (isLMM(fit)) out$sigma <- sigma(fit)
  if (isGLMM(fit)) out$nAGQ <- fit@devcomp$dims[["nAGQ"]]
  if (length(ranef(fit)) == 1 && ncol(ranef(fit)[[1]]) == 1) out$ranef <- ranef(fit)[[1]][, 1]
  if (isGLMM(fit) && out$nAGQ > 1) {
    ## lme4's logLik with nAGQ > 1 is computed from deviance residuals and leaves
    ## out the saturated model's log-likelihood, which is 0 only for 0/1 data.
    ## Record it so that the full log-likelihood is loglik + loglik_saturated_missing.
    y <- fit@resp$y; w <- fit@resp$weights
    sat <- switch(family(fit)$family,
      poisson = sum(dpois(y, y, log = TRUE)),
      binomial = sum(dbinom(round(y * w), w, y, log = TRUE)),
      0)
    out$loglik_saturated_missing <- sat
  }
  msgs <- c(r$warnings, fit@optinfo$conv$lme4$messages)
  out$singular <- isSingular(fit)
  if (length(msgs)) out$warnings <- unique(msgs)
  res[[name]] <<- out
  invisible(fit)
}

## ---------------------------------------------------------------- binary
for (lk in c("logit", "probit", "cloglog")) local({
  lk <- lk
  lme4_case(paste0("toenail_", lk),
    sprintf("glmer(outcome ~ treatment + month + trt_month + (1|patient), binomial(%s), nAGQ=30)", lk),
    "toenail.csv",
    function(d) glmer(outcome ~ treatment + month + trt_month + (1 | patient),
                      family = binomial(lk), data = d, nAGQ = 30))
})

## ---------------------------------------------------------------- counts
lme4_case("owls_poisson_offset",
  "glmer(SiblingNegotiation ~ FoodTreatment + ArrivalTime + offset(log_brood_size) + (1|Nest), poisson, nAGQ=30)",
  "owls.csv",
  function(d) glmer(SiblingNegotiation ~ FoodTreatment + ArrivalTime + offset(log_brood_size) + (1 | Nest),
                    family = poisson, data = d, nAGQ = 30))

if (want("cbpp_binomial_trials")) {
  lme4_case("cbpp_binomial_trials",
    "glmer(cbind(incidence, size - incidence) ~ period2 + period3 + period4 + (1|herd), binomial, nAGQ=30)",
    "cbpp.csv",
    function(d) glmer(cbind(incidence, size - incidence) ~ period2 + period3 + period4 + (1 | herd),
                      family = binomial, data = d, nAGQ = 30))
  d <- rd("cbpp.csv")
  res$cbpp_binomial_trials$note <- paste(
    "loglik includes the binomial coefficients log choose(size, incidence);",
    "their sum is given in lchoose_sum")
  res$cbpp_binomial_trials$lchoose_sum <- sum(lchoose(d$size, d$incidence))
}

## ---------------------------------------------------------------- LMMs
lme4_case("sleepstudy_slopes_ml", "lmer(reaction ~ days + (days|subject), REML=FALSE)",
  "sleepstudy.csv",
  function(d) lmer(reaction ~ days + (days | subject), data = d, REML = FALSE))
lme4_case("exam_slopes_ml", "lmer(normexam ~ standLRT + (standLRT|school), REML=FALSE)",
  "exam.csv",
  function(d) lmer(normexam ~ standLRT + (standLRT | school), data = d, REML = FALSE))
lme4_case("exam_slopes_uncorrelated",
  "lmer(normexam ~ standLRT + (1|school) + (0+standLRT|school), REML=FALSE)",
  "exam.csv",
  function(d) lmer(normexam ~ standLRT + (1 | school) + (0 + standLRT | school), data = d, REML = FALSE))
lme4_case("egsingle_3level",
  "lmer(math ~ year + black + hispanic + (1|schoolid/childid), REML=FALSE)",
  "egsingle.csv",
  function(d) lmer(math ~ year + black + hispanic + (1 | schoolid/childid), data = d, REML = FALSE))

## ---------------------------------------------------------------- Gamma
if (want("gamma_ri")) {
  cat("fitting gamma_ri\n")
  d <- rd("gamma_sim.csv")
  r <- warn_of(glmmTMB(y ~ x + (1 | cluster), family = Gamma(link = "log"), data = d))
  fit <- r$val
  ll <- logLik(fit)
  beta <- fixef(fit)$cond
  sd_u <- attr(VarCorr(fit)$cond$cluster, "stddev")[[1]]
  cv <- sigma(fit)                 # glmmTMB Gamma: sigma = 1/sqrt(shape) (coef. of variation)
  shape <- 1 / cv^2
  ## exact marginal log-likelihood at glmmTMB's estimates, per-cluster integrate()
  X <- cbind(1, d$x)
  eta0 <- drop(X %*% beta)
  llc <- sapply(split(seq_len(nrow(d)), d$cluster), function(i) {
    lf <- function(u) sapply(u, function(uu)
      sum(dgamma(d$y[i], shape = shape, scale = exp(eta0[i] + uu) / shape, log = TRUE)) +
        dnorm(uu, 0, sd_u, log = TRUE))
    mode <- optimize(lf, c(-10 * sd_u, 10 * sd_u), maximum = TRUE)$maximum
    c0 <- lf(mode)
    I <- integrate(function(u) exp(lf(u) - c0), mode - 12 * sd_u, mode + 12 * sd_u,
                   rel.tol = 1e-12, abs.tol = 0, subdivisions = 1000L)$value
    c0 + log(I)
  })
  res$gamma_ri <- list(
    package = "glmmTMB", package_version = as.character(packageVersion("glmmTMB")),
    call = "glmmTMB(y ~ x + (1|cluster), family=Gamma(link=\"log\"))",
    data = "gamma_sim.csv",
    loglik = as.numeric(ll), loglik_laplace = as.numeric(ll),
    loglik_exact_at_estimate = sum(llc),
    df = attr(ll, "df"), time_s = r$time,
    fixef = as.list(beta),
    vcov = list("cluster:(Intercept):NA" = sd_u^2),
    sdcor = list("cluster:(Intercept):NA" = sd_u),
    sigma = cv, shape = shape, dispersion = cv^2,
    note = paste("Laplace ML (glmmTMB). sigma is glmmTMB's Gamma sigma = 1/sqrt(shape)",
                 "= coefficient of variation; dispersion = 1/shape = sigma^2;",
                 "y ~ Gamma(shape, scale = mu/shape). loglik = loglik_laplace is maximised",
                 "Laplace loglik; loglik_exact_at_estimate is the exact marginal loglik",
                 "(per-cluster integrate()) at the Laplace estimates, not maximised."))
  if (length(r$warnings)) res$gamma_ri$warnings <- unique(r$warnings)
}

## ---------------------------------------------------------------- Laplace 3-level
gi_form <- immun ~ kid2p + mom25p + ord23 + ord46 + ord7p + ethnN + ethnS + momEdP + momEdS +
  husEdP + husEdS + husEdU + momWorkY + ruralY + pcInd81 + (1 | comm/mom)
## glmer's default optimizer pair (bobyqa then Nelder_Mead) stops early here
## (max|grad| ~ 0.33, loglik about 0.045 lower); bobyqa alone converges.
lme4_case("guimmun_3level_laplace",
  paste("glmer(", paste(deparse(gi_form, width.cutoff = 500), collapse = ""),
        ", binomial, control=glmerControl(optimizer=\"bobyqa\"))"),
  "guimmun.csv",
  function(d) glmer(gi_form, family = binomial, data = d,
                    control = glmerControl(optimizer = "bobyqa")))
if (want("guimmun_3level_laplace")) {
  d <- rd("guimmun.csv")
  r0 <- warn_of(glmer(gi_form, family = binomial, data = d))
  r1 <- warn_of(glmmTMB(gi_form, family = binomial, data = d))
  res$guimmun_3level_laplace$loglik_default_optimizer <- as.numeric(logLik(r0$val))
  res$guimmun_3level_laplace$time_s_default_optimizer <- r0$time
  res$guimmun_3level_laplace$warnings_default_optimizer <- unique(c(r0$warnings, r0$val@optinfo$conv$lme4$messages))
  res$guimmun_3level_laplace$loglik_glmmTMB <- as.numeric(logLik(r1$val))
  res$guimmun_3level_laplace$time_s_glmmTMB <- r1$time
  res$guimmun_3level_laplace$note <- paste(
    "Laplace. Reference fit uses optimizer=bobyqa (converged); glmer's default optimizer",
    "stops with a gradient warning at loglik_default_optimizer. loglik_glmmTMB is the same",
    "Laplace model fitted by glmmTMB.")
}

## Four levels (simulated, tests/reference/make_data.R): ids local to their parent
lme4_case("fourlevel_gaussian",
  "lmer(y ~ x + (1|region/school/class), REML=FALSE)",
  "fourlevel.csv",
  function(d) lmer(y ~ x + (1 | region/school/class), data = d, REML = FALSE))
lme4_case("fourlevel_binary_laplace",
  "glmer(yb ~ x + (1|region/school/class), binomial, control=glmerControl(optimizer=\"bobyqa\"))",
  "fourlevel.csv",
  function(d) glmer(yb ~ x + (1 | region/school/class), family = binomial, data = d,
                    control = glmerControl(optimizer = "bobyqa")))

lme4_case("poisson3_laplace",
  "glmer(y ~ x + offset(log(exposure)) + (1|l3) + (1 + x|l3:l2), poisson)",
  "poisson3.csv",
  function(d) glmer(y ~ x + offset(log(exposure)) + (1 | l3) + (1 + x | l3:l2),
                    family = poisson, data = d))

## ---------------------------------------------------------------- VerbAgg
lme4_case("verbagg_lltm_logit",
  "glmer(r2 ~ anger+male+do+self+scold+shout + (1|id), binomial, nAGQ=15)",
  "verbagg.csv",
  function(d) glmer(r2 ~ anger + male + do + self + scold + shout + (1 | id),
                    family = binomial, data = d, nAGQ = 15))
lme4_case("verbagg_rasch",
  "glmer(r2 ~ 0 + factor(item) + (1|id), binomial, nAGQ=15)",
  "verbagg.csv",
  function(d) glmer(r2 ~ 0 + factor(item) + (1 | id), family = binomial, data = d, nAGQ = 15))
if (want("verbagg_rasch")) res$verbagg_rasch$note <- paste(
  "Same call as the starter reference; lme4 stops with a convergence warning.",
  "verbagg_rasch_bobyqa is the converged fit of the same model (about 0.003 higher).")
lme4_case("verbagg_rasch_bobyqa",
  "glmer(r2 ~ 0 + factor(item) + (1|id), binomial, nAGQ=15, control=glmerControl(optimizer=\"bobyqa\"))",
  "verbagg.csv",
  function(d) glmer(r2 ~ 0 + factor(item) + (1 | id), family = binomial, data = d, nAGQ = 15,
                    control = glmerControl(optimizer = "bobyqa")))

## ---------------------------------------------------------------- lavaan
lav_case <- function(name, fun_name, model, data_file, extra_args = list(), call_extra = "") {
  if (!want(name)) return(invisible())
  cat("fitting", name, "\n")
  d <- rd(data_file)
  args <- c(list(model = model, data = d), extra_args)
  r <- warn_of(do.call(fun_name, args))
  fit <- r$val
  ll <- logLik(fit)
  pe <- parameterEstimates(fit)
  nm <- paste(pe$lhs, pe$op, pe$rhs)
  if (!is.null(pe$level)) nm <- ifelse(is.na(pe$level), nm, paste0(nm, " [level ", pe$level, "]"))
  out <- list(package = "lavaan", package_version = as.character(packageVersion("lavaan")),
              call = sprintf("%s(model, data, %s)   model: %s", fun_name, call_extra,
                             gsub("\n", "; ", trimws(model))),
              model = model, data = data_file,
              loglik = as.numeric(ll), df = attr(ll, "df"), time_s = r$time,
              converged = lavInspect(fit, "converged"),
              est = as.list(setNames(pe$est, nm)), se = as.list(setNames(pe$se, nm)))
  if (length(r$warnings)) out$warnings <- unique(r$warnings)
  res[[name]] <<- out
  invisible(fit)
}

hz3 <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
lav_case("holzinger_cfa3", "cfa", hz3, "holzinger.csv",
         list(meanstructure = TRUE), "meanstructure=TRUE")
lav_case("holzinger_cfa1_mean", "cfa", "visual =~ x1 + x2 + x3", "holzinger.csv",
         list(meanstructure = TRUE), "meanstructure=TRUE")
lav_case("holzinger_cfa3_stdlv", "cfa", hz3, "holzinger.csv",
         list(meanstructure = TRUE, std.lv = TRUE), "meanstructure=TRUE, std.lv=TRUE")
mimic <- paste0(hz3, "\nvisual ~ female + ageyr\ntextual ~ female + ageyr\nspeed ~ female + ageyr")
fit_mimic <- lav_case("holzinger_mimic", "sem", mimic, "holzinger.csv",
         list(meanstructure = TRUE), "meanstructure=TRUE (fixed.x=TRUE default)")
if (want("holzinger_mimic")) {
  ## lavaan's fixed.x loglik is the conditional loglik of y given x (checked: adding the
  ## saturated normal loglik of (female, ageyr) gives the fixed.x=FALSE loglik).
  d <- rd("holzinger.csv"); X <- as.matrix(d[, c("female", "ageyr")])
  S <- cov(X) * (nrow(X) - 1) / nrow(X)
  llx <- sum(apply(sweep(X, 2, colMeans(X)), 1, function(z)
    -0.5 * (length(z) * log(2 * pi) + log(det(S)) + drop(t(z) %*% solve(S, z)))))
  res$holzinger_mimic$loglik_x_saturated <- llx
  res$holzinger_mimic$loglik_joint <- res$holzinger_mimic$loglik + llx
  res$holzinger_mimic$note <- paste(
    "fixed.x=TRUE: df counts only the y-model parameters (36); lavaan's loglik is",
    "the conditional log f(y|x) (joint minus the saturated normal loglik of the x's).",
    "loglik_joint = loglik + loglik_x_saturated equals the fixed.x=FALSE loglik (df 41).")
}

pd_base <- "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem65 =~ y5 + y6 + y7 + y8\ndem60 ~ ind60\ndem65 ~ ind60 + dem60"
pd_cov <- "y1 ~~ y5\ny2 ~~ y4 + y6\ny3 ~~ y7\ny4 ~~ y8\ny6 ~~ y8"
lav_case("political_democracy", "sem", paste(pd_base, pd_cov, sep = "\n"),
         "political_democracy.csv", list(meanstructure = TRUE), "meanstructure=TRUE")
lav_case("political_democracy_nocov", "sem", pd_base,
         "political_democracy.csv", list(meanstructure = TRUE), "meanstructure=TRUE")
lav_case("demo_twolevel", "sem",
         "level: 1\nfw =~ y1 + y2 + y3\nlevel: 2\nfb =~ y1 + y2 + y3",
         "demo_twolevel.csv", list(cluster = "cluster"), "cluster=\"cluster\"")

## A latent depending on a latent of the level above (glpp: 'fw ~ fb' with fw at the
## units, fb at the clusters). lavaan has no such path between its levels; the same
## model is fb loading on y1-y3 at the between level with loadings b * (within
## loadings of fw) and no other between variance of y1-y3. Simulated truth: loadings
## fw 1, .8, 1.2, fb 1, .8, .9, path 0.7, var(fb) 0.5, var(zeta_fw) 1, within
## residual SDs .7 (y1-y3) and .8 (y4-y6), between residual SDs .45 (y4-y6).
crosslevel <- paste(
  "level: 1", "fw =~ y1 + a2*y2 + a3*y3", "y4 ~~ y4", "y5 ~~ y5", "y6 ~~ y6",
  "level: 2", "fb =~ y4 + y5 + y6 + b*y1 + c2*y2 + c3*y3",
  "y1 ~~ 0*y1", "y2 ~~ 0*y2", "y3 ~~ 0*y3", "c2 == a2*b", "c3 == a3*b", sep = "\n")
lav_case("crosslevel_path", "sem", crosslevel, "crosslevel.csv",
         list(cluster = "cluster"), "cluster=\"cluster\"")
## Factors at two levels of long data (glpp: 'y ~ 0 + item', 'fw@unit =~ item',
## 'fb@cluster =~ item'): one residual variance for all items, no between residuals
items6 <- "y1 + y2 + y3 + y4 + y5 + y6"
twolevel_long <- paste(
  "level: 1", paste("fw =~", items6),
  paste0("y", 1:6, " ~~ e*y", 1:6, collapse = "\n"),
  "level: 2", paste("fb =~", items6),
  paste0("y", 1:6, " ~~ 0*y", 1:6, collapse = "\n"), sep = "\n")
lav_case("crosslevel_long_factors", "sem", twolevel_long, "crosslevel.csv",
         list(cluster = "cluster"), "cluster=\"cluster\"")

res$`_meta` <- list(R = R.version.string, created = format(Sys.time(), tz = "UTC", usetz = TRUE),
                    machine = paste(Sys.info()[["sysname"]], Sys.info()[["machine"]],
                                    parallel::detectCores(), "cores"),
                    note = "time_s = system.time(...)['elapsed'] of the fit call only")
write_json(res, outf, auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat("wrote", outf, "\n")
