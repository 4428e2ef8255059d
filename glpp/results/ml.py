"""MLResult: the immutable outcome of a maximum-likelihood fit."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from scipy.special import ndtr

__all__ = ["MLResult", "VarianceComponent", "latent_table", "variance_components"]


def latent_table(level, mean: np.ndarray, posterior_covariance: np.ndarray, factor: np.ndarray) -> pd.DataFrame:
    """EB means and SDs of one level's latent effects ``L u`` from the moments of ``u``.

    Long format: one row per cluster and latent, columns level, cluster,
    latent, mean, sd (rounding below zero in a variance is clipped).
    """
    mean_effects = mean @ factor.T
    covariance_effects = np.einsum("ab,jbc,dc->jad", factor, posterior_covariance, factor)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "level": level.name,
                    "cluster": level.cluster_labels,
                    "latent": latent_name,
                    "mean": mean_effects[:, index],
                    "sd": np.sqrt(np.maximum(covariance_effects[:, index, index], 0.0)),
                }
            )
            for index, latent_name in enumerate(level.latent_names)
        ],
        ignore_index=True,
    )


@dataclass(frozen=True)
class VarianceComponent:
    """One row of the random-effects table (lme4's ``VarCorr``)."""

    group: str
    name: str
    variance: float
    sd: float
    correlations: tuple[float, ...] = ()


@dataclass(frozen=True)
class MLResult:
    """A maximum-likelihood (or MAP) fit.

    Attributes
    ----------
    params : Series
        Estimates: fixed effects ``beta[...]``, latent SDs ``sd[...]`` and
        correlations ``cor[...]``, the family's auxiliary parameter (``sigma``,
        ``shape``; per item ``sigma[y1]``).
    se : Series
        Standard errors (inverse observed information, delta method for
        SDs, correlations and dispersion), same index as ``params``.
    loglik : float
        Maximised marginal log-likelihood.
    n_params : int
        Number of free parameters (lme4's ``df``).
    n_obs : int
        Rows used.
    n_dropped : int
        Rows dropped because a used column was missing.
    converged : bool
        Gradient small and information positive definite at the estimate.
    nip : int or tuple of int
        Quadrature points per dimension (or sparse level) of the reported fit;
        one per latent level (lowest first) when the levels' numbers differ.
    quadrature : str
        Description of the integration: ``"adaptive Gauss-Hermite, 30 points"``,
        ``"Laplace approximation (adaptive, 1 point)"``, ``"exact, multivariate
        normal"`` (closed form of jointly normal items; ``nip`` is then 0).
    nip_path : dict
        Log-likelihood at the estimate for each number of points tried (keys
        are tuples, one entry per latent level, for three or more levels).
    parameter_kinds : Series
        The kind of each parameter of ``params`` (its row of the parameter
        table: ``fixed``, ``sd``, ``cor``, ``loading``, ``path``,
        ``residual_covariance``, ``aux``), same index.
    """

    params: pd.Series
    se: pd.Series
    loglik: float
    n_params: int
    n_obs: int
    n_dropped: int
    converged: bool
    nip: int | tuple[int, ...]
    quadrature: str
    covariance: pd.DataFrame
    variance_components: tuple[VarianceComponent, ...]
    n_clusters: dict[str, int]
    family: str
    link: str
    formula: str
    nip_path: dict[int | tuple[int, ...], float] = field(default_factory=dict)
    n_iterations: int = 0
    fit_seconds: float = 0.0
    parameter_kinds: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    _latent: Callable[[], pd.DataFrame] | None = field(default=None, repr=False, compare=False)

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.n_params

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + math.log(self.n_obs) * self.n_params

    @property
    def fixed_effects(self) -> pd.DataFrame:
        """Estimate, SE, z, p and 95% interval of the fixed effects (item intercepts ``nu``)."""
        return self._table("fixed")

    def _names(self, kind: str) -> list[str]:
        return [name for name in self.params.index if self.parameter_kinds.get(name) == kind]

    def _table(self, kind: str) -> pd.DataFrame:
        names = self._names(kind)
        estimate = self.params[names]
        se = self.se[names]
        z = estimate / se
        table = pd.DataFrame(
            {
                "Estimate": estimate,
                "Std. Error": se,
                "z value": z,
                "Pr(>|z|)": 2.0 * ndtr(-np.abs(z)),
                "2.5 %": estimate - 1.959963984540054 * se,
                "97.5 %": estimate + 1.959963984540054 * se,
            }
        )
        table.index = [name[name.index("[") + 1 : -1] for name in names]
        return table

    def latent(self) -> pd.DataFrame:
        """Empirical Bayes means and SDs of the latent variables per cluster."""
        if self._latent is None:
            raise NotImplementedError("EB predictions are not available for this fit")
        return self._latent()

    def summary(self) -> str:
        """A printable table in the style of lme4's ``summary``."""
        lines = [
            f"Generalized linear latent and mixed model fit by maximum likelihood ({self.quadrature})",
            f" Family: {self.family} ( {self.link} )",
            f"Formula: {self.formula}",
            "",
            f"{'AIC':>10} {'BIC':>10} {'logLik':>11} {'df':>4}",
            f"{self.aic:10.1f} {self.bic:10.1f} {self.loglik:11.4f} {self.n_params:4d}",
            "",
            "Random effects:",
        ]
        if self.variance_components:
            width = max(len(c.group) for c in self.variance_components) + 1
            name_width = max(len(c.name) for c in self.variance_components) + 1
            lines.append(f" {'Groups':<{width}} {'Name':<{name_width}} {'Variance':>10} {'Std.Dev.':>10}  Corr")
            for component in self.variance_components:
                correlations = " ".join(f"{value:6.3f}" for value in component.correlations)
                lines.append(
                    f" {component.group:<{width}} {component.name:<{name_width}} "
                    f"{component.variance:10.4g} {component.sd:10.4g}  {correlations}"
                )
        clusters = ", ".join(f"{group}, {count}" for group, count in self.n_clusters.items())
        lines.append(f"Number of obs: {self.n_obs}, groups:  {clusters}")
        if self.n_dropped:
            lines.append(f"Rows dropped for missing values: {self.n_dropped}")
        lines += ["", "Fixed effects:", self.fixed_effects.to_string(float_format=lambda v: f"{v:.5g}")]
        tables = (
            ("Loadings", "loading"),
            ("Structural paths", "path"),
            ("Residual covariances", "residual_covariance"),
            ("Thresholds", "threshold"),
            ("Threshold covariates", "threshold_slope"),
            ("Dispersion model (log scale)", "dispersion"),
        )
        for title, kind in tables:
            table = self._table(kind)
            if len(table):
                lines += ["", f"{title}:", table.to_string(float_format=lambda v: f"{v:.5g}")]
        for name in self._names("aux"):
            lines.append(f"\n{name}: {self.params[name]:.5g} (SE {self.se[name]:.3g})")
        if not self.converged:
            lines.append("\nWARNING: the optimiser did not converge (see ConvergenceWarning).")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def variance_components(levels, covariances: list[np.ndarray], residual_sd: float | None) -> tuple[VarianceComponent, ...]:
    """Variances, SDs and correlations of each level's latents (and the residual SD), as lme4 prints them.

    ``levels`` are the design's levels, ``covariances`` their latent
    covariance matrices at the estimate; correlations are reported within a
    block of correlated latents only; ``residual_sd`` is the level-1 residual SD
    of a gaussian model (``None`` for other families).
    """
    components = []
    for level, level_covariance in zip(levels, covariances):
        sds = np.sqrt(np.diag(level_covariance))
        for index, latent in enumerate(level.latent_names):
            block = next(b for b in level.blocks if index in b.latent_positions)
            earlier = [j for j in block.latent_positions if j < index]
            correlations = tuple(level_covariance[index, j] / (sds[index] * sds[j]) for j in earlier)
            components.append(
                VarianceComponent(level.name, latent, float(level_covariance[index, index]), float(sds[index]), correlations)
            )
    if residual_sd is not None:
        components.append(VarianceComponent("Residual", "", residual_sd**2, residual_sd))
    return tuple(components)
