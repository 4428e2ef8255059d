"""Predictions of a fitted regression: conditional on the latents' EB means, or marginal.

Row ``r`` has linear predictor ``eta_r = x_r' beta + offset_r + sum_l z_r^(l)' zeta^(l)``
with the latents ``zeta^(l) ~ N(0, Sigma_l)`` of the row's cluster at each level.

- ``kind="conditional"``: each ``zeta^(l)`` is replaced by its cluster's empirical Bayes
  (posterior) mean (:meth:`MLResult.latent`), and the response-scale prediction is
  ``g^{-1}(eta_r)``. lme4's ``predict.merMod`` plugs in the conditional modes instead; for a
  gaussian model with identity link the two are equal. A row whose cluster at some level was
  not in the fit has that level's latents integrated out, as in a marginal prediction (the
  ``new_cluster`` column says which rows).
- ``kind="marginal"`` (population-averaged): ``E[y_r] = E[g^{-1}(eta_r)]`` over the latents.
  The latent part of ``eta_r`` is normal with variance ``v_r = sum_l z_r' Sigma_l z_r``, so
  the prediction is a one-dimensional integral per row, computed by the trapezoid rule on
  :data:`TRAPEZOID_POINTS` points over ``|t| <= 10 + sqrt(v_r)`` in the standard normal
  ``t`` (exponentially accurate for analytic inverse links; ~1e-10 for a logit with latent SD 8).
  On the link scale the marginal prediction is ``g(E[y_r])``.

Standard errors of marginal predictions (and of every prediction of a model without
latents) are by the delta method: the derivative of the link-scale prediction in the
optimised parameters (central differences) with the fit's covariance of those
(``fit.vcov("optimised")``). Intervals are Wald intervals on the link scale, mapped by
the inverse link for the response scale (so they stay in the response's range).
"""

from __future__ import annotations

from functools import cache
from typing import Callable

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
from scipy.special import ndtri

from glpp.design.prediction import PredictionRows, build_prediction_rows, check_predictable
from glpp.errors import SpecError

__all__ = ["KINDS", "SCALES", "TRAPEZOID_POINTS", "normal_expectation", "predict"]

KINDS = ("conditional", "marginal")
SCALES = ("response", "link")
#: trapezoid points of a marginal prediction's integral over the latent part of eta
TRAPEZOID_POINTS = 2001
#: rows x points evaluated at once
CHUNK = 2**22
#: relative step of the central differences of the delta method
DELTA_STEP = 1e-5


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


def _eb_means(result, design) -> list[np.ndarray]:
    """Each level's EB means of its latents (clusters x latents, fitted cluster order)."""
    table = result.latent()
    means = []
    for level in design.levels:
        at_level = table[table["level"] == level.name]
        means.append(np.column_stack([at_level.loc[at_level["latent"] == name, "mean"].to_numpy() for name in level.latent_names]))
    return means


class _RowMeans:
    """The response-scale mean of each row as a function of ``theta`` (EB means held fixed)."""

    def __init__(self, model, rows: PredictionRows, eb_means: list[np.ndarray] | None):
        self.layout, self.link, self.rows = model.layout, model.link, rows
        self.shift = np.zeros(len(rows.index))
        self.integrated = [np.ones(len(rows.index), dtype=bool) for _ in rows.covariates]
        for number, covariates in enumerate(rows.covariates):
            if eb_means is None:
                continue
            clusters = rows.clusters[number]
            known = clusters >= 0
            self.integrated[number] = ~known
            self.shift[known] += np.sum(covariates[known] * eb_means[number][clusters[known]], axis=1)

    @property
    def new_cluster(self) -> np.ndarray:
        return np.any(self.integrated, axis=0) if self.integrated else np.zeros(len(self.rows.index), dtype=bool)

    def eta_parts(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mean and SD of each row's linear predictor over the integrated latents."""
        rows = self.rows
        mean = rows.fixed @ theta[: self.layout.n_fixed] + rows.offset + self.shift
        variance = np.zeros_like(mean)
        for covariates, integrated, factor in zip(rows.covariates, self.integrated, self.layout.cholesky_factors(theta)):
            variance += np.where(integrated, np.sum((covariates @ factor) ** 2, axis=1), 0.0)
        return mean, np.sqrt(variance)

    def response(self, theta: np.ndarray) -> np.ndarray:
        mean, sd = self.eta_parts(theta)
        values = inverse_link(self.link, mean)
        spread = sd > 0
        if np.any(spread):
            values[spread] = normal_expectation(lambda eta: inverse_link(self.link, eta), mean[spread], sd[spread])
        return values

    def link_scale(self, theta: np.ndarray) -> np.ndarray:
        mean, sd = self.eta_parts(theta)
        spread = sd > 0
        values = mean.copy()
        if np.any(spread):
            with np.errstate(divide="ignore", invalid="ignore"):
                values[spread] = self.link.forward(self.response(theta)[spread])
        return values


def _link_se(row_means: _RowMeans, theta: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Delta-method SE of the link-scale predictions (central differences in theta)."""
    jacobian = np.empty((len(row_means.rows.index), theta.size))
    for k in range(theta.size):
        step = DELTA_STEP * max(1.0, abs(theta[k]))
        shifted = theta.copy()
        shifted[k] += step
        up = row_means.link_scale(shifted)
        shifted[k] -= 2 * step
        jacobian[:, k] = (up - row_means.link_scale(shifted)) / (2 * step)
    return np.sqrt(np.maximum(np.einsum("ra,ab,rb->r", jacobian, covariance, jacobian), 0.0))


def predict(result, data: pd.DataFrame | None = None, *, kind: str = "conditional", scale: str = "response", level: float = 0.95) -> pd.DataFrame:
    """Predictions of ``result``'s model (see the module docstring and :meth:`MLResult.predict`)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, not {kind!r}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {list(SCALES)}, not {scale!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), not {level!r}")
    model = result.model
    if model is None:
        raise SpecError("this fit carries no model to predict from; fit it with glpp.Model(...).fit()")
    if data is not None and not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame (or None: the fitted data), not {type(data).__name__}")
    check_predictable(model.spec, model.design, model.family)
    conditional = kind == "conditional" and bool(model.design.levels)
    rows = build_prediction_rows(model.spec, model.design, model.data, model.data if data is None else data, clusters=conditional)
    row_means = _RowMeans(model, rows, _eb_means(result, model.design) if conditional else None)
    theta = model.layout.theta_from_named(result.params)
    link_values = row_means.link_scale(theta)
    prediction = link_values if scale == "link" else row_means.response(theta)
    se = lower = upper = np.full(len(rows.index), np.nan)
    if not conditional:
        covariance = result.vcov("optimised").loc[list(model.layout.natural_names), list(model.layout.natural_names)].to_numpy()
        link_se = _link_se(row_means, theta, covariance)
        z = float(ndtri(0.5 + level / 2))
        lower, upper = link_values - z * link_se, link_values + z * link_se
        se = link_se
        if scale == "response":
            lower, upper = inverse_link(model.link, lower), inverse_link(model.link, upper)
            step = DELTA_STEP * np.maximum(1.0, np.abs(link_values))
            slope = (inverse_link(model.link, link_values + step) - inverse_link(model.link, link_values - step)) / (2 * step)
            se = np.abs(slope) * link_se
            lower, upper = np.minimum(lower, upper), np.maximum(lower, upper)
    return pd.DataFrame(
        {"prediction": prediction, "se": se, "lower": lower, "upper": upper, "new_cluster": row_means.new_cluster & conditional},
        index=rows.index,
    )
