"""Design -> PyMC model (full-latent or marginal), NUTS, MAP.

Two kinds of PyMC model share one set of parameter variables, named exactly
as in the ML output (``beta[x]``, ``sd[patient]``, ``sd[days|subject]``,
``cor[(Intercept),days|subject]``, ``sigma``; for factor, IRT and SEM models
``nu[item]``, ``sd[F]``, ``lambda[F,item]``, ``path[F~x]``, ``sigma[item]``),
and one definition of each family and link (:meth:`glpp.families.Family.logp`).
The variables are assembled into the ML parameter vector ``theta`` of
:class:`glpp.params.ParameterLayout`, and both kinds evaluate the likelihood
through the same graph as the ML path, :class:`glpp.likelihood.two_level.OneLevelGraph`
(loadings, structural paths and item-specific dispersions included):

- ``kind="latent"``: every latent variable is a PyMC variable. By default
  non-centred: ``z[level] ~ N(0, I)`` per cluster and the effects
  ``b[level] = z L'`` (``L`` the Cholesky factor of the level's covariance)
  are a deterministic; ``parameterization="centered"`` samples ``b[level]``
  directly. Each row's linear predictor is the graph's fixed part plus its
  loadings times the cluster's ``z``; the responses are an observed
  :class:`pymc.CustomDist` whose log-density is the family's. With
  structural paths ``b`` are the disturbances ``zeta``, not the latents.
- ``kind="marginal"``: the latents are integrated out by the adaptive
  Gauss-Hermite graph of :mod:`glpp.likelihood.two_level`; its per-cluster
  log-likelihood is added as a :func:`pymc.Potential`. Each cluster's mode
  is found inside the compiled graph: :data:`GRAPH_NEWTON_STEPS` undamped,
  vectorised Newton steps from a warm start extrapolated from earlier
  evaluations (:class:`WarmStartOp`); :class:`ModeOp` checks convergence and,
  when it is not reached (the first evaluation, a far jump), completes the
  search with the damped Newton method of
  :meth:`glpp.fitting.optim.AdaptiveObjective.find_modes`. The modes carry no
  gradient: the graph takes one more Newton step from them, which carries
  ``dm/dtheta``, so the gradient of the approximation is exact; and the
  density does not depend on the warm start (to ~1e-12).

Points per latent dimension of the marginal kind: :func:`sample` chooses
them for the data (:func:`choose_nip`: the first of 7, 11, 15, 21, 31, 45
whose log-likelihood at the ML estimate is within 0.05 of the next rule's;
1, exact, for gaussian identity-link models); :func:`build_pymc_model` uses
``nip`` or :func:`default_nip` (15, or 1 for gaussian identity-link models).

Sampling (:func:`sample`): the marginal kind, a few parameters with a
near-gaussian posterior, starts from its Laplace approximation
(``init="laplace"``, :func:`laplace_start`): BFGS to the mode, each chain
started at a draw from the approximation, a dense mass matrix that starts
at its covariance and is adapted during tuning, and NUTS's target
acceptance rate 0.65 (0.9 for models with free loadings or paths; see
:func:`laplace_target_accept`). The latent kind uses PyMC's defaults
(``jitter+adapt_diag``, 0.8). Every function is compiled with
:func:`compile_mode`.

Sign identification of factors: by default each latent's first loading is
fixed at 1, which fixes its sign (and scale). That alone leaves a mirror
mode in which the reference item barely loads (``sd`` small) and every
other loading is large with the opposite sign; with a prior centred at 0 the
latent kind's chains found it (2PL on six VerbAgg items: ``sd[F]`` 0.2,
loadings near -10). The free loadings' prior is therefore centred at 1 (and
sampling starts there), the reference item's loading: the items are taken to
measure the factor in the reference item's direction. With ``std_lv=True`` (unit variances, all loadings
free) the first free loading of each unit-variance latent gets a positive
(``HalfNormal``) prior, which fixes the sign; a prior override that puts mass
on both signs there makes the posterior bimodal.

Priors (weakly informative, on the data's scale; ``s_y`` is the SD of the
response for gaussian models and 1 otherwise, ``s_x`` the SD of a covariate
column, 1 for constant columns; ``s_item`` the SD of one item's responses
for gaussian models and 1 otherwise, ``s_ref`` that of the latent's
reference item, the one whose loading is fixed at 1):

==================  ==========================================================
``beta[x]``         ``Normal(0, 10 * s_y / s_x)`` (also ``nu[item]``)
``sd[...]``         ``HalfNormal(5 * s_y / s_z)``  (``s_z``: the latent's covariate)
``cor[...]``        LKJ(eta=2) on each correlated block's correlation matrix
``lambda[F,item]``  ``Normal(1, 2 * s_item / s_ref)``; for unit-variance
                    latents ``Normal(0, 5 * s_item)``, the first one
                    ``HalfNormal(5 * s_item)``
``path[F~G]``       ``Normal(0, 5)`` (latent on latent)
``path[F~w]``       ``Normal(0, 5 * s_y / s_w)`` (latent on covariate ``w``)
``sigma[item]``     ``HalfNormal(5 * s_item)`` (``sigma``: ``HalfNormal(5 * s_y)``)
``shape``           ``Gamma(0.01, 0.01)`` (gamma family)
``size``            ``Gamma(0.01, 0.01)`` (negative binomial)
==================  ==========================================================

Override them with ``priors={name: dist}`` where ``name`` is a parameter name
(``"sd[patient]"``, ``"beta[month]"``, ``"lambda[F,i2]"``) or a parameter type
(``"beta"``, ``"nu"``, ``"sd"``, ``"lambda"``, ``"path"``, ``"sigma"``,
``"shape"``, ``"size"``; applies to every parameter of that type not named explicitly),
and ``dist`` a scalar PyMC distribution made with ``.dist()``, e.g.
``pm.HalfNormal.dist(5)``. ``"cor"`` takes the LKJ ``eta`` (a positive
number); ``"cor[<level>]"`` sets it for one level.

Only models whose latents vary at one level are supported so far (GLMMs with
one grouping, factor/IRT/SEM models); three-level models raise ``SpecError``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytensor.tensor as pt
import xarray as xr
from pymc.step_methods.hmc.quadpotential import QuadPotentialFullAdapt
from pytensor.compile.mode import Mode, get_mode
from pytensor.graph.replace import graph_replace
from pytensor.graph.traversal import ancestors
from scipy import optimize

from glpp.bayes.marginal import _data_replacements, _marginal_cluster_loglik, _objective
from glpp.bayes.nip import DEFAULT_NIP, choose_nip, default_nip
from glpp.bayes.parameters import _add_parameters, _Parameters
from glpp.bayes.priors import resolve_priors
from glpp.errors import SpecError
from glpp.likelihood.two_level import COMPILE_MODE, OneLevelGraph

__all__ = [
    "laplace_start",
    "LaplaceStart",
    "compile_mode",
    "laplace_target_accept",
    "build_pymc_model",
    "sample",
    "map_estimate",
    "cluster_loglik_draws",
]

#: importance-sampling proposals per cluster and draw when recovering latents
LATENT_PROPOSALS = 16
#: degrees of freedom of the multivariate-t importance proposal
PROPOSAL_DF = 7.0

KINDS = ("latent", "marginal")


# ------------------------------------------------------- compile mode
def compile_mode() -> Mode:
    """:data:`glpp.likelihood.two_level.COMPILE_MODE`: the mode of every PyMC function glpp compiles.

    The sums within clusters (:class:`glpp.likelihood.segments.Segments`) are compiled code
    in any mode; no rewrite of pytensor's is needed.
    """
    return get_mode(COMPILE_MODE)


# ------------------------------------------------------------- models
def _check_supported(model) -> None:
    """Models with one level of continuous latents (GLMMs, factor/IRT/SEM models)."""
    if len(model.design.levels) > 1:
        raise SpecError(
            "Bayesian models are available for models with latent variables at one level only so far; "
            f"this model has {len(model.design.levels)} levels ({', '.join(level.name for level in model.design.levels)})"
        )


def _coords(model) -> dict[str, list]:
    coords = {}
    for level in model.design.levels:
        coords[level.name] = [str(label) for label in level.cluster_labels]
        coords[f"{level.name}_latent"] = list(level.latent_names)
    return coords


def build_pymc_model(
    model,
    kind: str = "latent",
    *,
    priors: dict | None = None,
    nip: int | None = None,
    parameterization: str = "noncentered",
) -> pm.Model:
    """The PyMC model of a glpp :class:`~glpp.Model`.

    Parameters
    ----------
    model : glpp.Model
    kind : {"latent", "marginal"}
        Latents as PyMC variables, or integrated out by adaptive quadrature.
    priors : dict, optional
        Overrides of the default priors (see the module docstring).
    nip : int, optional
        Quadrature points per latent dimension (marginal kind);
        :data:`DEFAULT_NIP` by default.
    parameterization : {"noncentered", "centered"}
        Of the latents (latent kind).

    Examples
    --------
    >>> pm_model = build_pymc_model(glpp_model, "marginal")
    >>> with pm_model:
    ...     idata = pm.sample()
    """
    if kind not in KINDS:
        raise SpecError(f"unknown kind {kind!r}; choose one of {list(KINDS)}")
    if parameterization not in ("noncentered", "centered"):
        raise SpecError(f"unknown parameterization {parameterization!r}; use 'noncentered' or 'centered'")
    _check_supported(model)
    resolved = resolve_priors(model, priors)
    with pm.Model(coords=_coords(model)) as pm_model:
        parameters = _add_parameters(model, pm_model, resolved)
        if kind == "marginal":
            cluster_loglik = _marginal_cluster_loglik(model, parameters.theta, nip or default_nip(model))
            pm.Potential("marginal_loglik", cluster_loglik.sum())
        else:
            _add_latent_likelihood(model, parameters, parameterization)
    pm_model.glpp_theta = parameters.theta  # used by sample() for the per-cluster log-likelihoods
    pm_model.glpp_kind = kind
    return pm_model


def _add_latent_likelihood(model, parameters: _Parameters, parameterization: str) -> None:
    """Latents as PyMC variables and the responses given them (the latent kind).

    The rows' linear predictors come from the quadrature graph :class:`glpp.likelihood.two_level.OneLevelGraph`
    itself (fixed part, loadings, structural paths, item dispersions), evaluated at the
    standardised latents ``u`` of each row's cluster instead of at quadrature nodes:
    ``eta_r = fixed_eta_r + loadings_r' u_j``. ``b[level] = L u`` are the latent
    disturbances (the latents themselves when there are no structural paths).
    """
    level = model.design.levels[0]
    dims = (level.name, f"{level.name}_latent")
    factor = parameters.factors[0]
    if parameterization == "noncentered":
        standard = pm.Normal(f"z[{level.name}]", 0.0, 1.0, dims=dims)
        pm.Deterministic(f"b[{level.name}]", standard @ factor.T, dims=dims)
    else:
        effects = pm.MvNormal(f"b[{level.name}]", mu=pt.zeros(level.n_latents), chol=factor, dims=dims)
        standard = pt.linalg.solve_triangular(factor, effects.T, lower=True).T
    graph = OneLevelGraph(model.layout, model.family, model.link)
    # one gather per latent (vectors: the cheapest gradient for NUTS)
    latent_eta = sum(graph.loadings[:, a] * graph.clusters.gather(graph.modes[:, a]) for a in range(level.n_latents))
    outputs = [graph.fixed_eta + latent_eta]
    if graph.row_log_dispersion is not None:
        outputs.append(graph.row_log_dispersion)
    replacements = {graph.theta: parameters.theta, graph.modes: standard, **_data_replacements(graph, model)}
    eta, *rest = graph_replace(outputs, replacements, strict=False)
    row_log_dispersion = rest[0] if rest else None
    # the graph's rows are in cluster order (data_arguments); put them back in data order
    inverse = pt.constant(np.argsort(np.argsort(level.cluster_index, kind="stable")))
    if row_log_dispersion is not None and row_log_dispersion.ndim == 1:
        row_log_dispersion = row_log_dispersion[inverse]
    _observed(model, eta[inverse], row_log_dispersion)


def _observed(model, eta, log_dispersion) -> None:
    design, family, link = model.design, model.family, model.link
    trials = design.trials if design.trials is not None else np.ones_like(design.response)
    extra = [log_dispersion] if log_dispersion is not None else []

    def logp(value, eta, trials, *rest):
        return family.logp(value, eta, link, rest[0] if rest else None, trials)

    pm.CustomDist(
        _response_name(model), eta, pt.constant(trials), *extra, logp=logp, observed=design.response
    )


def _response_name(model) -> str:
    return "y" if not design_label_ok(model.design.response_label) else model.design.response_label


def design_label_ok(label: str) -> bool:
    return label.isidentifier()


# ------------------------------------------------------------ sampling
def _theta_function(pm_model: pm.Model):
    """Compiled map from the posterior's variables to ML ``theta``."""
    theta = pm_model.glpp_theta
    inputs = [rv for rv in pm_model.free_RVs if rv in ancestors([theta])]
    function = pytensor.function(inputs, theta, on_unused_input="ignore", mode=compile_mode())
    return [rv.name for rv in inputs], function


