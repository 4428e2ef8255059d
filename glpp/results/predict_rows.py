"""The rows a fitted model predicts on its own data: any structure of normal latents, or a discrete latent.

:mod:`glpp.results.predict` predicts a regression with random effects on any data
frame, coding new rows as the fitted ones were. The models here are predicted on
the fitted rows (``data=None``), read from the fitted design:

- **normal latents** with factor loadings, structural paths, wide (measurement)
  data, a family per item or per row, or a dispersion regression. Row ``r`` has
  ``eta_r = f_r(theta) + sum_l a_r^(l)(theta)' u^(l)`` with ``u^(l) ~ N(0, I)``: the
  fixed part ``f_r`` (covariate paths included) and the loadings ``a_r^(l)`` on the
  standardised latents come from the likelihood's own row graph
  (:class:`glpp.likelihood.predictor.RowPredictor`), so the latent part of ``eta_r``
  is normal with variance ``sum_l |a_r^(l)|^2`` and a marginal prediction is the
  same one-dimensional integral as for a random-effects regression.
  Conditional predictions put each cluster's EB mean of the disturbances ``L_l u^(l)``
  (:meth:`MLResult.latent`) in their place.
- **a discrete latent** (latent classes, mass points): row ``r`` of unit ``j`` has
  linear predictor ``eta_rc`` in class (point) ``c``; the conditional prediction is
  ``sum_c P(c | y_j) g^{-1}(eta_rc)`` (the posterior class probabilities) and the
  marginal one ``sum_c pi_c(v_j) g^{-1}(eta_rc)`` (the class sizes, from the
  membership model). On the link scale both are ``g`` of the mixture's mean.

Each row's mean is the inverse of its own link (:class:`RowLinks`); families whose
mean is not are predicted by their own modules from the same row graph
(:func:`row_parts_function`): ordinal responses by :mod:`glpp.results.predict_ordinal`,
multinomial choices and rankings by :mod:`glpp.results.predict_choice`.
"""

from __future__ import annotations

from functools import cache
from typing import Callable

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt

from glpp.design.long import complete_rows
from glpp.design.wide import complete_units
from glpp.families import MixedFamily

__all__ = [
    "ClassRowMeans", "DesignRowMeans", "NormalRowMeans", "RowLinks", "TRAPEZOID_POINTS", "fitted_index",
    "inverse_link", "normal_expectation", "row_arguments", "row_parts_function",
]

#: trapezoid points of a marginal prediction's integral over the latent part of eta
TRAPEZOID_POINTS = 2001
#: rows x points evaluated at once
CHUNK = 2**22


@cache
def _compiled_inverse(name: str) -> Callable[[np.ndarray], np.ndarray]:
    from glpp.families.links import LINKS

    eta = pt.dvector("eta")
    return pytensor.function([eta], LINKS[name].inverse(eta), mode="FAST_COMPILE")


def inverse_link(link, eta: np.ndarray) -> np.ndarray:
    """``g^{-1}(eta)`` in numpy, compiled from the link's one (pytensor) definition."""
    values = np.asarray(eta, dtype=float)
    return _compiled_inverse(link.name)(values.ravel()).reshape(values.shape)


