"""MAP as a fit: the ML objective plus a log-prior, maximised by the same stages.

:func:`penalised_objective` wraps the marginal log-likelihood of
:func:`glpp.fitting.make_objective` (the same adaptive quadrature and ``nip``
schedule) with the log-density of the priors at the *natural* parameters (no
Jacobian: the mode of the posterior density of ``beta``, ``sd``, ``cor``,
``lambda``, ``sigma``, ... as blme and ``pm.find_MAP`` define it), so
``maximise_likelihood`` returns the posterior mode and the curvature of the
log-posterior there (a Laplace approximation to the posterior: the SEs).

Prior sets (``Model.fit(method="map", priors=...)``):

- ``None`` or a dict: the Bayesian path's default priors
  (:func:`glpp.bayes.priors.default_priors`), overridden by name or type as
  for ``Model.sample``; LKJ(eta) on correlation blocks enters as
  ``(eta - 1) log det R`` (its normalising constant dropped).
- ``"flat"``: no prior; the fit is the ML fit.
- ``"boundary_avoiding"`` (Chung, Rabe-Hesketh, Dorie, Gelman & Liu 2013;
  R's blme): flat for every parameter except the latent covariances: a
  ``gamma(2, rate -> 0)`` prior on the SD of each latent alone in its block,
  ``log p = log sd``; a Wishart(df = d + 2.5, scale -> infinity) prior on the
  covariance matrix ``Sigma`` of a block of d correlated latents,
  ``log p = (df - d - 1) / 2 log det Sigma = 0.75 log det Sigma`` (blme's
  ``bglmer`` default, constants dropped). Both vanish at the boundary, so
  an SD cannot be 0 nor a correlation +-1 at the mode; where ML's estimate
  is interior they move it little. Use it where ML gives a singular fit (an
  SD at zero, a correlation at +-1), common with few clusters.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from glpp.bayes.priors import resolve_priors
from glpp.errors import SpecError

__all__ = ["PRIOR_SETS", "PenalisedObjective", "penalised_objective"]

#: the named prior sets of ``fit(method="map", priors=...)``
PRIOR_SETS = ("flat", "boundary_avoiding")
#: Wishart degrees of freedom above the dimension d of a block (blme: df = d + 2.5)
WISHART_EXTRA_DF = 2.5


class PenalisedObjective:
    """An objective (:class:`glpp.fitting.engines.Objective`) plus a log-prior.

    Calls give ``(-(loglik + log_prior), -gradient)``; :meth:`loglik` stays the
    log-likelihood alone (and sets the modes for the EB predictions); every
    other attribute is the wrapped objective's.

    Attributes
    ----------
    method : str
        ``"map"``.
    prior_lines : tuple of str
        The priors in words, for the summary.
    """

    method = "map"

    def __init__(self, objective, log_prior, prior_lines: tuple[str, ...]):
        self.objective = objective
        self._log_prior = log_prior
        self.prior_lines = prior_lines

    def __getattr__(self, name: str):
        return getattr(self.objective, name)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = self.objective(theta)
        prior, prior_gradient = self._log_prior(np.asarray(theta, dtype=float))
        return value - float(prior), gradient - np.asarray(prior_gradient)

    def log_prior(self, theta: np.ndarray) -> float:
        """The log-prior at ``theta`` (natural parameters, no Jacobian)."""
        return float(self._log_prior(np.asarray(theta, dtype=float))[0])


def penalised_objective(model, objective, priors: dict | str | None) -> PenalisedObjective:
    """``objective`` plus the log-prior of ``priors`` (see the module docstring).

    Raises
    ------
    SpecError
        An unknown prior set, or a prior dict naming no parameter.
    """
    if isinstance(priors, str) and priors not in PRIOR_SETS:
        raise SpecError(f"priors={priors!r} is not a prior set; use a dict of priors, None (the defaults) or one of {list(PRIOR_SETS)}")
    theta = pt.vector("theta")
    natural = _symbolic_natural(model.layout, theta)
    if priors == "flat":
        log_prior, lines = pt.constant(0.0), ("flat (the ML fit)",)
    elif priors == "boundary_avoiding":
        log_prior, lines = _boundary_avoiding(model.layout, theta)
    else:
        log_prior, lines = _bayes_defaults(model, natural, priors)
    function = pytensor.function([theta], [log_prior, pt.grad(log_prior, theta, disconnected_inputs="ignore")])
    return PenalisedObjective(objective, function, lines)


def _symbolic_natural(layout, theta: pt.TensorVariable) -> dict[str, pt.TensorVariable]:
    """Each free row's reported value as a function of ``theta`` (as ``ParameterLayout.natural``)."""
    covariances = [factor @ factor.T for factor in layout.unpack(theta)[1]]
    values: dict[str, pt.TensorVariable] = {}
    for k, parameter in enumerate(layout.free):
        if parameter.kind == "sd":
            values[parameter.name] = pt.sqrt(covariances[parameter.level][parameter.row, parameter.row])
        elif parameter.kind == "cor":
            covariance = covariances[parameter.level]
            i, j = parameter.row, parameter.column
            values[parameter.name] = covariance[i, j] / pt.sqrt(covariance[i, i] * covariance[j, j])
        elif parameter.transform == "log":
            values[parameter.name] = pt.exp(theta[k])
        else:
            values[parameter.name] = theta[k]
    if layout.n_thresholds:  # increasing within each set, as the likelihood reads them
        thresholds = layout.unpack_auxiliary(theta)[0]
        for k, name in enumerate(layout.names("threshold")):
            values[name] = thresholds[k]
    return values