def _theta_draws(pm_model: pm.Model, posterior: xr.Dataset) -> np.ndarray:
    """(chains, draws, n_theta) ML parameter vectors of the posterior draws."""
    names, function = _theta_function(pm_model)
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    values = [posterior[name].values.reshape(chains * draws, *posterior[name].shape[2:]) for name in names]
    theta = np.stack([function(*(value[s] for value in values)) for s in range(chains * draws)])
    return theta.reshape(chains, draws, -1)


def cluster_loglik_draws(
    model, theta: np.ndarray, nip: int = DEFAULT_NIP, latents: bool = False, rng=None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-cluster marginal log-likelihood at each draw, and optionally latent draws.

    Parameters
    ----------
    theta : ndarray, shape (..., n_theta)
    latents : bool
        Also draw each cluster's latent effects (``L u``) from their
        conditional posterior given the draw: sampling-importance-resampling
        with a multivariate-t proposal at the adaptive-quadrature centre
        and scale (:data:`LATENT_PROPOSALS` proposals).

    Returns
    -------
    loglik : ndarray, shape (..., J)
    effects : ndarray, shape (..., J, d), or None
    """
    objective = _objective(model, nip)
    functions = objective.functions
    flat = theta.reshape(-1, theta.shape[-1])
    level = model.design.levels[0]
    n_clusters, d = level.n_clusters, level.n_latents
    loglik = np.empty((flat.shape[0], n_clusters))
    effects = np.empty((flat.shape[0], n_clusters, d)) if latents else None
    rng = np.random.default_rng(rng)
    for s, point in enumerate(flat):
        loglik[s] = objective.loglik(point)[2]
        if latents:
            effects[s] = _draw_latents(objective, functions, point, model, rng)
    shape = theta.shape[:-1]
    return loglik.reshape(*shape, n_clusters), (effects.reshape(*shape, n_clusters, d) if latents else None)


def _draw_latents(objective, functions, theta, model, rng) -> np.ndarray:
    modes = objective.modes  # found by the loglik call just before
    data = objective.data
    log_mode, _, neg_hessian = functions.mode_terms(theta, modes, *data)
    n_clusters, d = modes.shape
    scale = np.linalg.cholesky(np.linalg.inv(neg_hessian))  # (J, d, d)
    log_weights = np.empty((LATENT_PROPOSALS, n_clusters))
    proposals = np.empty((LATENT_PROPOSALS, n_clusters, d))
    nu = PROPOSAL_DF
    for m in range(LATENT_PROPOSALS):
        standard = rng.standard_normal((n_clusters, d))
        chi = rng.chisquare(nu, n_clusters) / nu
        t = standard / np.sqrt(chi)[:, None]
        proposals[m] = modes + np.einsum("jab,jb->ja", scale, t)
        log_target = functions.mode_terms(theta, proposals[m], *data)[0]
        log_proposal = -0.5 * (nu + d) * np.log1p(np.sum(t**2, axis=1) / nu)  # up to constants per cluster
        log_weights[m] = log_target - log_proposal
    log_weights -= log_weights.max(axis=0, keepdims=True)
    weights = np.exp(log_weights)
    weights /= weights.sum(axis=0, keepdims=True)
    cumulative = np.cumsum(weights, axis=0)
    pick = np.minimum((cumulative < rng.random(n_clusters)[None, :]).sum(axis=0), LATENT_PROPOSALS - 1)
    standardised = proposals[pick, np.arange(n_clusters)]
    factor = model.layout.cholesky_factors(theta)[0]
    return standardised @ factor.T


#: keyword arguments of :func:`sample` that configure the NUTS step (passed to :class:`pymc.NUTS`)
NUTS_ARGUMENTS = (
    "target_accept", "max_treedepth", "early_max_treedepth", "step_scale", "Emax", "gamma", "k", "t0",
    "adapt_step_size",
)
#: NUTS's target acceptance rate with the Laplace start (``init="laplace"``) for models
#: without free loadings or structural paths (GLMMs): that of Hoffman and Gelman's NUTS
#: paper, near the optimum 0.65 of Beskos et al. (2013) for HMC. PyMC's (and Stan's) 0.8
#: guards against the varying curvature of hierarchical posteriors, which the marginal kind
#: integrates out. Toenail: 3 leapfrog steps per draw instead of 4, 1.5 instead of 1.2
#: effective draws per draw of ``sd[patient]``, no divergences.
LAPLACE_TARGET_ACCEPT = 0.65
#: the same with free loadings or structural paths (factor, IRT, SEM models): a latent's SD
#: and its loadings trade off (only their products are well identified), which bends the
#: posterior into a banana that one dense mass matrix fits only in its bulk; at 0.65 and
#: 0.8 the 2PL on six VerbAgg items diverged twice in its tail (sd[F] near 2.8), at 0.9 not.
FACTOR_TARGET_ACCEPT = 0.9


def laplace_target_accept(model) -> float:
    """Default ``target_accept`` of the Laplace start: :data:`FACTOR_TARGET_ACCEPT` for models
    with free loadings or structural paths, else :data:`LAPLACE_TARGET_ACCEPT`."""
    layout = model.layout
    return FACTOR_TARGET_ACCEPT if (layout.loading_parameters or layout.path_names) else LAPLACE_TARGET_ACCEPT


#: pseudo-draws the Laplace covariance counts for in the dense mass-matrix adaptation
LAPLACE_COVARIANCE_WEIGHT = 10
#: relative step of the central differences of the gradient giving the Laplace Hessian
HESSIAN_STEP = 1e-4
#: largest absolute log-density NUTS may start from relative to the mode's (reject wild starts)
START_LOGP_DROP = 50.0


@dataclass
class LaplaceStart:
    """Posterior mode and Laplace covariance in NUTS's (unconstrained) coordinates.

    Attributes
    ----------
    mode : ndarray
        The maximum of the log-density NUTS samples (Jacobians of the transforms included).
    covariance : ndarray
        Inverse of the negative Hessian there (central differences of the exact gradient).
    names : list of str
        The value variables, in the order of ``mode``.
    shapes : list of tuple
    seconds : float
        Optimisation and Hessian time.
    """

    mode: np.ndarray
    covariance: np.ndarray
    names: list[str]
    shapes: list[tuple]
    seconds: float

    def point(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Value-variable dict (transformed names) of a flat vector in the order of ``mode``."""
        point, offset = {}, 0
        for name, shape in zip(self.names, self.shapes):
            size = int(np.prod(shape))
            point[name] = values[offset : offset + size].reshape(shape)
            offset += size
        return point


def laplace_start(pm_model: pm.Model, function) -> LaplaceStart | None:
    """Mode (BFGS from the model's initial point) and Laplace covariance of ``pm_model``.

    ``function`` is ``pm_model.logp_dlogp_function(ravel_inputs=True)``. Returns None when
    the optimisation does not reach a point with a negative definite Hessian.
    """
    started = time.perf_counter()
    value_vars = pm_model.continuous_value_vars
    initial = pm_model.initial_point()
    names = [variable.name for variable in value_vars]
    shapes = [np.shape(initial[name]) for name in names]
    start = np.concatenate([np.ravel(initial[name]) for name in names]).astype(float)

    def negative(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = function(x)
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            return 1e10, np.zeros_like(x)
        return -float(value), -np.asarray(gradient, dtype=float)

    result = optimize.minimize(negative, start, jac=True, method="BFGS", options={"gtol": 1e-6, "maxiter": 2000})
    mode = result.x
    hessian = np.empty((mode.size, mode.size))
    for k in range(mode.size):
        step = HESSIAN_STEP * max(1.0, abs(mode[k]))
        delta = np.zeros_like(mode)
        delta[k] = step
        hessian[:, k] = (negative(mode - delta)[1] - negative(mode + delta)[1]) / (2.0 * step)
    hessian = 0.5 * (hessian + hessian.T)
    try:
        eigenvalues = np.linalg.eigvalsh(-hessian)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(hessian)) or eigenvalues.min() <= 0:
        return None
    covariance = np.linalg.inv(-hessian)
    return LaplaceStart(mode, 0.5 * (covariance + covariance.T), names, shapes, time.perf_counter() - started)


def _laplace_step(pm_model: pm.Model, chains: int, random_seed, mode: Mode, nuts_arguments: dict):
    """NUTS with a dense mass matrix started at the Laplace covariance, and one start per chain
    drawn from the Laplace approximation; None when there is no usable Laplace approximation."""
    function = pm_model.logp_dlogp_function(ravel_inputs=True, mode=mode)
    function.trust_input = True
    start = laplace_start(pm_model, function)
    if start is None:
        return None
    rng = np.random.default_rng(random_seed)
    factor = np.linalg.cholesky(start.covariance)
    best = float(function(start.mode)[0])
    # initial values by variable name on the natural scale (PyMC misreads transformed names
    # whose transform has an underscore, e.g. "cor_chol[g]_cholesky_corr__")
    free = pm_model.free_RVs
    natural = pytensor.function(
        pm_model.value_vars, pm_model.replace_rvs_by_values(free), mode=mode, on_unused_input="ignore"
    )
    initvals, points = [], []
    for _ in range(chains):
        for _attempt in range(20):
            candidate = start.mode + factor @ rng.standard_normal(start.mode.size)
            value = float(function(candidate)[0])
            if np.isfinite(value) and value > best - START_LOGP_DROP:
                break
        else:
            candidate = start.mode
        point = start.point(candidate)
        points.append(point)
        values = natural(*(point[variable.name] for variable in pm_model.value_vars))
        initvals.append({rv.name: np.asarray(value) for rv, value in zip(free, values)})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="QuadPotentialFullAdapt is an experimental feature")
        potential = QuadPotentialFullAdapt(
            start.mode.size, start.mode.copy(), start.covariance, LAPLACE_COVARIANCE_WEIGHT,
            rng=np.random.default_rng(rng.integers(2**31)),
        )
    step = pm.NUTS(
        potential=potential, model=pm_model, logp_dlogp_func=function, initial_point=points[0], **nuts_arguments
    )
    return step, initvals, start


