"""Bayesian fitting with PyMC: full-latent and marginal models, priors, NUTS, MAP."""

from glpp.bayes.build import (
    LaplaceStart,
    build_pymc_model,
    cluster_loglik_draws,
    compile_mode,
    laplace_start,
    laplace_target_accept,
    map_estimate,
    sample,
)
from glpp.bayes.marginal import ModeOp, WarmStartOp
from glpp.bayes.nip import DEFAULT_NIP, choose_nip, default_nip
from glpp.bayes.priors import DEFAULT_LKJ_ETA, default_priors, resolve_priors

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
