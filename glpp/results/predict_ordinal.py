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

The rows are the fitted ones (their linear predictors from the fitted design,
:class:`glpp.results.predict_rows.DesignRowMeans`) or, for a regression on long data, new
rows coded as the fitted ones were (:func:`glpp.design.prediction.build_prediction_rows`,
threshold and scale covariates included; :class:`glpp.results.predict_new.NewRowMeans`): a
new row whose cluster was in the fit has its EB mean in conditional predictions, one whose
cluster was not has that level integrated out (``new_cluster``).

The result has one row per predicted row and category: a MultiIndex of the rows' labels
(:func:`glpp.results.predict_rows.fitted_index`, or the new data's index) and ``category``
(the response's observed values, sorted), with column ``prediction`` (the probability; a
row's probabilities sum to 1), ``se``, ``lower``, ``upper`` and ``new_cluster``.

Standard errors are by the delta method of :mod:`glpp.results.predict_delta`: the derivative
of each probability's logit in the optimised parameters (central differences) with
``fit.vcov("optimised")``. Conditional predictions hold the EB means at their estimates there
and add the posterior variance of the latent part of ``eta_r`` (as :mod:`glpp.results.predict`
does for other families) times the squared derivative of the probability's logit in
``eta_r``. Intervals are Wald intervals on the logit scale mapped back, so they lie in
[0, 1]; the SE is the logit's SE times ``p (1 - p)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from glpp.design.auxiliary import AuxiliaryDesign
from glpp.design.prediction import build_prediction_rows
from glpp.errors import SpecError
from glpp.families.links import LINKS
from glpp.results.predict_new import NewRowMeans
from glpp.results.predict_delta import DELTA_STEP, delta_intervals, optimised_covariance
from glpp.results.predict_rows import DesignRowMeans, RowLinks, fitted_index, inverse_link, normal_expectation

__all__ = ["OrdinalProbabilities", "is_ordinal", "ordinal_predictions"]


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


class OrdinalProbabilities:
    """The category probabilities of the ordinal rows as a function of ``theta`` (module docstring).

    The predictions are laid out flat: for each threshold set, its rows (``self.rows``) repeated
    for each of its categories (``self.categories``, the labels).

    Parameters
    ----------
    model : Model
    row_means : DesignRowMeans or NewRowMeans
        The rows' linear predictors: ``eta_parts`` (mean and SD over the integrated latents) and
        ``posterior_variance`` (conditional predictions).
    auxiliary : AuxiliaryDesign
        The rows' threshold sets and threshold and scale covariates.
    """

    def __init__(self, model, row_means: DesignRowMeans | NewRowMeans, auxiliary: AuxiliaryDesign):
        self.layout, self.auxiliary, self.link = model.layout, auxiliary, model.link
        self.row_means = row_means
        self.links = RowLinks(model.family, LINKS["logit"], None)
        self.set_rows = [np.flatnonzero(self.auxiliary.threshold_set_index == number)
                         for number in range(len(self.auxiliary.threshold_sets))]
        sets = list(zip(self.auxiliary.threshold_sets, self.set_rows))
        self.rows = np.concatenate([np.tile(rows, len(threshold_set.categories)) for threshold_set, rows in sets])
        self.categories = np.concatenate(
            [np.repeat(np.asarray(threshold_set.categories, dtype=object), rows.size) for threshold_set, rows in sets]
        )

    def response(self, theta: np.ndarray, eta_shift: float | np.ndarray = 0.0) -> np.ndarray:
        """The probabilities (flat); ``eta_shift`` is added to every row's linear predictor."""
        layout, auxiliary = self.layout, self.auxiliary
        mean, sd = self.row_means.eta_parts(theta)
        mean = mean + eta_shift
        row_scale = np.broadcast_to(_row_scale(layout, auxiliary, theta), mean.shape)
        pieces = []
        for threshold_set, rows in zip(auxiliary.threshold_sets, self.set_rows):
            spread = sd[rows] / row_scale[rows]
            cumulative = [np.zeros(rows.size)]
            for category in range(threshold_set.n_thresholds):
                gap = (_row_thresholds(layout, auxiliary, theta, rows, category) - mean[rows]) / row_scale[rows]
                values = inverse_link(self.link, gap)
                if np.any(spread > 0):
                    values[spread > 0] = normal_expectation(
                        lambda x: inverse_link(self.link, x), gap[spread > 0], spread[spread > 0]
                    )
                cumulative.append(values)
            cumulative.append(np.ones(rows.size))
            pieces.append(np.diff(np.column_stack(cumulative), axis=1).T.ravel())
        return np.concatenate(pieces)

    def link_scale(self, theta: np.ndarray) -> np.ndarray:
        """The probabilities' logits."""
        return self.links.forward(self.response(theta))

    def posterior_variance(self, theta: np.ndarray) -> np.ndarray:
        """The latents' posterior variance of ``eta`` times the squared slope of the logit in ``eta``."""
        eta, _ = self.row_means.eta_parts(theta)
        step = DELTA_STEP * np.maximum(1.0, np.abs(eta))
        up, down = self.response(theta, step), self.response(theta, -step)
        slope = (self.links.forward(up) - self.links.forward(down)) / (2 * step[self.rows])
        return slope**2 * self.row_means.posterior_variance(theta)[self.rows]


def ordinal_predictions(result, data: pd.DataFrame | None, kind: str, scale: str, level: float) -> pd.DataFrame:
    """Category probabilities of ``result``'s fitted ordinal rows (``data=None``) or of ``data``'s rows
    (module docstring for the layout)."""
    model = result.model
    design, layout = model.design, model.layout
    if scale != "response":
        raise SpecError("ordinal predictions are category probabilities: use scale='response'")
    if np.any(design.auxiliary.threshold_set_index < 0):
        raise SpecError("predict() is not available yet for ordinal items mixed with other families")
    theta = layout.theta_from_named(result.params)
    conditional = kind == "conditional" and bool(design.levels)
    moments = result.latent_moments() if conditional else None
    if data is None:
        row_means, auxiliary, labels = DesignRowMeans(model, moments, theta), design.auxiliary, fitted_index(model)
        new_cluster = np.zeros(design.n_rows, dtype=bool)
    else:
        rows = build_prediction_rows(model.spec, design, model.data, data, clusters=conditional)
        row_means, auxiliary, labels = NewRowMeans(model, rows, moments, theta), rows.auxiliary, rows.index
        new_cluster = row_means.new_cluster & conditional
    probabilities = OrdinalProbabilities(model, row_means, auxiliary)
    prediction = probabilities.response(theta)
    covariance = optimised_covariance(result, layout, theta)
    link_values = probabilities.links.forward(prediction)
    se, lower, upper = delta_intervals(probabilities, theta, covariance, link_values, scale, level, conditional)
    order = np.lexsort((np.arange(prediction.size), probabilities.rows))  # by row, then category
    row_labels = labels[probabilities.rows[order]]
    arrays = [row_labels.get_level_values(k) for k in range(row_labels.nlevels)] + [probabilities.categories[order]]
    return pd.DataFrame(
        {"prediction": prediction[order], "se": se[order], "lower": lower[order], "upper": upper[order],
         "new_cluster": new_cluster[probabilities.rows[order]]},
        index=pd.MultiIndex.from_arrays(arrays, names=list(row_labels.names) + ["category"]),
    )