def sample(
    model,
    kind: str = "marginal",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    nuts_sampler: str = "pymc",
    random_seed=None,
    priors: dict | None = None,
    *,
    nip: int | None = None,
    init: str = "auto",
    **kwargs,
):
    """Sample the posterior by NUTS; return an arviz DataTree.

    Parameters
    ----------
    model : glpp.Model
    kind : {"marginal", "latent"}
        See :func:`build_pymc_model`.
    draws, tune, chains, nuts_sampler, random_seed
        As in :func:`pymc.sample`.
    priors : dict, optional
        Overrides of the default priors (module docstring).
    nip : int, optional
        Quadrature points per latent dimension of the marginal kind and of the stored
        per-cluster log-likelihoods; chosen for the data by :func:`choose_nip` by default.
    init : str
        ``"auto"``: ``"laplace"`` for the marginal kind, PyMC's default
        (``jitter+adapt_diag``) for the latent kind, whose hundreds of latents make a
        dense mass matrix a poor choice. ``"laplace"``: BFGS to the posterior mode
        (:func:`laplace_start`), each chain started at an independent draw from the
        Laplace approximation there, a dense mass matrix that starts at the Laplace
        covariance and is adapted during tuning, and ``target_accept`` of
        :func:`laplace_target_accept` (0.65, or 0.9 with free loadings or paths) unless
        given; PyMC's ``jitter+adapt_diag`` when the Hessian at the mode is not negative
        definite, and PyMC's own start with ``nuts_sampler`` other than ``"pymc"``. Any
        other value is PyMC's ``init``.
    **kwargs
        NUTS settings (:data:`NUTS_ARGUMENTS`, e.g. ``target_accept``) and other
        arguments of :func:`pymc.sample`.

    Returns
    -------
    DataTree
        Groups ``posterior`` (parameters under their ML names; ``b[<level>]``, the
        latent effects per cluster, for both kinds: for the marginal kind drawn
        afterwards from each cluster's conditional posterior given each draw),
        ``sample_stats``, ``observed_data`` and ``log_likelihood``: the marginal
        log-likelihood of each top-level cluster (adaptive quadrature, ``nip``
        points), so that ``arviz.loo`` is leave-one-cluster-out. The posterior's
        attributes record ``glpp_kind``, ``glpp_nip``, ``glpp_init``,
        ``sampling_time`` (PyMC's NUTS time), ``initialisation_seconds`` (the Laplace
        step), ``sampling_seconds`` (all of it, compilation included) and
        ``postprocessing_seconds``.
    """
    nip = nip or choose_nip(model)
    pm_model = build_pymc_model(model, kind, priors=priors, nip=nip)
    started = time.perf_counter()
    mode = compile_mode()
    kwargs.setdefault("compile_kwargs", {"mode": mode})
    if init == "auto":
        init = "laplace" if kind == "marginal" else "auto"
    initialisation_seconds = 0.0
    with pm_model:
        laplace = None
        if init == "laplace" and nuts_sampler == "pymc":
            given = {name: kwargs.pop(name) for name in NUTS_ARGUMENTS if name in kwargs}
            given.update(kwargs.pop("nuts", {}))
            nuts_arguments = {"target_accept": laplace_target_accept(model), **given}
            compile_with = kwargs["compile_kwargs"].get("mode", mode)
            laplace = _laplace_step(pm_model, chains, random_seed, compile_with, nuts_arguments)
            if laplace is None:  # no usable mode: PyMC's default start with the user's settings
                kwargs.update(given)
                init = "jitter+adapt_diag"
        if laplace is not None:
            step, initvals, start = laplace
            initialisation_seconds = start.seconds
            kwargs.setdefault("initvals", initvals)
            idata = pm.sample(
                draws=draws, tune=tune, chains=chains, step=step, random_seed=random_seed, **kwargs
            )
        else:
            if init != "laplace":
                kwargs.setdefault("init", init)
            idata = pm.sample(
                draws=draws,
                tune=tune,
                chains=chains,
                nuts_sampler=nuts_sampler,
                random_seed=random_seed,
                **kwargs,
            )
    sampling_seconds = time.perf_counter() - started
    idata = _augment(model, pm_model, idata, kind, nip, random_seed, sampling_seconds)
    attrs = idata["posterior"].attrs
    attrs["glpp_init"] = init
    attrs["initialisation_seconds"] = initialisation_seconds
    return idata


