"""The rows' side of every likelihood graph: parameters, row data, linear predictors, log-densities.

Row ``r`` has linear predictor

    eta_r = x_r' beta + offset_r + sum_l (z_r^(l)' L_l) u^(l)

with ``z_r^(l)`` the row's loadings on the disturbances of the latents of
level ``l`` (its covariate times its factor loading, through the structural
model: :meth:`glpp.params.ParameterLayout.level_loadings`) and ``L_l`` the
Cholesky factor of their covariance, so that the standardised latents are
``u^(l) ~ N(0, I)``. :class:`RowPredictor` builds the symbolic row inputs, the
fixed part of ``eta`` and the loadings ``z_r' L_l`` of each level, and the row
log-density (:meth:`glpp.families.Family.logp`, the one definition of each
family) at any array of linear predictors. The graphs of
:mod:`glpp.likelihood.two_level` and :mod:`glpp.likelihood.multilevel` and the
PyMC models of :mod:`glpp.bayes` start from it.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from glpp.design.build import Design
from glpp.families import Family, Link, MixedFamily
from glpp.params import ParameterLayout

__all__ = ["RowPredictor", "optional_row_arrays"]


def optional_row_arrays(design: Design, rows: np.ndarray) -> list[np.ndarray]:
    """The per-row inputs only some models have, in :attr:`RowPredictor.optional_inputs` order,
    for the rows ``rows``: latent covariates, dispersion index (per-item dispersions), family
    index (a family per item), choice-set starts (choice families; ``rows`` keeps sets
    contiguous), then the auxiliary design's (:mod:`glpp.design.auxiliary`): threshold
    positions, threshold covariates, dispersion covariates."""
    optional = [design.latent_covariates, design.dispersion_index, design.family_index, design.choice_start]
    auxiliary = design.auxiliary
    if auxiliary is not None:
        optional += [
            auxiliary.threshold_lower,
            auxiliary.threshold_upper,
            auxiliary.threshold_covariates,
            auxiliary.dispersion_covariates,
        ]
    return [values[rows] for values in optional if values is not None]


class RowPredictor:
    """Symbolic parameters, row data and linear predictors of one model structure.

    Parameters
    ----------
    layout : ParameterLayout
    family : Family
    link : Link

    Attributes
    ----------
    theta : TensorVariable
        The parameter vector.
    response, trials, fixed, offset : TensorVariable
        Row data (``fixed``: the fixed-effects design matrix).
    covariates : list of TensorVariable
        Per latent level, each row's covariate of each latent (1 for intercepts).
    loading_index : list of TensorVariable or None
        Per latent level, each row's position in the loading values (models with loadings).
    fixed_eta : TensorVariable
        ``x' beta + offset`` plus the latent means from structural paths on covariates, (N,).
    loadings : list of TensorVariable
        Per latent level, each row's loadings ``z_r' L_l`` on the standardised latents, (N, d_l).
    row_log_dispersion : TensorVariable or None
        The family's log dispersion: a scalar, a vector, or one per row (per-item dispersions,
        dispersion regressions: ``dispersion_covariates @ coefficients``).
    row_thresholds : tuple of TensorVariable or None
        Families with cutpoints: each row's ``(lower, upper, has_lower, has_upper)``
        thresholds (threshold covariates included), as :meth:`glpp.families.Family.logp` takes them.
    """

    def __init__(self, layout: ParameterLayout, family: Family, link: Link):
        self.family = family
        self.link = link
        self.layout_has_regression = layout.has_dispersion_regression
        n_levels = len(layout.level_sizes)
        self.theta = pt.vector("theta")
        self.response = pt.vector("response")
        self.trials = pt.vector("trials")
        self.fixed = pt.matrix("fixed")
        self.offset = pt.vector("offset")
        suffix = (lambda level_number: "") if n_levels == 1 else (lambda level_number: f"_{level_number}")
        self.covariates = [pt.matrix(f"covariates{suffix(level_number)}") for level_number in range(n_levels)]
        self.loading_index: list[TensorVariable | None] = [None] * n_levels
        self.optional_inputs: list[TensorVariable] = []
        if layout.has_loadings:
            self.loading_index = [pt.matrix(f"loading_index{suffix(level_number)}", dtype="int64") for level_number in range(n_levels)]
        beta, factors, log_dispersion = layout.unpack(self.theta)
        latent_covariates = None
        if layout.has_covariate_paths:
            latent_covariates = pt.matrix("latent_covariates")
            self.optional_inputs.append(latent_covariates)
        self.fixed_eta = pt.dot(self.fixed, beta) + self.offset
        self.loadings: list[TensorVariable] = []
        for level_number, (row_loadings, covariate_paths) in enumerate(
            layout.level_loadings(self.theta, self.covariates, self.loading_index)
        ):
            if covariate_paths is not None:
                latent_means = pt.dot(latent_covariates, covariate_paths.T)
                self.fixed_eta = self.fixed_eta + pt.sum(row_loadings * latent_means, axis=1)
            self.loadings.append(pt.dot(row_loadings, factors[level_number]))
        self.log_dispersion = log_dispersion
        self.row_log_dispersion = log_dispersion
        self.dispersion_index = None
        if layout.has_item_dispersions:
            self.dispersion_index = pt.vector("dispersion_index", dtype="int64")
            self.optional_inputs.append(self.dispersion_index)
            self.row_log_dispersion = log_dispersion[self.dispersion_index]
        self.family_index = None
        if isinstance(family, MixedFamily):
            self.family_index = pt.vector("family_index", dtype="int64")
            self.optional_inputs.append(self.family_index)
        self.set_start = None
        if family.couples_rows:
            self.set_start = pt.vector("set_start", dtype="int64")
            self.optional_inputs.append(self.set_start)
        self._auxiliary_rows(layout)

    def _auxiliary_rows(self, layout: ParameterLayout) -> None:
        """Per-row thresholds and the dispersion regression's log dispersion (see the attributes)."""
        thresholds, slopes, coefficients = layout.unpack_auxiliary(self.theta)
        self.row_thresholds = None
        if thresholds is not None:
            lower_index = pt.vector("threshold_lower", dtype="int64")
            upper_index = pt.vector("threshold_upper", dtype="int64")
            self.optional_inputs += [lower_index, upper_index]
            has_lower, has_upper = pt.ge(lower_index, 0), pt.ge(upper_index, 0)
            # a missing threshold reads position 0: any finite value (the family ignores it)
            lower_at = pt.switch(has_lower, lower_index, 0)
            upper_at = pt.switch(has_upper, upper_index, 0)
            lower, upper = thresholds[lower_at], thresholds[upper_at]
            if slopes is not None:
                covariates = pt.matrix("threshold_covariates")
                self.optional_inputs.append(covariates)
                lower = lower + pt.sum(covariates * slopes[lower_at], axis=1)
                upper = upper + pt.sum(covariates * slopes[upper_at], axis=1)
            self.row_thresholds = (lower, upper, has_lower, has_upper)
        if coefficients is not None:
            covariates = pt.matrix("dispersion_covariates")
            self.optional_inputs.append(covariates)
            self.row_log_dispersion = pt.dot(covariates, coefficients)

    @property
    def loading_inputs(self) -> list[TensorVariable]:
        """The loading indices of every level (models with loadings), else nothing."""
        return [index for index in self.loading_index if index is not None]

    def row_logp(self, eta: TensorVariable, response: TensorVariable, trials: TensorVariable) -> TensorVariable:
        """Log-density of each row at ``eta``.

        ``eta``, ``response`` and ``trials`` have the rows on their first axis and
        may carry trailing axes (quadrature nodes, contexts); per-row parameters
        get the same trailing axes.
        """
        trailing = response.ndim - 1
        log_dispersion = self.row_log_dispersion
        if log_dispersion is not None and log_dispersion.ndim == 1:
            log_dispersion = pt.shape_padright(log_dispersion, trailing)
        if self.set_start is not None:
            return self.family.logp(response, eta, self.link, log_dispersion, trials, set_start=self.set_start)
        thresholds = None
        if self.row_thresholds is not None:
            thresholds = tuple(pt.shape_padright(values, trailing) for values in self.row_thresholds)
        if self.family_index is None:
            return self.family.logp(response, eta, self.link, log_dispersion, trials, thresholds=thresholds)
        family_index = pt.shape_padright(self.family_index, trailing)
        return self.family.logp(
            response, eta, self.link, log_dispersion, trials, family_index=family_index,
            thresholds=thresholds, regression=self.layout_has_regression,
        )

    def curvature_products(
        self, first: TensorVariable, eta: TensorVariable, loadings: TensorVariable, n_latents: int
    ) -> list[TensorVariable]:
        """``-H z_a`` for each column ``z_a`` of ``loadings`` (N, d): one tensor shaped as ``eta``
        (N, ...) per latent, ``H`` the Hessian of the rows' log-densities in ``eta`` and ``first``
        their gradient (trailing axes: independent contexts or nodes).

        Summed within clusters against the loadings they give the negative Hessian
        in the latents. Diagonal ``H`` (independent rows): ``-h_rr z_ra``; rows
        coupled by the family (choice sets) need one Hessian-vector product per latent.
        """
        columns = [pt.shape_padright(loadings[:, a], eta.ndim - 1) for a in range(n_latents)]
        if not self.family.couples_rows:
            weight = -pt.grad(first.sum(), eta)
            return [weight * column for column in columns]
        return [-pt.grad(pt.sum(first * column), eta) for column in columns]
