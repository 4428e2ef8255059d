"""Bayesian fitting with PyMC: full-latent and marginal models, priors, NUTS, MAP."""

from glpp.bayes.build import (
    DEFAULT_LKJ_ETA,
    DEFAULT_NIP,
    LaplaceStart,
    ModeOp,
    WarmStartOp,
    build_pymc_model,
    choose_nip,
    cluster_loglik_draws,
    compile_mode,
    default_nip,
    default_priors,
    laplace_start,
    laplace_target_accept,
    map_estimate,
    resolve_priors,
    sample,
)

__all__ = [
    "DEFAULT_NIP",
    "DEFAULT_LKJ_ETA",
    "default_nip",
    "choose_nip",
    "laplace_start",
    "LaplaceStart",
    "compile_mode",
    "laplace_target_accept",
    "WarmStartOp",
    "default_priors",
    "resolve_priors",
    "build_pymc_model",
    "sample",
    "map_estimate",
    "ModeOp",
    "cluster_loglik_draws",
]
