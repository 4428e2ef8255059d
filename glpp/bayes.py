"""Design -> PyMC model (full-latent or marginal), NUTS, MAP.

Two kinds of PyMC model share one set of parameter variables, named exactly
as in the ML output (``beta[x]``, ``sd[patient]``, ``sd[days|subject]``,
``cor[(Intercept),days|subject]``, ``sigma``), and one definition of each
family and link (:meth:`glpp.families.Family.logp`):

- ``kind="latent"``: every latent variable is a PyMC variable. By default
  non-centred: ``z[level] ~ N(0, I)`` per cluster and the effects
  ``b[level] = z L'`` (``L`` the Cholesky factor of the level's covariance)
  are a deterministic; ``parameterization="centered"`` samples ``b[level]``
  directly. The responses are an observed :class:`pymc.CustomDist` whose
  log-density is the family's.
- ``kind="marginal"``: the latents are integrated out by the adaptive
  Gauss-Hermite graph of :mod:`glpp.marginal`; its per-cluster
  log-likelihood is added as a :func:`pymc.Potential`. Each cluster's mode
  comes from :class:`ModeOp`, an Op that runs the vectorised Newton search
  of :class:`glpp.optim.AdaptiveObjective` (warm-started) and has a zero
  gradient: the graph takes one Newton step from the modes, so the gradient
  of the approximation is exact.

The marginal kind uses a fixed rule of ``nip`` points per latent dimension
(:func:`default_nip`: 15, or 1 for gaussian identity-link models where
adaptive quadrature with one point is exact, unless given).

Priors (weakly informative, on the data's scale; ``s_y`` is the SD of the
response for gaussian models and 1 otherwise, ``s_x`` the SD of a covariate
column, 1 for constant columns):

==============  ==============================================================
``beta[x]``     ``Normal(0, 10 * s_y / s_x)``
``sd[...]``     ``HalfNormal(5 * s_y / s_z)``  (``s_z``: the latent's covariate)
``cor[...]``    LKJ(eta=2) on each correlated block's correlation matrix
``sigma``       ``HalfNormal(5 * s_y)``
``shape``       ``Gamma(0.01, 0.01)`` (gamma family)
==============  ==============================================================

Override them with ``priors={name: dist}`` where ``name`` is a parameter name
(``"sd[patient]"``, ``"beta[month]"``) or a parameter type (``"beta"``,
``"sd"``, ``"sigma"``, ``"shape"``; applies to every parameter of that type
not named explicitly), and ``dist`` a scalar PyMC distribution made with
``.dist()``, e.g. ``pm.HalfNormal.dist(5)``. ``"cor"`` takes the LKJ ``eta``
(a positive number); ``"cor[<level>]"`` sets it for one level.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytensor.tensor as pt
import xarray as xr
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.graph.replace import graph_replace
from pytensor.graph.traversal import ancestors

from glpp.errors import SpecError
from glpp.marginal import COMPILE_MODE, _Graph, data_arguments
from glpp.optim import AdaptiveObjective
from glpp.quadrature import make_rule

__all__ = [
    "DEFAULT_NIP",
    "DEFAULT_LKJ_ETA",
    "default_nip",
    "default_priors",
    "build_pymc_model",
    "sample",
    "map_estimate",
    "ModeOp",
    "cluster_loglik_draws",
]

#: Gauss-Hermite points per latent dimension of the marginal kind (and of the
#: per-cluster log-likelihoods stored after sampling) unless ``nip`` is given.
DEFAULT_NIP = 15
#: LKJ shape of correlation matrices unless overridden by ``priors["cor"]``.
DEFAULT_LKJ_ETA = 2.0


def default_nip(model) -> int:
    """Points per dimension for the marginal kind: 1 (Laplace, exact) for a
    gaussian identity-link model, whose integrand is gaussian, else :data:`DEFAULT_NIP`."""
    if model.family.name == "gaussian" and model.link.name == "identity":
        return 1
    return DEFAULT_NIP


#: importance-sampling proposals per cluster and draw when recovering latents
LATENT_PROPOSALS = 16
#: degrees of freedom of the multivariate-t importance proposal
PROPOSAL_DF = 7.0

KINDS = ("latent", "marginal")


# ---------------------------------------------------------------- priors
def _scale(values: np.ndarray) -> float:
    spread = float(np.std(values))
    return spread if spread > 1e-12 else 1.0


def _response_scale(model) -> float:
    return _scale(model.design.response) if model.family.name == "gaussian" else 1.0


def default_priors(model) -> dict[str, object]:
    """The default prior of every parameter of ``model``, by name.

    Returns a dict ``name -> distribution`` (unregistered ``.dist()``
    variables) for fixed effects, SDs and dispersion, and ``"cor[<level>]" ->
    eta`` for each level with correlated latents. See the module docstring.
    """
    design, layout = model.design, model.layout
    s_y = _response_scale(model)
    priors: dict[str, object] = {}
    for k, name in enumerate(layout.fixed_names):
        priors[name] = pm.Normal.dist(0.0, 10.0 * s_y / _scale(design.fixed[:, k]))
    for level_number, level in enumerate(design.levels):
        for name, lvl, i, j in layout.variance_names:
            if lvl == level_number and i == j:
                priors[name] = pm.HalfNormal.dist(5.0 * s_y / _scale(level.covariates[:, i]))
        if any(len(block.latent_positions) > 1 for block in level.blocks):
            priors[f"cor[{level.name}]"] = DEFAULT_LKJ_ETA
    if layout.dispersion == "sigma":
        priors["sigma"] = pm.HalfNormal.dist(5.0 * s_y)
    elif layout.dispersion == "shape":
        priors["shape"] = pm.Gamma.dist(0.01, 0.01)
    return priors


def _parameter_type(name: str) -> str:
    return name.split("[", 1)[0]


def resolve_priors(model, priors: dict | None) -> dict[str, object]:
    """Defaults updated by ``priors`` (names first, then types)."""
    resolved = default_priors(model)
    if not priors:
        return resolved
    types = {_parameter_type(name) for name in resolved} | {"cor"}
    for key in priors:
        if key not in resolved and key not in types:
            raise SpecError(
                f"no parameter or parameter type {key!r} to set a prior for. "
                f"Available: {sorted(resolved) + sorted(types)}"
            )
    for name in resolved:
        if name in priors:
            resolved[name] = priors[name]
        elif _parameter_type(name) in priors:
            resolved[name] = priors[_parameter_type(name)]
    for name, value in resolved.items():
        if _parameter_type(name) == "cor":
            if not (isinstance(value, (int, float)) and value > 0):
                raise SpecError(f"the prior {name!r} is an LKJ eta: a positive number, not {value!r}")
        elif not (isinstance(value, pt.TensorVariable) and value.owner is not None and value.ndim == 0):
            raise SpecError(
                f"the prior of {name!r} must be a scalar PyMC distribution made with .dist(), "
                f"e.g. pm.HalfNormal.dist(5); got {value!r}"
            )
    return resolved


def _register(pm_model: pm.Model, dist: pt.TensorVariable, name: str) -> pt.TensorVariable:
    """Register a copy of a ``.dist()`` variable (one dist may serve several names)."""
    copy = dist.owner.clone().outputs[dist.owner.outputs.index(dist)]
    return pm_model.register_rv(copy, name)


# ------------------------------------------------------------ parameters
@dataclass
class _Parameters:
    beta: pt.TensorVariable
    factors: list[pt.TensorVariable]  # Cholesky factor of each level's covariance
    log_dispersion: pt.TensorVariable | None
    theta: pt.TensorVariable  # the ML parameter vector, in ParameterLayout order


def _add_parameters(model, pm_model: pm.Model, priors: dict[str, object]) -> _Parameters:
    design, layout = model.design, model.layout
    beta = pt.stack([_register(pm_model, priors[name], name) for name in layout.fixed_names])
    factors = []
    for level_number, level in enumerate(design.levels):
        size = level.n_latents
        factor = pt.zeros((size, size))
        for block in level.blocks:
            positions = block.latent_positions
            sd_names = [n for n, lvl, i, j in layout.variance_names if lvl == level_number and i == j and i in positions]
            sds = pt.stack([_register(pm_model, priors[name], name) for name in sd_names])
            if len(positions) == 1:
                factor = pt.set_subtensor(factor[positions[0], positions[0]], sds[0])
                continue
            k = len(positions)
            label = level.name if len(level.blocks) == 1 else f"{level.name}:{block.term}"
            corr_chol = pm.LKJCorr(f"cor_chol[{label}]", n=k, eta=priors[f"cor[{level.name}]"])
            correlation = corr_chol @ corr_chol.T
            for a, i in enumerate(positions):
                for b, j in enumerate(positions[a + 1 :], start=a + 1):
                    name = f"cor[{level.latent_names[i]},{level.latent_names[j]}|{level.name}]"
                    pm.Deterministic(name, correlation[a, b])
            block_factor = sds[:, None] * corr_chol
            index = np.asarray(positions)
            factor = pt.set_subtensor(factor[index[:, None], index[None, :]], block_factor)
        factors.append(factor)
    log_dispersion = None
    if layout.dispersion is not None:
        log_dispersion = pt.log(_register(pm_model, priors[layout.dispersion], layout.dispersion))
    pieces = [beta]
    for entry in layout.cholesky_entries:
        value = factors[entry.level][entry.row, entry.column]
        pieces.append(pt.log(value)[None] if entry.row == entry.column else value[None])
    if log_dispersion is not None:
        pieces.append(log_dispersion[None])
    return _Parameters(beta, factors, log_dispersion, pt.concatenate(pieces))


# ------------------------------------------------------------- mode Op
class ModeOp(Op):
    """theta -> each cluster's posterior mode (J, d), by numpy Newton search.

    ``perform`` calls :meth:`glpp.optim.AdaptiveObjective.find_modes`,
    warm-started from the previous call. The gradient is zero: the
    quadrature graph takes one Newton step from these modes, which carries
    the derivative of the mode.
    """

    def __init__(self, model, nip: int):
        self.model = model
        self.nip = nip
        self._objective: AdaptiveObjective | None = None

    @property
    def objective(self) -> AdaptiveObjective:
        if self._objective is None:
            self._objective = _objective(self.model, self.nip)
        return self._objective

    def __getstate__(self):  # compiled functions are rebuilt (from cache) after unpickling
        state = self.__dict__.copy()
        state["_objective"] = None
        return state

    def make_node(self, theta):
        theta = pt.as_tensor_variable(theta)
        return Apply(self, [theta], [pt.matrix(dtype="float64")])

    def perform(self, node, inputs, outputs):
        (theta,) = inputs
        objective = self.objective
        if not np.all(np.isfinite(theta)):
            outputs[0][0] = np.full_like(objective.modes, np.nan)
            return
        modes = objective.find_modes(np.asarray(theta, dtype=float))
        if not np.all(np.isfinite(modes)):
            objective.modes = np.zeros_like(objective.modes)
        outputs[0][0] = np.array(modes, dtype=float)

    def pullback(self, inputs, outputs, cotangents):
        return [pt.zeros_like(inputs[0])]

    def infer_shape(self, *arguments):  # (node, input_shapes); older pytensor also passes fgraph
        level = self.model.design.levels[0]
        return [(level.n_clusters, level.n_latents)]


def _objective(model, nip: int) -> AdaptiveObjective:
    """Mode search of the ML path (compiled functions shared with :meth:`Model.fit`)."""
    from glpp.model import _compiled

    functions = _compiled(model.layout, model.family, model.link, True)
    level = model.design.levels[0]
    rule = make_rule(nip, level.n_latents, "product")
    return AdaptiveObjective(functions, data_arguments(model.design), level.n_clusters, rule)


def _data_replacements(graph: _Graph, model) -> dict:
    """The graph's data inputs as constants (rows in cluster order, as the ML path has them)."""
    return {
        variable: pt.constant(np.asarray(value, dtype=variable.dtype))
        for variable, value in zip(graph.data_inputs, data_arguments(model.design))
    }


