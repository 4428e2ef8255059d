"""Choice probabilities of multinomial (choice-set) and ranking models, conditional or marginal.

Row ``r`` of a choice set ``s`` is one alternative, with linear predictor (utility)
``eta_r = f_r(theta) + a_r(theta)' u``: the fixed part ``f_r`` and the loadings ``a_r`` on the
standardised latents ``u ~ N(0, I)`` of the set's clusters at every level (the random effects
``zeta = L u``), both from the likelihood's own row graph
(:class:`glpp.likelihood.predictor.RowPredictor`). The probability that ``r`` is chosen is the
softmax ``p_r = exp(eta_r) / sum_{t in s} exp(eta_t)``.

- ``family="multinomial"``: one prediction per fitted row (alternative of a choice set).
- ``family="ranking"``: the probability that each alternative is **ranked first**, the softmax
  over all the alternatives of its ranking (the exploded logit's first stage), one prediction
  per fitted row of the data; the probabilities of the later stages and of whole rankings are
  not predicted.

``kind="conditional"`` plugs in each cluster's EB mean of ``u`` (:meth:`MLResult.latent`
reports ``L u``). ``kind="marginal"`` integrates the softmax over the latents:
``E[p_r] = E_u[softmax_s(f + A_s u)]`` with ``A_s`` the set's loadings, an integral over the
latents' own ``D`` dimensions (all levels together), by the product trapezoid rule over
``[-RADIUS, RADIUS]`` in each (nodes outside the ball of that radius dropped, the weights
rescaled to sum to 1), vectorised over rows and nodes (:func:`trapezoid_grid`). The softmax is
bounded and analytic in a strip about the real axis whose width falls with the spread of the
utilities per unit of the latent, so the rule converges exponentially, and each dimension's
spacing is chosen from that spread at the estimate (:data:`SPACING`), for errors near rounding
unless the product rule would need more than :data:`MAX_NODES` nodes (a ``ConvergenceWarning``
says so).

The predictions of a set sum to 1. Standard errors are by the delta method of
:mod:`glpp.results.predict_delta`: the derivative of each probability's logit in the
optimised parameters (central differences) with ``fit.vcov("optimised")``; conditional
predictions hold the EB means at their estimates there and add the posterior variance of the
latents propagated through the logit's gradient in the set's utilities,
``(a_r - sum_t p_t a_t)' Cov(u | y) (a_r - sum_t p_t a_t) / (1 - p_r)^2`` (each level's
posterior covariance, :meth:`MLResult.latent_moments`). Intervals are Wald intervals of the
logit mapped back, so they lie in [0, 1].
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from glpp.errors import ConvergenceWarning, SpecError
from glpp.families.links import LINKS
from glpp.results.predict_delta import delta_intervals, optimised_covariance
from glpp.results.predict_rows import CHUNK, RowLinks, row_arguments, row_parts_function

__all__ = ["ChoiceProbabilities", "MAX_NODES", "RADIUS", "SPACING", "choice_predictions", "trapezoid_grid"]

#: half-width of the trapezoid grid in the standard normal latents, and the radius of the ball
#: kept (the normal mass outside it is below 1e-15 in up to four dimensions)
RADIUS = 9.0
#: the trapezoid rule's error for an integrand analytic in a strip of half-width ``w`` about the
#: real axis is about ``exp(-2 pi w / h)``; a softmax whose utilities spread by ``s`` per unit of
#: a latent is analytic for ``w < pi / s``, so ``h = SPACING / s`` gives ``exp(-2 pi^2 / SPACING)``
#: (about 1e-13)
SPACING = 0.66
#: the largest spacing (the trapezoid rule of the normal density alone: ``exp(-2 pi^2 / h^2)``)
MAX_SPACING = 0.7
#: the most nodes of the product rule; beyond it the spacing grows (with a ConvergenceWarning)
MAX_NODES = 2**18


def trapezoid_grid(spreads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (Q x D) and weights (Q) of ``E[h(u)]``, ``u ~ N(0, I_D)``, for a softmax whose
    utilities spread by ``spreads[k]`` per unit of ``u_k``: the product trapezoid rule on
    ``[-RADIUS, RADIUS]`` with spacing ``SPACING / spreads[k]`` (at most :data:`MAX_SPACING`),
    nodes outside the ball of radius :data:`RADIUS` dropped, weights rescaled to sum to 1."""
    spacing = np.minimum(MAX_SPACING, SPACING / np.maximum(np.asarray(spreads, dtype=float), 1e-12))
    points = 2 * np.ceil(RADIUS / spacing).astype(int) + 1
    if np.prod(points.astype(float)) > MAX_NODES:
        warnings.warn(
            f"the marginal choice probabilities' quadrature needs {int(np.prod(points.astype(float)))} nodes "
            f"(latents with large effects on the utilities); it uses about {MAX_NODES}, so they are less accurate",
            ConvergenceWarning, stacklevel=3,
        )
        points = 2 * np.floor(points * (MAX_NODES / np.prod(points.astype(float))) ** (1 / points.size) / 2).astype(int) + 1
    lines = [np.linspace(-RADIUS, RADIUS, count) for count in points]
    line_weights = []
    for line in lines:
        weights = np.exp(-0.5 * line**2) / np.sqrt(2.0 * np.pi) * (line[1] - line[0])
        weights[[0, -1]] *= 0.5
        line_weights.append(weights)
    nodes = np.stack(np.meshgrid(*lines, indexing="ij"), axis=-1).reshape(-1, len(lines))
    weights = np.prod(np.stack(np.meshgrid(*line_weights, indexing="ij"), axis=-1), axis=-1).ravel()
    inside = np.sum(nodes**2, axis=1) <= RADIUS**2
    return nodes[inside], weights[inside] / np.sum(weights[inside])