def _bayes_defaults(model, natural, priors) -> tuple[pt.TensorVariable, tuple[str, ...]]:
    resolved = resolve_priors(model, priors)
    terms, lines = [], []
    for name, value in natural.items():
        if model.layout.kinds[name] == "cor":
            continue
        prior = resolved.get(name)
        if prior is None and model.layout.kinds[name] == "threshold":  # sample()'s ordered vector, per threshold
            prior = pm.Normal.dist(0.0, model.family.cutpoints.prior_sd)
        terms.append(pm.logp(prior, value))
        lines.append(f"{name} ~ {_describe(prior)}")
    for level_number, level in enumerate(model.design.levels):
        eta = resolved.get(f"cor[{level.name}]")
        if eta is None:
            continue
        covariance = _block_covariances(model.layout, natural, level_number)
        for correlation in covariance:
            terms.append((eta - 1.0) * pt.log(pt.nlinalg.det(correlation)))
        lines.append(f"cor[...|{level.name}] ~ LKJ(eta={eta:g})")
    return pt.sum(pt.stack(terms)) if terms else pt.constant(0.0), tuple(lines)


def _block_covariances(layout, natural, level_number: int) -> list[pt.TensorVariable]:
    """The correlation matrix of each correlated block of a level, from the symbolic ``cor`` values."""
    blocks = [block for block in layout.blocks if block.level == level_number and len(block.positions) > 1]
    matrices = []
    for block in blocks:
        size = len(block.positions)
        matrix = pt.eye(size)
        for name, level, i, j in layout.variance_names:
            if level == level_number and i != j and i in block.positions and j in block.positions:
                a, b = block.positions.index(i), block.positions.index(j)
                matrix = pt.set_subtensor(matrix[a, b], natural[name])
                matrix = pt.set_subtensor(matrix[b, a], natural[name])
        matrices.append(matrix)
    return matrices


def _boundary_avoiding(layout, theta: pt.TensorVariable) -> tuple[pt.TensorVariable, tuple[str, ...]]:
    factors = layout.unpack(theta)[1]
    terms, lines = [], []
    for block in layout.blocks:
        if block.unit_variance:
            continue
        index = np.asarray(block.positions)
        factor = factors[block.level][index[:, None], index[None, :]]
        covariance = factor @ factor.T
        names = [name for name, level, i, j in layout.variance_names if level == block.level and i == j and i in block.positions]
        if len(block.positions) == 1:
            terms.append(0.5 * pt.log(covariance[0, 0]))
            lines.append(f"{names[0]} ~ Gamma(shape=2, rate->0)")
        else:
            size = len(block.positions)
            # (df - d - 1) / 2 log det Sigma with df = d + 2.5
            terms.append((WISHART_EXTRA_DF - 1.0) / 2.0 * pt.log(pt.nlinalg.det(covariance)))
            lines.append(f"covariance of {', '.join(names)} ~ Wishart(df={size + WISHART_EXTRA_DF:g}, scale->inf)")
    lines.append("every other parameter: flat")
    return (pt.sum(pt.stack(terms)) if terms else pt.constant(0.0)), tuple(lines)


def _describe(dist) -> str:
    """A PyMC ``.dist()`` in words: its class and parameters."""
    op = dist.owner.op
    name = getattr(op, "name", type(op).__name__)
    parameters = []
    for value in dist.owner.inputs[2:]:
        try:
            parameters.append(f"{float(pt.get_underlying_scalar_constant_value(value)):.3g}")
        except Exception:
            parameters.append("...")
    return f"{name}({', '.join(parameters)})"
