"""Bayesian fitting with PyMC: full-latent and marginal models, priors, NUTS, MAP.

Two kinds of PyMC model share one set of parameter variables, named exactly
as in the ML output (``beta[x]``, ``sd[patient]``, ``sd[days|subject]``,
``cor[(Intercept),days|subject]``, ``sigma``; for factor, IRT and SEM models
``nu[item]``, ``sd[F]``, ``lambda[F,item]``, ``path[F~x]``, ``sigma[item]``),
and one definition of each family and link (:meth:`glpp.families.Family.logp`).
The variables are assembled into the ML parameter vector ``theta`` of
:class:`glpp.params.ParameterLayout`, and both kinds evaluate the likelihood
through the same graph as the ML path, :class:`glpp.likelihood.two_level.OneLevelGraph`
(loadings, structural paths and item-specific dispersions included).

Modules, in the order of the pipeline:

- :mod:`~glpp.bayes.priors`: the default priors (their table) and the overrides
  ``priors={...}``; sign identification of factors.
- :mod:`~glpp.bayes.parameters`: the PyMC variables of the parameter table and ``theta``.
- :mod:`~glpp.bayes.marginal`: the marginal kind's per-cluster log-likelihood (adaptive
  quadrature, modes found inside the graph: :class:`WarmStartOp`, :class:`ModeOp`).
- :mod:`~glpp.bayes.nip`: points per latent dimension of the marginal kind.
- :mod:`~glpp.bayes.build`: :func:`build_pymc_model`, the two kinds (``"latent"``,
  ``"marginal"``) and the latent kind's likelihood.
- :mod:`~glpp.bayes.laplace`: the Laplace start of NUTS (the marginal kind's default).
- :mod:`~glpp.bayes.sample`: :func:`sample` (NUTS) and :func:`map_estimate`.
- :mod:`~glpp.bayes.posterior`: per-cluster log-likelihoods and latent effects of the
  draws, added to the DataTree.
- :mod:`~glpp.bayes.discrete`: latent classes (marginal kind: the classes summed out by the
  ML graph), their priors (exchangeable ones for exchangeable labels) and NUTS;
  :mod:`~glpp.bayes.labels`: each draw of exchangeable classes relabelled to the ML fit.

- :mod:`~glpp.bayes.multilevel`: both kinds for latents at several levels (three-level
  models and deeper).
"""

from glpp.bayes.build import build_pymc_model, compile_mode
from glpp.bayes.labels import relabel_draws
from glpp.bayes.laplace import LaplaceStart, laplace_start, laplace_target_accept
from glpp.bayes.marginal import ModeOp, WarmStartOp
from glpp.bayes.nip import DEFAULT_NIP, choose_nip, default_nip
from glpp.bayes.posterior import cluster_loglik_draws
from glpp.bayes.priors import DEFAULT_LKJ_ETA, default_priors, resolve_priors
from glpp.bayes.sample import map_estimate, sample

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
    "relabel_draws",
]