class ChoiceProbabilities:
    """The choice probabilities of the fitted alternatives as a function of ``theta`` (module docstring).

    Parameters
    ----------
    model : Model
        A choice family's model; rankings predict their first stage.
    moments : list of (ndarray, ndarray) or None
        Per level, the clusters' posterior means and covariances of ``u``
        (:meth:`MLResult.latent_moments`; conditional predictions); ``None``: marginal.
    theta : ndarray
        The estimate: the EB means of ``L u`` are held at it when ``theta`` varies.

    Attributes
    ----------
    rows : ndarray of int
        The predicted rows of the design (each set of a multinomial, each ranking's first stage).
    """

    def __init__(self, model, moments: list[tuple[np.ndarray, np.ndarray]] | None, theta: np.ndarray):
        design = model.design
        self.layout, self.moments = model.layout, moments
        self.factors = self.layout.cholesky_factors(theta)
        self.function = row_parts_function(model.layout, model.family, model.link)
        self.arguments = row_arguments(design)
        self.links = RowLinks(model.family, LINKS["logit"], None)
        set_index = np.cumsum(design.choice_start) - 1
        set_situation = design.choice_situation[np.flatnonzero(design.choice_start)]
        first_stage = np.r_[True, set_situation[1:] != set_situation[:-1]]
        self.rows = np.flatnonzero(first_stage[set_index])
        kept_set = set_index[self.rows]
        self.set_starts = np.flatnonzero(np.r_[True, kept_set[1:] != kept_set[:-1]])
        self.row_set = np.cumsum(np.isin(np.arange(self.rows.size), self.set_starts)) - 1
        self.clusters = [level.cluster_index[self.rows] for level in design.levels]
        self.grid = None
        if moments is None and design.levels:
            _, loadings = self._parts(theta)
            on_u = np.concatenate([row_loadings @ factor for row_loadings, factor in zip(loadings, self.factors)], axis=1)
            spreads = np.max(np.maximum.reduceat(on_u, self.set_starts) - np.minimum.reduceat(on_u, self.set_starts), axis=0)
            self.grid = trapezoid_grid(spreads)

    def _parts(self, theta: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each predicted row's fixed part of ``eta`` and, per level, its loadings on ``zeta = L u``."""
        fixed_eta, *loadings = self.function(np.asarray(theta, dtype=float), *self.arguments)
        return np.asarray(fixed_eta, dtype=float)[self.rows], [row_loadings[self.rows] for row_loadings in loadings]

    def _softmax(self, eta: np.ndarray) -> np.ndarray:
        """The softmax of ``eta`` (rows, ...) within each set."""
        exponentials = np.exp(eta - np.maximum.reduceat(eta, self.set_starts, axis=0)[self.row_set])
        return exponentials / np.add.reduceat(exponentials, self.set_starts, axis=0)[self.row_set]

    def response(self, theta: np.ndarray) -> np.ndarray:
        """The choice probabilities: at the EB means (of ``L u``, held at the estimate), or
        integrated over the latents."""
        fixed_eta, loadings = self._parts(theta)
        if self.moments is not None:
            eta = fixed_eta.copy()
            for row_loadings, clusters, factor, (mean, _) in zip(loadings, self.clusters, self.factors, self.moments):
                eta += np.sum(row_loadings * (mean @ factor.T)[clusters], axis=1)
            return self._softmax(eta)
        if not loadings:
            return self._softmax(fixed_eta)
        on_u = np.concatenate([row_loadings @ factor for row_loadings, factor in zip(loadings, self.layout.cholesky_factors(theta))], axis=1)
        nodes, weights = self.grid
        probabilities = np.zeros(fixed_eta.size)
        per_chunk = max(1, CHUNK // fixed_eta.size)
        for start in range(0, weights.size, per_chunk):
            chunk = slice(start, start + per_chunk)
            probabilities += self._softmax(fixed_eta[:, None] + on_u @ nodes[chunk].T) @ weights[chunk]
        return probabilities

    def link_scale(self, theta: np.ndarray) -> np.ndarray:
        """The probabilities' logits."""
        return self.links.forward(self.response(theta))

    def posterior_variance(self, theta: np.ndarray) -> np.ndarray:
        """The latents' posterior variance of each probability's logit (module docstring)."""
        probabilities = self.response(theta)
        _, loadings = self._parts(theta)
        variance = np.zeros(probabilities.size)
        for row_loadings, clusters, factor, (_, covariance) in zip(loadings, self.clusters, self.factors, self.moments or []):
            on_u = row_loadings @ factor
            weighted = np.add.reduceat(probabilities[:, None] * on_u, self.set_starts, axis=0)
            gradient = on_u - weighted[self.row_set]
            variance += np.einsum("ra,rab,rb->r", gradient, covariance[clusters], gradient)
        return variance / (1.0 - probabilities) ** 2


def choice_predictions(result, kind: str, scale: str, level: float) -> pd.DataFrame:
    """Choice probabilities of ``result``'s fitted alternatives (module docstring), indexed like
    the fitted data's rows (in data order)."""
    model = result.model
    design, layout = model.design, model.layout
    if scale != "response":
        raise SpecError("choice predictions are probabilities of each alternative: use scale='response'")
    theta = layout.theta_from_named(result.params)
    conditional = kind == "conditional" and bool(design.levels)
    probabilities = ChoiceProbabilities(model, result.latent_moments() if conditional else None, theta)
    prediction = probabilities.response(theta)
    link_values = probabilities.links.forward(prediction)
    covariance = optimised_covariance(result, layout, theta)
    se, lower, upper = delta_intervals(probabilities, theta, covariance, link_values, scale, level, conditional)
    positions = design.choice_rows[probabilities.rows]
    order = np.argsort(positions, kind="stable")
    return pd.DataFrame(
        {"prediction": prediction[order], "se": se[order], "lower": lower[order], "upper": upper[order],
         "new_cluster": np.zeros(prediction.size, dtype=bool)},
        index=model.data.index[positions[order]],
    )