def normal_expectation(function: Callable[[np.ndarray], np.ndarray], mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``E[function(mean_r + sd_r t)]``, ``t ~ N(0, 1)``, for each row, by the trapezoid rule.

    :data:`TRAPEZOID_POINTS` points on ``[-(10 + sd_r), 10 + sd_r]``: the range holds the
    mass of ``phi(t)`` and, for exponential means, of ``exp(sd t) phi(t)`` (centred at ``sd``).
    """
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    unit = np.linspace(-1.0, 1.0, TRAPEZOID_POINTS)
    result = np.empty(mean.shape)
    rows_per_chunk = max(1, CHUNK // TRAPEZOID_POINTS)
    for start in range(0, mean.size, rows_per_chunk):
        chunk = slice(start, start + rows_per_chunk)
        half_width = 10.0 + sd[chunk]
        t = half_width[:, None] * unit[None, :]
        weights = np.exp(-0.5 * t**2) / np.sqrt(2.0 * np.pi) * (2.0 * half_width / (TRAPEZOID_POINTS - 1))[:, None]
        weights[:, [0, -1]] *= 0.5
        result[chunk] = np.sum(weights * function(mean[chunk, None] + sd[chunk, None] * t), axis=1)
    return result


class RowLinks:
    """Each row's link: the model's, or its component's for a family per item or per row.

    Parameters
    ----------
    family : Family or MixedFamily
    link : Link
        The model's link (used when ``family`` is not mixed).
    family_index : ndarray of int or None
        Each row's component of a ``MixedFamily``.
    """

    def __init__(self, family, link, family_index: np.ndarray | None):
        mixed = isinstance(family, MixedFamily) and family_index is not None
        self.links = [component_link for _, component_link in family.components] if mixed else [link]
        self.index = np.asarray(family_index) if mixed else None

    def groups(self, n_rows: int):
        """``(link, rows)`` for each link: the rows (a boolean mask) that have it."""
        if self.index is None:
            return [(self.links[0], np.ones(n_rows, dtype=bool))]
        return [(link, self.index == k) for k, link in enumerate(self.links) if np.any(self.index == k)]

    def inverse(self, eta: np.ndarray) -> np.ndarray:
        """``g_r^{-1}(eta_r)``; ``eta`` has the rows on its first axis (trailing axes allowed)."""
        values = np.empty(np.shape(eta))
        for link, rows in self.groups(len(eta)):
            values[rows] = inverse_link(link, np.asarray(eta)[rows])
        return values

    def forward(self, mean: np.ndarray) -> np.ndarray:
        """``g_r(mean_r)``."""
        values = np.empty(np.shape(mean))
        with np.errstate(divide="ignore", invalid="ignore"):
            for link, rows in self.groups(len(mean)):
                values[rows] = link.forward(np.asarray(mean)[rows])
        return values


class NormalRowMeans:
    """Row means over normal latents: subclasses give :meth:`eta_parts` and ``links`` (:class:`RowLinks`)."""

    links: RowLinks

    def eta_parts(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mean and SD of each row's linear predictor over the integrated latents."""
        raise NotImplementedError

    def response(self, theta: np.ndarray) -> np.ndarray:
        """``E[g_r^{-1}(eta_r)]`` over the integrated latents (:func:`normal_expectation`)."""
        mean, sd = self.eta_parts(theta)
        values = self.links.inverse(mean)
        for link, rows in self.links.groups(len(mean)):
            spread = rows & (sd > 0)
            if np.any(spread):
                values[spread] = normal_expectation(lambda eta: inverse_link(link, eta), mean[spread], sd[spread])
        return values

    def link_scale(self, theta: np.ndarray) -> np.ndarray:
        """The linear predictor where nothing is integrated, else ``g_r`` of the marginal mean."""
        mean, sd = self.eta_parts(theta)
        spread = sd > 0
        values = mean.copy()
        if np.any(spread):
            values[spread] = self.links.forward(self.response(theta))[spread]
        return values


def fitted_index(model) -> pd.Index:
    """The fitted rows' labels: the data's index (long data), or (unit, item) pairs (wide data)."""
    design = model.design
    if design.item_names:
        units, _, _ = complete_units(model.spec, model.data)
        return pd.MultiIndex.from_arrays(
            [units.index[np.arange(design.n_rows) // len(design.item_names)],
             np.asarray(design.item_names, dtype=object)[design.item_index]],
            names=[model.data.index.name, "item"],
        )
    _, complete = complete_rows(model.spec, model.spec.regressions[0], model.data)
    return model.data.index[complete]


_ROW_FUNCTIONS: dict[tuple, Callable] = {}


def row_parts_function(layout, family, link) -> Callable:
    """Compiled ``(theta, *rows) -> (fixed part of eta, loadings on zeta of each level)``, one per structure.

    The loadings on the disturbances ``zeta = L u`` (covariates times factor loadings, through
    the structural model: :meth:`glpp.params.ParameterLayout.level_loadings`); the likelihood
    multiplies them by ``L``.
    """
    from glpp.likelihood.compile_cache import family_key

    key = (layout.structure_key, family_key(family, link))
    if key not in _ROW_FUNCTIONS:
        _ROW_FUNCTIONS[key] = _compile_row_parts(layout, family, link)
    return _ROW_FUNCTIONS[key]


def _compile_row_parts(layout, family, link) -> Callable:
    from glpp.likelihood.predictor import RowPredictor

    rows = RowPredictor(layout, family, link)
    inputs = [rows.theta, rows.fixed, rows.offset, *rows.covariates, *rows.loading_inputs, *rows.optional_inputs]
    loadings = [row_loadings for row_loadings, _ in layout.level_loadings(rows.theta, rows.covariates, rows.loading_index)]
    return pytensor.function(inputs, [rows.fixed_eta, *loadings], mode="FAST_COMPILE", on_unused_input="ignore")


def row_arguments(design) -> list[np.ndarray]:
    """The row inputs of :func:`row_parts_function`, in order."""
    from glpp.likelihood.predictor import optional_row_arrays

    arguments = [design.fixed, design.offset, *(level.covariates for level in design.levels)]
    if design.loadings:
        arguments += [level.full_loading_index + 1 for level in design.levels]
    return arguments + optional_row_arrays(design, np.arange(design.n_rows))


class DesignRowMeans(NormalRowMeans):
    """Row means of a model with normal latents on its fitted rows (module docstring).

    Parameters
    ----------
    model : Model
    moments : list of (ndarray, ndarray) or None
        Per level, the clusters' posterior means and covariances of ``u``
        (:meth:`MLResult.latent_moments`; conditional predictions); ``None``: every latent
        integrated out (marginal predictions).
    theta : ndarray
        The estimate: the EB means of the disturbances ``L u`` are held at it (as
        :meth:`MLResult.latent` reports them) when ``theta`` varies in the delta method.
    """

    def __init__(self, model, moments: list[tuple[np.ndarray, np.ndarray]] | None, theta: np.ndarray):
        design = model.design
        self.layout = model.layout
        self.factors = self.layout.cholesky_factors(theta)
        self.function = row_parts_function(model.layout, model.family, model.link)
        self.arguments = row_arguments(design)
        self.clusters = [level.cluster_index for level in design.levels]
        self.moments = moments
        self.links = RowLinks(model.family, model.link, design.family_index)
        self.n_rows = design.n_rows

    @property
    def new_cluster(self) -> np.ndarray:
        return np.zeros(self.n_rows, dtype=bool)

    def eta_parts(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mean and SD of each row's linear predictor over the integrated latents."""
        fixed_eta, *loadings = self.function(np.asarray(theta, dtype=float), *self.arguments)
        mean, variance = np.array(fixed_eta, dtype=float), np.zeros(self.n_rows)
        for number, (row_loadings, factor) in enumerate(zip(loadings, self.layout.cholesky_factors(theta))):
            if self.moments is None:
                variance += np.sum((row_loadings @ factor) ** 2, axis=1)
            else:
                effects = self.moments[number][0] @ self.factors[number].T
                mean += np.sum(row_loadings * effects[self.clusters[number]], axis=1)
        return mean, np.sqrt(variance)

    def posterior_variance(self, theta: np.ndarray) -> np.ndarray:
        """Each row's posterior variance of the latent part of ``eta`` (conditional predictions)."""
        _, *loadings = self.function(np.asarray(theta, dtype=float), *self.arguments)
        variance = np.zeros(self.n_rows)
        for row_loadings, clusters, factor, (_, covariance) in zip(loadings, self.clusters, self.factors, self.moments or []):
            on_u = row_loadings @ factor
            variance += np.einsum("ra,rab,rb->r", on_u, covariance[clusters], on_u)
        return variance


def _class_parts_function(kind: str, regression: bool):
    """Compiled ``(theta, sizes, fixed, offset, membership, item, shift covariate[, class columns,
    free positions]) -> (rows x points linear predictors, units x points log-weights)``."""
    from glpp.likelihood.discrete import DiscreteLevel

    theta, sizes = pt.vector("theta"), pt.vector("sizes", dtype="int64")
    fixed, offset, membership = pt.matrix("fixed"), pt.vector("offset"), pt.matrix("membership")
    item_index, shift_covariate = pt.vector("item", dtype="int64"), pt.vector("z")
    level = DiscreteLevel(kind, theta, sizes)
    inputs = [theta, sizes, fixed, offset, membership, item_index, shift_covariate]
    if regression:
        class_columns, free_positions = pt.matrix("class_columns"), pt.vector("free_positions", dtype="int64")
        inputs += [class_columns, free_positions]
        shifts = level.class_shifts(class_columns, free_positions)
    else:
        shifts = level.shifts(membership, item_index, shift_covariate)
    eta = (fixed @ level.beta + offset)[:, None] + shifts
    return pytensor.function(inputs, [eta, level.log_weights(membership)], mode="FAST_COMPILE", on_unused_input="ignore")


_CLASS_FUNCTIONS: dict[tuple[str, bool], object] = {}


class ClassRowMeans:
    """Row means of a model with a discrete latent: mixtures over its points (module docstring).

    Parameters
    ----------
    model : Model
    posterior : ndarray or None
        Units x points posterior probabilities (conditional predictions, fixed at the fit's);
        ``None``: the prior weights ``pi_c(v_j)`` at each ``theta`` (marginal predictions).
    """

    def __init__(self, model, posterior: np.ndarray | None):
        design, discrete = model.design, model.design.discrete
        self.layout, self.posterior = model.layout, posterior
        regression = discrete.class_columns is not None
        key = (discrete.kind, regression)
        if key not in _CLASS_FUNCTIONS:
            _CLASS_FUNCTIONS[key] = _class_parts_function(*key)
        self.function = _CLASS_FUNCTIONS[key]
        item_index = discrete.item_index if discrete.item_index is not None else np.zeros(design.n_rows, dtype=np.int64)
        covariate = discrete.shift_covariate if discrete.shift_covariate is not None else np.zeros(design.n_rows)
        self.arguments = [
            design.fixed[:, list(discrete.fixed_columns)].astype(float), design.offset.astype(float),
            discrete.membership.astype(float), item_index.astype(np.int64), covariate.astype(float),
        ]
        if regression:
            self.arguments += [discrete.class_columns.astype(float), np.flatnonzero(discrete.class_mask.ravel()).astype(np.int64)]
        self.units = discrete.unit_index
        self.links = RowLinks(model.family, model.link, design.family_index)
        self.n_rows = design.n_rows

    @property
    def new_cluster(self) -> np.ndarray:
        return np.zeros(self.n_rows, dtype=bool)

    def response(self, theta: np.ndarray) -> np.ndarray:
        """``sum_c w_jc g^{-1}(eta_rc)`` with the posterior or the prior weights ``w``."""
        eta, log_weights = self.function(np.asarray(theta, dtype=float), self.layout.sizes, *self.arguments)
        weights = self.posterior if self.posterior is not None else np.exp(log_weights)
        return np.sum(weights[self.units] * self.links.inverse(eta), axis=1)

    def link_scale(self, theta: np.ndarray) -> np.ndarray:
        return self.links.forward(self.response(theta))
