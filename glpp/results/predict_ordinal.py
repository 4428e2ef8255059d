"""Category probabilities of ordinal responses, conditional on the EB means or marginal.

A row with linear predictor ``eta_r`` (no intercept: the thresholds take its place),
thresholds ``tau_rk`` (threshold covariates included) and scale ``s_r`` (1 without a
dispersion model) has cumulative probabilities ``P(y_r <= k) = F((tau_rk - eta_r) / s_r)``
(:mod:`glpp.families.ordinal`; ``F`` the link's inverse, compiled from its one
definition). Conditional predictions put the EB means in ``eta_r``; marginal ones
integrate the normal latent part of ``eta_r`` (mean ``m_r``, SD ``v_r``) out of each
cumulative probability: ``E[F((tau_rk - m_r - v_r t) / s_r)]``, the one-dimensional
integral of :func:`glpp.results.predict_rows.normal_expectation`. The probability of
category ``k`` is the difference of consecutive cumulative probabilities.

The result has one row per predicted row and category: a MultiIndex of the fitted rows'
labels (:func:`glpp.results.predict_rows.fitted_index`) and ``category`` (the response's
observed values, sorted), with column ``prediction`` (the probability; a row's
probabilities sum to 1) and ``se``, ``lower``, ``upper`` (NaN: no delta method yet) and
``new_cluster``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from glpp.errors import SpecError
from glpp.results.predict_rows import DesignRowMeans, fitted_index, inverse_link, normal_expectation

__all__ = ["is_ordinal", "ordinal_predictions"]


def is_ordinal(design) -> bool:
    """Rows with thresholds (an ordinal response or items)."""
    return design.auxiliary is not None and design.auxiliary.threshold_lower is not None


def _row_thresholds(layout, auxiliary, theta: np.ndarray, rows: np.ndarray, category: int) -> np.ndarray:
    """Threshold ``category`` (0-based) of each of ``rows``' sets, covariates included."""
    thresholds = layout.natural(theta)[layout.kind_slice("threshold")]
    starts = np.cumsum([0] + [s.n_thresholds for s in auxiliary.threshold_sets])[:-1]
    position = starts[auxiliary.threshold_set_index[rows]] + category
    values = thresholds[position]
    if auxiliary.threshold_covariates is not None:
        slopes = theta[layout.kind_slice("threshold_slope")].reshape((layout.n_thresholds, -1))
        values = values + np.sum(auxiliary.threshold_covariates[rows] * slopes[position], axis=1)
    return values


def _row_scale(layout, auxiliary, theta: np.ndarray) -> np.ndarray | float:
    """Each row's scale ``s_r`` (a dispersion regression), else 1."""
    if auxiliary.dispersion_covariates is None:
        return 1.0
    return np.exp(auxiliary.dispersion_covariates @ theta[layout.kind_slice("dispersion")])


def ordinal_predictions(result, kind: str, scale: str) -> pd.DataFrame:
    """Category probabilities of ``result``'s ordinal rows (module docstring for the layout)."""
    model = result.model
    design, layout, link = model.design, model.layout, model.link
    auxiliary = design.auxiliary
    if scale != "response":
        raise SpecError("ordinal predictions are category probabilities: use scale='response'")
    if np.any(auxiliary.threshold_set_index < 0):
        raise SpecError("predict() is not available yet for ordinal items mixed with other families")
    theta = layout.theta_from_named(result.params)
    conditional = kind == "conditional" and bool(design.levels)
    row_means = DesignRowMeans(model, result.latent_moments() if conditional else None, theta)
    mean, sd = row_means.eta_parts(theta)
    row_scale = np.broadcast_to(_row_scale(layout, auxiliary, theta), mean.shape)
    index = fitted_index(model)
    frames = []
    for number, threshold_set in enumerate(auxiliary.threshold_sets):
        rows = np.flatnonzero(auxiliary.threshold_set_index == number)
        cumulative = [np.zeros(rows.size)]
        for category in range(threshold_set.n_thresholds):
            gap = (_row_thresholds(layout, auxiliary, theta, rows, category) - mean[rows]) / row_scale[rows]
            spread = sd[rows] / row_scale[rows]
            values = inverse_link(link, gap)
            if np.any(spread > 0):
                values[spread > 0] = normal_expectation(lambda x: inverse_link(link, x), gap[spread > 0], spread[spread > 0])
            cumulative.append(values)
        cumulative.append(np.ones(rows.size))
        probabilities = np.diff(np.column_stack(cumulative), axis=1)
        for position, label in enumerate(threshold_set.categories):
            frames.append(pd.DataFrame({"row": rows, "category": label, "prediction": probabilities[:, position]}))
    table = pd.concat(frames, ignore_index=True).sort_values(["row", "category"], kind="stable")
    labels = index[table["row"].to_numpy()]
    arrays = [labels.get_level_values(k) for k in range(labels.nlevels)] + [table["category"].to_numpy()]
    names = list(labels.names) + ["category"]
    nan = np.full(len(table), np.nan)
    return pd.DataFrame(
        {"prediction": table["prediction"].to_numpy(), "se": nan, "lower": nan, "upper": nan,
         "new_cluster": np.zeros(len(table), dtype=bool)},
        index=pd.MultiIndex.from_arrays(arrays, names=names),
    )
