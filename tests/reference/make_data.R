## Builds the data sets in model_library/data/ (run from the repo root:
##   Rscript tests/reference/make_data.R)
## Starter sets (toenail, sleepstudy, exam, verbagg, verbagg_wide, holzinger,
## wine) are copied from the shared starter reference when that folder exists;
## the others are derived from R packages (glmmTMB, lme4, mlmRev, lavaan) or
## simulated with fixed seeds.  make_reference.R then reads only these CSVs.
out <- "model_library/data"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
wcsv <- function(d, f) write.csv(d, file.path(out, f), row.names = FALSE)

starter <- "/work/shared/reference/data"
for (f in c("toenail.csv", "sleepstudy.csv", "exam.csv", "verbagg.csv",
            "verbagg_wide.csv", "holzinger.csv", "wine.csv")) {
  if (file.exists(file.path(starter, f)))
    file.copy(file.path(starter, f), file.path(out, f), overwrite = TRUE)
}

ids <- function(f) as.integer(as.character(f))   # original numeric labels

## Owls (glmmTMB)
data("Owls", package = "glmmTMB")
o <- Owls
wcsv(data.frame(Nest = as.integer(o$Nest),
                SiblingNegotiation = o$SiblingNegotiation,
                FoodTreatment = as.integer(o$FoodTreatment == "Satiated"),
                ArrivalTime = o$ArrivalTime,
                BroodSize = o$BroodSize,
                log_brood_size = log(o$BroodSize)), "owls.csv")

## cbpp (lme4)
data("cbpp", package = "lme4")
cb <- cbpp
wcsv(data.frame(herd = ids(cb$herd), incidence = cb$incidence, size = cb$size,
                period = ids(cb$period),
                period2 = as.integer(cb$period == "2"),
                period3 = as.integer(cb$period == "3"),
                period4 = as.integer(cb$period == "4")), "cbpp.csv")

## Gamma, log link, random intercept (simulated)
set.seed(20240601)
nc <- 60; m <- 15
cl <- rep(seq_len(nc), each = m)
x <- round(rnorm(nc * m), 6)
u <- rnorm(nc, 0, 0.5)
mu <- exp(1 + 0.5 * x + u[cl])
shape <- 4
y <- rgamma(nc * m, shape = shape, scale = mu / shape)
wcsv(data.frame(cluster = cl, x = x, y = signif(y, 10)), "gamma_sim.csv")

## egsingle (mlmRev)
data("egsingle", package = "mlmRev")
eg <- egsingle
wcsv(data.frame(schoolid = ids(eg$schoolid), childid = ids(eg$childid),
                math = eg$math, year = eg$year,
                black = as.integer(eg$black == "1"),
                hispanic = as.integer(eg$hispanic == "1")), "egsingle.csv")

## guImmun (mlmRev)
data("guImmun", package = "mlmRev")
g <- guImmun
wcsv(data.frame(comm = ids(g$comm), mom = ids(g$mom), kid = ids(g$kid),
                immun = as.integer(g$immun == "Y"),
                kid2p = as.integer(g$kid2p == "Y"),
                mom25p = as.integer(g$mom25p == "Y"),
                ord23 = as.integer(g$ord == "23"),
                ord46 = as.integer(g$ord == "46"),
                ord7p = as.integer(g$ord == "7p"),
                ethnN = as.integer(g$ethn == "N"),
                ethnS = as.integer(g$ethn == "S"),
                momEdP = as.integer(g$momEd == "P"),
                momEdS = as.integer(g$momEd == "S"),
                husEdP = as.integer(g$husEd == "P"),
                husEdS = as.integer(g$husEd == "S"),
                husEdU = as.integer(g$husEd == "U"),
                momWorkY = as.integer(g$momWork == "Y"),
                ruralY = as.integer(g$rural == "Y"),
                pcInd81 = g$pcInd81), "guimmun.csv")

