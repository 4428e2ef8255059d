## lavaan's information criteria for the Holzinger three-factor CFA (N = 301 units).
## Run from the repo root:  Rscript tests/reference/make_lavaan_bic.R  -> tests/reference/lavaan_bic.json
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })
h <- read.csv("model_library/data/holzinger.csv")
fit <- cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9", data = h, meanstructure = TRUE)
m <- fitMeasures(fit, c("logl", "npar", "aic", "bic", "ntotal"))
write_json(list(holzinger_cfa3 = list(package = "lavaan", call = "cfa(..., meanstructure = TRUE)",
                                      loglik = m[["logl"]], df = m[["npar"]], aic = m[["aic"]], bic = m[["bic"]],
                                      n = m[["ntotal"]])),
           "tests/reference/lavaan_bic.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