def _marginal_cluster_loglik(model, theta: pt.TensorVariable, nip: int) -> pt.TensorVariable:
    """Per-cluster adaptive-quadrature log-likelihood as a function of ``theta``."""
    graph = _Graph(model.layout, model.family, model.link)
    cluster_loglik = graph.cluster_loglik(adaptive=True)
    rule = make_rule(nip, graph.n_latents, "product")
    log_weights, signs = rule.log_weights_over_density()
    modes = ModeOp(model, nip)(theta)
    replacements = {
        graph.theta: theta,
        graph.modes: modes,
        graph.nodes: pt.constant(rule.nodes),
        graph.log_weights: pt.constant(log_weights),
        graph.signs: pt.constant(signs.astype(float)),
        **_data_replacements(graph, model),
    }
    return graph_replace(cluster_loglik, replacements, strict=False)


# ------------------------------------------------------------- models
def _check_supported(model) -> None:
    """Two-level GLMMs only, for now (no loadings, paths or dispersion models)."""
    layout = model.layout
    unsupported = [
        feature
        for feature, present in (
            ("free loadings", getattr(layout, "loading_parameters", ())),
            ("structural paths", getattr(layout, "path_names", ())),
            ("a dispersion model", getattr(layout, "n_dispersion", 0) > 1),
            ("more than two levels", len(model.design.levels) > 1),
        )
        if present
    ]
    if unsupported:
        raise SpecError(
            "Bayesian models are available for two-level GLMMs only so far; this model has "
            + ", ".join(unsupported)
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
    design = model.design
    with pm.Model(coords=_coords(model)) as pm_model:
        parameters = _add_parameters(model, pm_model, resolved)
        if kind == "marginal":
            cluster_loglik = _marginal_cluster_loglik(model, parameters.theta, nip or default_nip(model))
            pm.Potential("marginal_loglik", cluster_loglik.sum())
        else:
            eta = pt.dot(pt.constant(design.fixed), parameters.beta) + pt.constant(design.offset)
            for level_number, level in enumerate(design.levels):
                dims = (level.name, f"{level.name}_latent")
                factor = parameters.factors[level_number]
                if parameterization == "noncentered":
                    standard = pm.Normal(f"z[{level.name}]", 0.0, 1.0, dims=dims)
                    effects = pm.Deterministic(f"b[{level.name}]", standard @ factor.T, dims=dims)
                else:
                    effects = pm.MvNormal(f"b[{level.name}]", mu=pt.zeros(level.n_latents), chol=factor, dims=dims)
                eta = eta + pt.sum(pt.constant(level.covariates) * effects[pt.constant(level.cluster_index)], axis=1)
            _observed(model, eta, parameters.log_dispersion)
    pm_model.glpp_theta = parameters.theta  # used by sample() for the per-cluster log-likelihoods
    pm_model.glpp_kind = kind
    return pm_model


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
    function = pytensor.function(inputs, theta, on_unused_input="ignore", mode=COMPILE_MODE)
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
    **kwargs,
):
    """Sample the posterior by NUTS; return an arviz DataTree.

    Groups: ``posterior`` (parameters under their ML names; ``b[<level>]``,
    the latent effects per cluster, for both kinds: for the marginal kind
    drawn afterwards from each cluster's conditional posterior given each
    draw), ``sample_stats``, ``observed_data`` and ``log_likelihood``: the
    marginal log-likelihood of each top-level cluster (adaptive quadrature,
    ``nip`` points), so that ``arviz.loo`` is leave-one-cluster-out.

    Other keyword arguments go to :func:`pymc.sample`.
    """
    nip = nip or default_nip(model)
    pm_model = build_pymc_model(model, kind, priors=priors, nip=nip)
    started = time.perf_counter()
    kwargs.setdefault("compile_kwargs", {"mode": COMPILE_MODE})
    with pm_model:
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            nuts_sampler=nuts_sampler,
            random_seed=random_seed,
            **kwargs,
        )
    sampling_seconds = time.perf_counter() - started
    return _augment(model, pm_model, idata, kind, nip, random_seed, sampling_seconds)


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
            progressbar=False, jitter=False, return_inferencedata=True, compile_kwargs={"mode": COMPILE_MODE}
        )
    posterior = result["posterior"].to_dataset()
    names = model.layout.natural_names
    return pd.Series([float(posterior[name].values.squeeze()) for name in names], index=list(names))
