"""Default priors of the Bayesian models and the user's overrides (``priors={...}``).

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
``tau[...]``        ordinal thresholds: ``Normal(0, 5)`` each, ordered (one PyMC
                    vector ``tau`` or ``tau[item]`` per set, PyMC's ordered
                    transform; not overridable yet)
``tau[1|2~z]``      ``Normal(0, 5)`` (threshold covariates)
``log_sigma[z]``    ``Normal(0, 5)`` (dispersion regressions: ``log_sigma``,
                    ``log_shape``, ``log_size``, ``log_scale``)
``nu[C1:item]``     latent classes: ``Normal(0, 10 * s_item)`` (an item's intercept
                    in a class, link scale)
``class[C1]``       class sizes of exchangeable classes: ``Dirichlet(1, ..., 1)``
                    on the class probabilities (uniform on the simplex; two
                    classes: ``class[C1]`` is ``Logistic(0, 1)``); ``priors=
                    {"class": alpha}`` sets the concentration. Anchored labels
                    (known classes, ``C1:z``): ``Normal(0, 5)`` on the log-odds
``class[C1:v]``     membership slopes of exchangeable classes: each class's
                    ``Normal(0, 5 / s_v)`` (log-odds against the last class
                    ``MvNormal(0, (5 / s_v)^2 (I + 1 1'))``); anchored ``Normal(0, 5)``
``mass[g:1]``       NPML mass points' sizes: as ``class[C1]`` (``pi[g]``, Dirichlet)
``location[g:1]``   every mass point's location (the last one, set by the zero
                    mean, too) ``Normal(0, 5 * s_y)``, on the plane of the zero mean
==================  ==========================================================

The priors of discrete latents are made by :func:`glpp.bayes.discrete.discrete_priors`
(module :mod:`glpp.bayes.discrete`: why exchangeable classes need an exchangeable prior, and
how their labels are matched to the ML fit's after sampling, :mod:`glpp.bayes.labels`).

Override them with ``priors={name: dist}`` where ``name`` is a parameter name
(``"sd[patient]"``, ``"beta[month]"``, ``"lambda[F,i2]"``) or a parameter type
(``"beta"``, ``"nu"``, ``"sd"``, ``"lambda"``, ``"path"``, ``"sigma"``,
``"shape"``, ``"size"``; applies to every parameter of that type not named explicitly),
and ``dist`` a scalar PyMC distribution made with ``.dist()``, e.g.
``pm.HalfNormal.dist(5)``. ``"cor"`` takes the LKJ ``eta`` (a positive
number); ``"cor[<level>]"`` sets it for one level.

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
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from glpp.errors import SpecError

__all__ = ["DEFAULT_LKJ_ETA", "default_priors", "resolve_priors"]

#: LKJ shape of correlation matrices unless overridden by ``priors["cor"]``.
DEFAULT_LKJ_ETA = 2.0
#: prior SD of a free loading relative to the reference item's (first loading fixed at 1)
LOADING_PRIOR_SD = 2.0


def _scale(values: np.ndarray) -> float:
    spread = float(np.std(values))
    return spread if spread > 1e-12 else 1.0


def _scaled_rows(model) -> np.ndarray:
    """The rows whose responses are on the linear predictor's scale: all of them, or for a family
    per item or row (``Design.family_index``) those of its gaussian components."""
    design = model.design
    if design.family_index is None:
        return np.ones(design.n_rows, dtype=bool)
    return model.family.response_rows(design.family_index)


def _response_scale(model) -> float:
    return _item_scale(model, np.ones(model.design.n_rows, dtype=bool))


def _item_scale(model, rows: np.ndarray) -> float:
    """SD of the responses of ``rows`` (their gaussian rows; 1 where there are none)."""
    rows = rows & _scaled_rows(model)
    if not model.family.has_response_scale or not np.any(rows):
        return 1.0
    return _scale(model.design.response[rows])


def _loading_priors(model) -> dict[str, object]:
    """``lambda[...]``: ``Normal(1, 2 s_item / s_ref)``, or on the item's scale
    (``Normal(0, 5 s_item)``, the first one ``HalfNormal``) for unit-variance latents."""
    design, layout = model.design, model.layout
    unit_rows = set(layout.unit_variance_rows)
    priors: dict[str, object] = {}
    for k, (entry, (fixed, parameter)) in enumerate(zip(design.loadings, layout.loading_sources)):
        name = layout.loading_parameters[parameter] if fixed is None else None
        if name is None or name in priors:
            continue
        # the level whose latent it is (a multilevel factor model has factors at several)
        level_number = next(n for n, level in enumerate(design.levels) if entry.latent in level.latent_names)
        level = design.levels[level_number]
        position = level.latent_names.index(entry.latent)
        s_item = _item_scale(model, level.loading_index[:, position] == k)
        if (level_number, position) in unit_rows:
            first = not any(
                other.latent == entry.latent and other.fixed is None for other in design.loadings[:k]
            )
            # the first free loading of a unit-variance latent is positive: it fixes the sign
            priors[name] = pm.HalfNormal.dist(5.0 * s_item) if first else pm.Normal.dist(0.0, 5.0 * s_item)
        else:
            # centred at the reference item's loading: keeps the chains away from the mirror
            # mode where the reference item barely loads and all other loadings change sign
            reference = (level.loading_index[:, position] == -1) & (level.covariates[:, position] != 0)
            priors[name] = pm.Normal.dist(1.0, LOADING_PRIOR_SD * s_item / _item_scale(model, reference))
    return priors


def _path_priors(model) -> dict[str, object]:
    """``path[F~G]`` (latent on latent): ``Normal(0, 5)``; ``path[F~w]``: ``Normal(0, 5 s_y / s_w)``."""
    design, layout = model.design, model.layout
    s_y = _response_scale(model)
    priors: dict[str, object] = {}
    for name, (kind, _, predictor) in zip(layout.path_names, layout.path_positions):
        if kind == "latent":
            priors[name] = pm.Normal.dist(0.0, 5.0)
        else:
            priors[name] = pm.Normal.dist(0.0, 5.0 * s_y / _scale(design.latent_covariates[:, predictor]))
    return priors


def _dispersion_priors(model) -> dict[str, object]:
    """The family's default prior of its auxiliary parameter (:attr:`AuxParameter.prior`), on the
    scale of the item's rows: ``sigma``: ``HalfNormal(5 s_y)``; ``shape``: ``Gamma(0.01, 0.01)``."""
    design, layout = model.design, model.layout
    priors: dict[str, object] = {}
    single = layout.dispersion_names == (layout.dispersion,)
    for k, name in enumerate(layout.dispersion_names):
        rows = np.ones(design.n_rows, dtype=bool) if single else design.dispersion_index == k
        family = model.family
        if design.family_index is not None:  # a family per item or row: the one owning parameter k
            family = family.aux_family(design.family_index, design.dispersion_index, k)
        priors[name] = family.aux.prior(pm, _item_scale(model, rows))
    return priors


def default_priors(model) -> dict[str, object]:
    """The default prior of every parameter of ``model``, by name.

    Returns a dict ``name -> distribution`` (unregistered ``.dist()``
    variables) for fixed effects, SDs, loadings, paths and dispersions, and
    ``"cor[<level>]" -> eta`` for each level with correlated latents. See the
    module docstring.
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
    priors.update(_loading_priors(model))
    priors.update(_path_priors(model))
    priors.update(_dispersion_priors(model))
    for name in layout.names("threshold_slope", "dispersion"):
        priors[name] = pm.Normal.dist(0.0, 5.0)
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
