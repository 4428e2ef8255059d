"""The true parameter values of the library's simulated data sets (:mod:`model_library.simulate`)."""

TRUTH = {
    "endogenous_treatment": {
        "beta[d_out]": 0.5,
        "beta[d_out:x]": 0.4,
        "beta[d_out:treat]": 0.6,
        "beta[d_trt]": -0.3,
        "beta[d_trt:x]": 0.5,
        "beta[d_trt:z]": 1.0,
        "sd[F]": 0.7,
        "lambda[F,treatment]": 1.0,
    },
    "dependent_dropout": {
        "beta[d_y]": 2.0,
        "beta[d_y:t]": 0.5,
        "beta[d_drop]": -1.5,
        "beta[d_drop:t]": 0.1,
        "sd[I]": 1.0,
        "sd[S]": 0.4,
        "cor[I,S]": 0.3,
        "lambda[I,d_drop]": 0.5,
        "lambda[S,d_drop]": 1.0,
        "sigma": 0.7,
    },
    "cace": {
        "beta[x]": 0.3,
        "beta[C1]": 1.0,
        "beta[C2]": 0.0,
        "beta[C1:z]": 0.5,
        "class[C1]": 0.4054651081081644,  # log(0.6 / 0.4): 60% compliers
        "sigma": 1.0,
    },
    "growth_mixture": {
        "beta[C1]": 1.0,
        "beta[C2]": 3.0,
        "beta[C1:time]": 0.5,
        "beta[C2:time]": -0.3,
        "class[C1]": 0.4054651081081644,  # log(0.6 / 0.4)
        "sigma": 0.6,
        "sd[id]": 0.7,
    },
    "scaled_ordinal_probit": {
        "beta[x]": 0.8,
        "sd[g]": 0.7,
        "tau[1|2]": -1.0,
        "tau[2|3]": 0.3,
        "tau[3|4]": 1.5,
        "tau[1|2~w]": 0.4,
        "tau[2|3~w]": -0.2,
        "tau[3|4~w]": 0.5,
        "log_scale[z]": 0.5,
    },
    "multinomial": {
        "beta[alt2]": 0.5,
        "beta[alt3]": -0.3,
        "beta[x2]": 0.8,
        "beta[x3]": -0.6,
        "beta[price]": -1.0,
        "sd[alt2|g]": 1.0,
        "sd[alt3|g]": 0.7,
        "cor[alt2,alt3|g]": 0.4,
    },
    "rankings": {
        "beta[alt2]": 0.4,
        "beta[alt3]": -0.2,
        "beta[alt4]": 0.3,
        "beta[q]": 0.7,
        "sd[q|g]": 0.8,
    },
    "class_regression": {
        # the items' log-odds of 1 in each class: 1.5 and -1.5 plus the same item shift
        "nu[C1:y1]": 1.0,
        "nu[C1:y2]": 1.2,
        "nu[C1:y3]": 1.4,
        "nu[C1:y4]": 1.6,
        "nu[C1:y5]": 1.8,
        "nu[C1:y6]": 2.0,
        "nu[C2:y1]": -2.0,
        "nu[C2:y2]": -1.8,
        "nu[C2:y3]": -1.6,
        "nu[C2:y4]": -1.4,
        "nu[C2:y5]": -1.2,
        "nu[C2:y6]": -1.0,
        "class[C1]": 0.6,
        "class[C1:v]": 1.2,
    },
    "covariate_measurement_error": {
        "beta[d_x]": 1.0,  # the true covariate's mean where z = 0
        "beta[d_y]": -0.5,  # the outcome's log-odds where z = 0 and the true covariate = beta[d_x]
        "beta[d_y:z]": 0.5,
        "lambda[F,d_y]": 1.0,  # the log-odds ratio of the true covariate
        "path[F~z]": 0.5,
        "sd[F]": 1.0,  # the true covariate's residual SD given z
        "sigma": 1.0,  # the measurement error SD
    },
    "missing_covariate": {
        "beta[d_x]": 1.0,
        "beta[d_y]": -0.5,
        "beta[d_y:z]": 0.5,
        "lambda[F,d_y]": 1.0,
        "path[F~z]": 0.5,
        "sd[F]": 1.0,
        "sigma": 1.0,
    },
}