def _augment(model, pm_model, idata, kind, nip, random_seed, sampling_seconds):
    started = time.perf_counter()
    posterior = idata["posterior"].to_dataset()
    theta = _theta_draws(pm_model, posterior)
    level = model.design.levels[0]
    loglik, effects = cluster_loglik_draws(model, theta, nip, latents=(kind == "marginal"), rng=random_seed)
    coords = {"chain": posterior["chain"].values, "draw": posterior["draw"].values}
    label = level.name
    log_likelihood = xr.Dataset(
        {_response_name(model): (("chain", "draw", label), loglik)},
        coords={**coords, label: [str(c) for c in level.cluster_labels]},
    )
    idata["log_likelihood"] = log_likelihood
    if effects is not None:
        posterior[f"b[{label}]"] = xr.DataArray(
            effects,
            dims=("chain", "draw", label, f"{label}_latent"),
            coords={**coords, label: [str(c) for c in level.cluster_labels], f"{label}_latent": list(level.latent_names)},
        )
        idata["posterior"] = posterior
    if "observed_data" not in idata.children:
        idata["observed_data"] = xr.Dataset(
            {_response_name(model): (("row",), model.design.response)},
            coords={"row": np.arange(model.design.n_rows)},
        )
    attrs = idata["posterior"].attrs
    attrs["glpp_kind"] = kind
    attrs["glpp_nip"] = nip
    attrs["sampling_seconds"] = sampling_seconds
    attrs["postprocessing_seconds"] = time.perf_counter() - started
    return idata


# ------------------------------------------------------------------ MAP
def map_estimate(model, priors: dict | None = None, *, nip: int | None = None) -> pd.Series:
    """Posterior mode of the marginal model under the (default) priors.

    The mode is in the natural parameters (no Jacobian terms); returned as
    a Series indexed by the ML parameter names (``fit.params.index``).
    """
    pm_model = build_pymc_model(model, "marginal", priors=priors, nip=nip)
    with pm_model:
        result = pm.find_MAP(
            progressbar=False, jitter=False, return_inferencedata=True, compile_kwargs={"mode": compile_mode()}
        )
    posterior = result["posterior"].to_dataset()
    names = model.layout.natural_names
    return pd.Series([float(posterior[name].values.squeeze()) for name in names], index=list(names))
