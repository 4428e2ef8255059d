"""Predictions of a fitted model: conditional on the latents' EB means, or marginal.

A regression on long data with random effects (or none) is predicted on any data frame, as
here (:mod:`glpp.results.predict_new`), ordinal responses (category probabilities,
:mod:`glpp.results.predict_ordinal`), dispersion regressions and discrete latents
(:mod:`glpp.results.predict_classes`) included, and new units of a measurement model on wide
data (:mod:`glpp.results.predict_units`); the other models (``F@id =~ item`` factors and
structural paths on long data, a family per row) on their fitted rows, by :mod:`glpp.results.predict_rows` with the same formulas, and choice families
(choice probabilities, :mod:`glpp.results.predict_choice`) on their fitted rows too.

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

Standard errors are by the delta method (:mod:`glpp.results.predict_delta`, shared by every
kind of prediction): the derivative of the link-scale prediction in the optimised parameters
(central differences) with the fit's covariance of those (``fit.vcov("optimised")``). For conditional predictions the EB means are held at their
estimates in that derivative, and the posterior variance of the latent part of ``eta_r``
(``z_r' Cov(zeta | y_j) z_r``, from :meth:`MLResult.latent_moments`) is added: the SE
carries the fixed part's and the latents' uncertainty (Skrondal & Rabe-Hesketh 2009,
"Prediction in multilevel generalized linear models", sec. 4), not the EB means'
dependence on the variance parameters. Conditional predictions of a discrete latent
(posterior class probabilities) have no SE (NaN). Intervals are Wald intervals on the
link scale, mapped by the inverse link for the response scale (so they stay in the
response's range).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from glpp.design.prediction import build_prediction_rows, check_predictable, new_data_obstacle
from glpp.errors import SpecError
from glpp.results.predict_choice import choice_predictions
from glpp.results.predict_classes import NewClassRowMeans
from glpp.results.predict_new import NewRowMeans
from glpp.results.predict_units import NewUnitRowMeans
from glpp.results.predict_delta import delta_intervals, optimised_covariance
from glpp.results.predict_ordinal import is_ordinal, ordinal_predictions
from glpp.results.predict_rows import (
    TRAPEZOID_POINTS,
    ClassRowMeans,
    DesignRowMeans,
    fitted_index,
    inverse_link,
    normal_expectation,
)

__all__ = ["KINDS", "SCALES", "TRAPEZOID_POINTS", "inverse_link", "normal_expectation", "predict"]

KINDS = ("conditional", "marginal")
SCALES = ("response", "link")


def _row_means(result, data: pd.DataFrame | None, conditional: bool):
    """The row means of the prediction, and the rows' labels."""
    model = result.model
    design = model.design
    obstacle = new_data_obstacle(model.spec, design)
    if design.discrete is not None:
        posterior = result.posterior.to_numpy() if conditional else None
        if data is not None:
            row_means = NewClassRowMeans(model, data, posterior)
            return row_means, row_means.index
        return ClassRowMeans(model, posterior), fitted_index(model)
    theta = model.layout.theta_from_named(result.params)
    if data is not None and design.item_names:
        row_means = NewUnitRowMeans(model, data, theta, conditional)
        return row_means, row_means.index
    moments = result.latent_moments() if conditional else None
    if obstacle is not None or design.item_names:
        return DesignRowMeans(model, moments, theta), fitted_index(model)
    rows = build_prediction_rows(model.spec, design, model.data, model.data if data is None else data, clusters=conditional)
    return NewRowMeans(model, rows, moments, theta), rows.index


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
    obstacle = new_data_obstacle(model.spec, model.design)
    if data is not None and obstacle is not None:
        raise SpecError(
            f"predict(data=...) is not available for models with {obstacle} yet; "
            "predict the fitted rows (data=None)"
        )
    if model.design.choice_start is not None:
        if data is not None:
            raise SpecError(
                "predict(data=...) is not available for choice families yet; predict the fitted choice sets "
                "(data=None)"
            )
        return choice_predictions(result, kind, scale, level)
    if is_ordinal(model.design):
        return ordinal_predictions(result, data, kind, scale, level)
    conditional = kind == "conditional" and (bool(model.design.levels) or model.design.discrete is not None)
    row_means, index = _row_means(result, data, conditional)
    theta = model.layout.theta_from_named(result.params)
    link_values = row_means.link_scale(theta)
    prediction = link_values if scale == "link" else row_means.response(theta)
    se = lower = upper = np.full(len(index), np.nan)
    mixed = isinstance(row_means, ClassRowMeans)
    # a discrete latent's posterior mixtures have no SE; new units' (class sizes) have the marginal ones
    if not (conditional and mixed) or isinstance(row_means, NewClassRowMeans):
        covariance = optimised_covariance(result, model.layout, theta)
        with_posterior = conditional and not mixed and not isinstance(row_means, NewUnitRowMeans)
        se, lower, upper = delta_intervals(row_means, theta, covariance, link_values, scale, level, with_posterior)
        if conditional and mixed:
            se, lower, upper = (np.where(row_means.new_cluster, values, np.nan) for values in (se, lower, upper))
    return pd.DataFrame(
        {"prediction": prediction, "se": se, "lower": lower, "upper": upper, "new_cluster": row_means.new_cluster & conditional},
        index=index,
    )
