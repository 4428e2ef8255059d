"""The objective of a growth mixture: classes of units with a normal random effect within class.

:class:`MixtureObjective` is a :class:`~glpp.fitting.discrete.DiscreteObjective` (random
starts, label order and results are shared) whose log-likelihood integrates the random
effect of every unit and class by adaptive Gauss-Hermite quadrature
(:mod:`glpp.likelihood.mixture`): before each evaluation the modes of all ``n_units x K``
integrands are found by :func:`glpp.fitting.modes.newton_search`, warm-started at the last
evaluation's modes and converged to its tolerance, so that the objective is a function of
the parameters alone.
"""

from __future__ import annotations

import numpy as np

from glpp.design.arrays import Design
from glpp.errors import SpecError
from glpp.families import MixedFamily
from glpp.fitting.discrete import DiscreteObjective
from glpp.fitting.modes import newton_search
from glpp.likelihood.latent import GaussHermiteLevel
from glpp.likelihood.mixture import compile_mixture
from glpp.likelihood.quadrature import make_rule
from glpp.params.discrete import DiscreteLayout

__all__ = ["MIXTURE_NIP", "MixtureObjective", "make_discrete_objective"]

#: adaptive quadrature points of a growth mixture's random effect with ``nip="auto"`` (gllamm's
#: default 8; one point is exact for a gaussian response with identity link, more cost little
#: for one dimension)
MIXTURE_NIP = 8

_COMPILED: dict[tuple, dict] = {}


class MixtureObjective(DiscreteObjective):
    """Log-likelihood and gradient of a growth mixture (``C@id ~~ classes(k)`` with ``(1 | id)``).

    Parameters
    ----------
    design : Design
        With ``design.discrete.random_covariate`` (:mod:`glpp.design.class_regression`).
    layout : DiscreteLayout
    family, link
    nip : int
        Adaptive Gauss-Hermite points for each unit's and class's integral.
    """

    def __init__(self, design: Design, layout: DiscreteLayout, family, link, *, nip: int = MIXTURE_NIP):
        super().__init__(design, layout, family, link)
        discrete = design.discrete
        self.nip = nip
        self.random_covariate = discrete.random_covariate[self.row_order].astype(float)
        self.rule = GaussHermiteLevel.rule_arguments(make_rule(nip, 1))
        self.modes = np.zeros((discrete.n_units, layout.n_points))

    def _compile(self, balanced: bool) -> dict:
        design, family, link = self.design, self.family, self.link
        key = (family.name, link.name, design.dispersion_index is not None, isinstance(family, MixedFamily))
        if key not in _COMPILED:
            _COMPILED[key] = compile_mixture(family, link, with_dispersion_index=key[2], mixed=key[3])
        return _COMPILED[key]

    def find_modes(self, theta: np.ndarray) -> np.ndarray:
        """The modes ``(n_units, K)`` of every unit's and class's integrand at ``theta``."""
        shape = self.modes.shape

        def terms(modes):
            log_posterior, score, neg_hessian = self.functions["mode_terms"](
                theta, self.layout.sizes, modes[0].reshape(shape), self.random_covariate, *self.data
            )
            step = np.asarray(score) / np.asarray(neg_hessian)
            return np.asarray(log_posterior).ravel(), [np.asarray(score).reshape(-1, 1)], [step.reshape(-1, 1)]

        start = self.modes if np.all(np.isfinite(self.modes)) else np.zeros(shape)
        modes = newton_search(terms, [start.reshape(-1, 1)])[0].reshape(shape)
        if np.all(np.isfinite(modes)):
            self.modes = modes
        return modes

    def _arguments(self, theta: np.ndarray) -> list:
        modes = self.find_modes(theta)
        return [theta, self.layout.sizes, modes, *self.rule, self.random_covariate, *self.data]

    def loglik(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        value, gradient, per_unit = self.functions["value_and_grad"](*self._arguments(theta))
        return float(value), np.asarray(gradient), np.asarray(per_unit)

    def per_unit(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(np.asarray(v) for v in self.functions["per_unit"](*self._arguments(theta)))

    def conditional_at(self, theta: np.ndarray, locations: np.ndarray) -> np.ndarray:
        raise NotImplementedError("mass points only")


def make_discrete_objective(
    design: Design, layout: DiscreteLayout, family, link, *, nip: int | str = "auto"
) -> DiscreteObjective:
    """The objective of a model with a discrete latent: a :class:`MixtureObjective` for a growth
    mixture (``nip`` points, :data:`MIXTURE_NIP` for ``"auto"``), else the exact sum over the points.

    Raises
    ------
    SpecError
        ``nip`` that is not a positive whole number or ``"auto"`` for a growth mixture.
    """
    if design.discrete.random_covariate is None:
        return DiscreteObjective(design, layout, family, link)
    if nip == "auto":
        nip = MIXTURE_NIP
    if not isinstance(nip, int | np.integer) or nip < 1:
        raise SpecError(f"nip={nip!r}: a growth mixture takes one whole number of points (or 'auto')")
    return MixtureObjective(design, layout, family, link, nip=int(nip))