## Three-level Poisson with offset (simulated)
set.seed(20240602)
n3 <- 40; n2 <- 6; n1 <- 8
l3 <- rep(seq_len(n3), each = n2 * n1)
l2 <- rep(rep(seq_len(n2), each = n1), times = n3)
l2id <- (l3 - 1) * n2 + l2
x <- round(rnorm(length(l3)), 6)
exposure <- round(runif(length(l3), 0.5, 3), 4)
v3 <- rnorm(n3, 0, 0.5)
S2 <- matrix(c(0.4^2, 0.3 * 0.4 * 0.25, 0.3 * 0.4 * 0.25, 0.25^2), 2)
b2 <- matrix(rnorm(n3 * n2 * 2), ncol = 2) %*% chol(S2)
eta <- log(exposure) + 0.3 + 0.4 * x + v3[l3] + b2[l2id, 1] + b2[l2id, 2] * x
y <- rpois(length(eta), exp(eta))
wcsv(data.frame(l3 = l3, l2 = l2, l2id = l2id, x = x, exposure = exposure,
                y = y), "poisson3.csv")

## lavaan data
data("PoliticalDemocracy", package = "lavaan")
wcsv(lavaan::PoliticalDemocracy, "political_democracy.csv")
data("Demo.twolevel", package = "lavaan")
wcsv(lavaan::Demo.twolevel, "demo_twolevel.csv")

## Four-level random intercepts (simulated): pupils in classes in schools in
## regions, ids local to their parent (class 1-4 in every school), as lme4's
## (1 | region/school/class) expects
set.seed(20261127)
n4 <- 12; n3 <- 5; n2 <- 4; n1 <- 6
region <- rep(seq_len(n4), each = n3 * n2 * n1)
school <- rep(rep(seq_len(n3), each = n2 * n1), times = n4)
class <- rep(rep(seq_len(n2), each = n1), times = n4 * n3)
school_id <- (region - 1) * n3 + school
class_id <- (school_id - 1) * n2 + class
x <- round(rnorm(length(region)), 6)
u4 <- rnorm(n4); u3 <- rnorm(n4 * n3); u2 <- rnorm(n4 * n3 * n2)
y <- round(1 + 0.5 * x + 0.5 * u4[region] + 0.4 * u3[school_id] + 0.3 * u2[class_id] +
           rnorm(length(x)), 6)
eta <- -0.3 + 0.8 * x + 0.6 * u4[region] + 0.5 * u3[school_id] + 0.7 * u2[class_id]
yb <- rbinom(length(eta), 1, plogis(eta))
wcsv(data.frame(region = region, school = school, class = class, x = x, y = y, yb = yb),
     "fourlevel.csv")

## Two-level factor model with a path between levels (simulated): 120 clusters of
## 10 units; between factor fb =~ y4 + y5 + y6 (with between residuals), within
## factor fw =~ y1 + y2 + y3 and fw = 0.7 fb + zeta (a latent depending on a
## latent of the level above). Truth in the comments of make_reference.R.
set.seed(20261128)
nc <- 120; nu <- 10
cluster <- rep(seq_len(nc), each = nu)
fb <- rnorm(nc, sd = sqrt(0.5))
fw <- 0.7 * fb[cluster] + rnorm(nc * nu)
e <- function(s) rnorm(nc * nu, sd = s)
b <- function(s) rnorm(nc, sd = s)[cluster]
wcsv(data.frame(
  cluster = cluster,
  y1 = round(0.5 + fw + e(0.7), 6),
  y2 = round(0.0 + 0.8 * fw + e(0.7), 6),
  y3 = round(-0.5 + 1.2 * fw + e(0.7), 6),
  y4 = round(1.0 + fb[cluster] + b(0.45) + e(0.8), 6),
  y5 = round(0.8 * fb[cluster] + b(0.45) + e(0.8), 6),
  y6 = round(0.9 * fb[cluster] + b(0.45) + e(0.8), 6)), "crosslevel.csv")
