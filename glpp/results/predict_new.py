"""Row means of new rows (:func:`glpp.design.prediction.build_prediction_rows`), over normal latents.

Row ``r`` of a regression with random effects has ``eta_r = x_r' beta + offset_r +
sum_l z_r^(l)' zeta^(l)`` with ``zeta^(l) = L_l u^(l)``, ``u^(l) ~ N(0, I)``. Conditional
predictions put the EB mean of ``zeta^(l)`` of the row's cluster in its place where the
cluster was in the fit and integrate the level's latents out where it was not (a new
cluster, ``new_cluster``); marginal predictions integrate every level out. The latent part
left is normal, so the mean and SD of ``eta_r`` over it (:meth:`NewRowMeans.eta_parts`) are
all that :class:`~glpp.results.predict_rows.NormalRowMeans` (means) and
:mod:`glpp.results.predict_ordinal` (category probabilities) need.
"""

from __future__ import annotations

import numpy as np

from glpp.design.prediction import PredictionRows
from glpp.results.predict_rows import NormalRowMeans, RowLinks

__all__ = ["NewRowMeans"]


class NewRowMeans(NormalRowMeans):
    """The response-scale mean of each new row as a function of ``theta`` (EB means held fixed).

    Parameters
    ----------
    model : Model
    rows : PredictionRows
    moments : list of (ndarray, ndarray) or None
        Per level, the fitted clusters' posterior means and covariances of ``u``
        (:meth:`MLResult.latent_moments`; conditional predictions); ``None``: marginal.
    theta : ndarray
        The estimate: the EB effects ``L u`` are held at it when ``theta`` varies.
    """

    def __init__(self, model, rows: PredictionRows, moments: list[tuple[np.ndarray, np.ndarray]] | None, theta: np.ndarray):
        self.layout, self.rows = model.layout, rows
        self.links = RowLinks(model.family, model.link, None)
        self.shift = np.zeros(len(rows.index))
        self.known_variance = np.zeros(len(rows.index))
        self.integrated = [np.ones(len(rows.index), dtype=bool) for _ in rows.covariates]
        for number, (covariates, factor) in enumerate(zip(rows.covariates, self.layout.cholesky_factors(theta))):
            if moments is None:
                continue
            clusters = rows.clusters[number]
            known = clusters >= 0
            self.integrated[number] = ~known
            mean, covariance = moments[number][0][clusters[known]], moments[number][1][clusters[known]]
            row_loadings = covariates[known] @ factor  # on u: the EB effects are L u
            self.shift[known] += np.sum(row_loadings * mean, axis=1)
            self.known_variance[known] += np.einsum("ra,rab,rb->r", row_loadings, covariance, row_loadings)

    def posterior_variance(self, theta: np.ndarray) -> np.ndarray:
        """Each row's posterior variance of the latent part of ``eta`` from its fitted clusters."""
        return self.known_variance

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
