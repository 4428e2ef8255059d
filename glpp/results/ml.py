"""MLResult: the immutable outcome of a maximum-likelihood fit."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from scipy.special import ndtr

from glpp.fitting.convergence import Convergence
from glpp.results.summary import Summary, summarise

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
    """One row of the random-effects table (lme4's ``VarCorr``).

    Attributes
    ----------
    group, name : str
        The level (grouping) and the latent (``"Residual"`` and ``""`` for a gaussian residual).
    variance, sd : float
        The latent's variance and SD: of its disturbance where it is regressed on covariates or
        latents (``disturbance``).
    correlations : tuple of float or None
        With each earlier latent of the level, ``None`` for those outside the latent's block
        (uncorrelated by the model).
    sd_name : str or None
        The SD's name in ``MLResult.params`` (``None`` where it is fixed, e.g. ``std_lv``).
    correlation_names : tuple of str or None
        The names of ``correlations`` in ``MLResult.params``, ``None`` where there is none.
    disturbance : bool
        The latent is regressed (``F ~ x``): variance and SD are its disturbance's.
    """

    group: str
    name: str
    variance: float
    sd: float
    correlations: tuple[float | None, ...] = ()
    sd_name: str | None = None
    correlation_names: tuple[str | None, ...] = ()
    disturbance: bool = False


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
    convergence : Convergence or None
        The convergence report: largest gradient, smallest information
        eigenvalue, whether ``nip="auto"`` settled and the quadrature error at
        the estimate, variance components at the boundary, and why the fit is
        not converged (:class:`glpp.fitting.convergence.Convergence`).
    notes : tuple of str
        Defaults of the model string a reader should know (``Design.notes``).
    method : str
        ``"ml"`` or ``"map"`` (posterior mode: ``params`` maximise
        ``loglik + log_prior``, SEs from the log-posterior's curvature;
        ``loglik`` is the log-likelihood at the mode; ``nip_path`` holds
        log-posterior values).
    log_prior : float or None
        The log-prior at the estimate (MAP).
    priors : tuple of str
        The priors of a MAP fit, in words.
    family_rows : str
        For a family per item or row: each component (family/link) and its
        number of rows (empty otherwise).
    n_units : int
        Independent units for BIC: rows of long data, units (rows of the
        data frame) of wide data.
    se_method : str
        ``"model"`` (inverse observed information) or ``"robust (clustered by
        <level>)"`` (sandwich).
    covariance_optimised : DataFrame or None
        Covariance of the optimised (unconstrained) parameters.
    model : Model or None
        The :class:`glpp.Model` that was fitted (:meth:`predict`, :meth:`confint` and
        :func:`glpp.lrtest` use it).
    latent_residual_variance : float or None
        The level-1 variance on the latent-response scale (:meth:`icc`): sigma^2 of
        gaussian responses, pi^2/3 (logit), 1 (probit), pi^2/6 (cloglog) of binary and
        ordinal ones; ``None`` where there is none (counts, gamma, mixed families, a
        dispersion regression).
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
    convergence: Convergence | None = None
    notes: tuple[str, ...] = ()
    method: str = "ml"
    log_prior: float | None = None
    priors: tuple[str, ...] = ()
    family_rows: str = ""
    n_units: int = 0
    se_method: str = "model"
    covariance_optimised: pd.DataFrame | None = None
    latent_residual_variance: float | None = None
    _latent: Callable[[], pd.DataFrame] | None = field(default=None, repr=False, compare=False)
    _latent_moments: Callable[[], list] | None = field(default=None, repr=False, compare=False)
    model: object | None = field(default=None, repr=False, compare=False)

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.n_params

    @property
    def bic(self) -> float:
        """BIC with the number of units (rows of long data; units of wide data, as lavaan counts)."""
        return -2.0 * self.loglik + math.log(self.n_units or self.n_obs) * self.n_params

    @property
    def fixed_effects(self) -> pd.DataFrame:
        """Estimate, SE, z, p and 95% interval of the fixed effects (item intercepts ``nu``)."""
        return self.coefficient_table("fixed")

    def _names(self, kind: str) -> list[str]:
        return [name for name in self.params.index if self.parameter_kinds.get(name) == kind]

    def to_dataframe(self) -> pd.DataFrame:
        """Every parameter: kind, estimate, SE, z, p and 95% Wald interval (natural scale), by name."""
        table = self._wald(list(self.params.index))
        table.insert(0, "kind", self.parameter_kinds.reindex(self.params.index).to_numpy())
        return table

    def vcov(self, scale: str = "natural") -> pd.DataFrame:
        """Covariance of the estimates.

        Parameters
        ----------
        scale : {"natural", "optimised"}
            ``"natural"``: of the reported parameters (``params``; the delta method from the
            optimised scale); ``"optimised"``: of the unconstrained parameters the optimiser
            used (log SDs and Cholesky entries, log dispersions), in the same order and with the
            same labels. Robust fits (``se="robust"``) give the sandwich on both scales.

        Returns
        -------
        DataFrame
            Square, indexed and labelled by the parameter names.

        Examples
        --------
        >>> fit.vcov().loc["beta[month]", "beta[month]"] ** 0.5 == fit.se["beta[month]"]
        """
        if scale == "natural":
            return self.covariance
        if scale == "optimised":
            return self.covariance_optimised
        raise ValueError(f"scale must be 'natural' or 'optimised', not {scale!r}")

    def confint(self, method: str = "wald", *, level: float = 0.95, parameters: list[str] | None = None) -> pd.DataFrame:
        """Confidence intervals of the parameters (lme4's ``confint``).

        Parameters
        ----------
        method : {"wald", "profile"}
            ``"wald"``: estimate +- z SE on the reported scale (SEs by the delta method).
            ``"profile"``: profile likelihood, re-maximising over the other parameters with
            each one held fixed and solving for the signed root deviance ``+-z`` (ML fits only;
            an SD's interval may start at 0). See :mod:`glpp.results.profile`.
        level : float
            Coverage.
        parameters : list of str, optional
            Names from ``params`` (default: all; profiles cost a few refits each).

        Returns
        -------
        DataFrame
            Lower and upper ends, columns named as R's (``"2.5 %"``, ``"97.5 %"``).

        Examples
        --------
        >>> fit.confint("profile", parameters=["sd[days|subject]"])
        """
        from glpp.results.profile import confint

        return confint(self, method=method, level=level, parameters=parameters)

    def coefficient_table(self, kind: str) -> pd.DataFrame:
        """The Wald table of one kind of parameter (``fixed``, ``sd``, ``loading``, ...), indexed by
        the name inside the brackets (the full name where there are none)."""
        table = self._wald(self._names(kind))
        table.index = [name[name.index("[") + 1 : -1] if "[" in name else name for name in table.index]
        return table

    def _table(self, kind: str) -> pd.DataFrame:
        return self.coefficient_table(kind)

    def _wald(self, names: list[str]) -> pd.DataFrame:
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
        return table

    def latent(self) -> pd.DataFrame:
        """Empirical Bayes means and SDs of the latent variables per cluster."""
        if self._latent is None:
            raise NotImplementedError(
                "EB predictions are not available for this fit"
                + ("" if self.n_clusters else ": the model has no latent variables")
            )
        return self._latent()

    def latent_moments(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Posterior means (clusters x d) and covariances (clusters x d x d) of each level's
        standardised latents ``u`` (lowest level first; :meth:`latent` reports ``L u``)."""
        if self._latent_moments is None:
            raise NotImplementedError("this fit has no normal latent variables")
        return self._latent_moments()

    def predict(
        self, data: pd.DataFrame | None = None, *, kind: str = "conditional", scale: str = "response", level: float = 0.95
    ) -> pd.DataFrame:
        """Predicted means, conditional on the latents' EB means or marginal (population-averaged).

        Parameters
        ----------
        data : DataFrame, optional
            Rows to predict (the response is not needed); default: the fitted data. Rows with
            a missing value in a used column are left out (the index says which rows remain).
            New data are available for one regression on long data: with random effects (or
            none), ordinal responses (threshold and scale covariates coded from the new rows), a
            dispersion regression, latent classes in the regression (``y ~ x + C + C1:z``) or
            NPML mass points; and new units of a measurement model on wide data (one row per
            unit with the covariates it uses; each item's mean integrated over the factors,
            :mod:`glpp.results.predict_units`). ``F@id =~ item`` factors and structural paths on
            long data, a family per row, ordinal items, factors above the unit, latent classes
            of a measurement model and choice families are predicted on their fitted rows only
            (a ``SpecError`` says so).
        kind : {"conditional", "marginal"}
            ``"conditional"``: the latents at their clusters' EB means (:meth:`latent`); a row
            whose cluster at a level was not in the fit has that level's latents integrated
            out (column ``new_cluster``). Discrete latents: the classes mixed by each unit's
            posterior class probabilities (a new unit's rows, and new rows of classes that vary
            over the rows: by the class sizes). ``"marginal"``: the latents integrated out,
            ``E[y] = E[g^{-1}(eta)]`` (discrete latents: mixed by the class sizes at the rows'
            membership covariates). New units of a measurement model: conditional = marginal
            (no responses; new rows with item responses are refused for ``"conditional"``).
        scale : {"response", "link"}
            The mean (for binomial responses the probability per trial), or the linear
            predictor (for integrated or mixed predictions ``g`` of the mean). With a family per
            item or row, each row's own link. Ordinal and choice predictions are probabilities
            (``"response"`` only).
        level : float
            Coverage of the intervals.

        Returns
        -------
        DataFrame
            ``prediction``, ``se``, ``lower``, ``upper`` (delta method, Wald on the link scale;
            conditional ones add the EB posterior variance of the latents; NaN for the
            posterior mixtures of a discrete latent's fitted units) and ``new_cluster``. One row per
            predicted row, indexed like ``data``; on wide data one row per (unit, item), with a
            MultiIndex (the data's index, ``item``). See :mod:`glpp.results.predict`.

            Ordinal responses: one row per predicted row and category (MultiIndex level
            ``category``), the category probabilities (:mod:`glpp.results.predict_ordinal`).
            Choice families: one row per fitted row (alternative), indexed like the data; for
            ``family="multinomial"`` the probability that the alternative is chosen in its
            set, for ``family="ranking"`` the probability that it is ranked first in its
            ranking (:mod:`glpp.results.predict_choice`). Probabilities' intervals are Wald
            intervals of their logit, mapped back into [0, 1].

        Raises
        ------
        SpecError
            Growth mixtures, and ordinal responses or choice families with a discrete latent,
            whose predictions are not available yet; new data for the models predicted on their
            fitted rows only (above); ``scale="link"`` for ordinal and choice predictions.

        Examples
        --------
        >>> fit = glpp.Model("outcome ~ treatment * month + (1 | patient)", toenail, family="binomial").fit()
        >>> fit.predict(kind="marginal").head()
        >>> fit.predict(pd.DataFrame({"treatment": [0, 1], "month": [6, 6]}), kind="marginal")
        """
        from glpp.results.predict import predict

        return predict(self, data, kind=kind, scale=scale, level=level)

    def icc(self) -> pd.DataFrame:
        """Variance partition and intraclass correlations of the random intercepts, by level.

        On the latent-response scale: the level-1 variance is the residual variance of
        gaussian responses and that of the link's error for binary and ordinal ones (pi^2/3
        for logit, 1 for probit, pi^2/6 for cloglog), as in Snijders & Bosker (2012, ch. 17)
        and Rabe-Hesketh & Skrondal (2012). With random slopes the intercept's variance is
        the variance at covariates 0.

        Returns
        -------
        DataFrame
            One row per level, lowest first, then ``Residual``: ``variance`` (of the
            level's random intercept), ``vpc`` (its share of the total variance) and
            ``icc`` (the correlation of two latent responses in the same cluster of that
            level: the variances of the level and the levels above, over the total; none
            for the residual).

        Raises
        ------
        ValueError
            A level without a random intercept (factor models), or responses without a
            latent-response scale (counts, gamma, mixed families, a dispersion regression).

        Examples
        --------
        >>> fit = glpp.Model("outcome ~ treatment + month + trt_month + (1 | patient)",
        ...                  toenail, family="binomial").fit()
        >>> fit.icc().loc["patient", "icc"]  # sd^2 / (sd^2 + pi^2 / 3)
        """
        groups = list(dict.fromkeys(c.group for c in self.variance_components if c.group != "Residual"))
        intercepts = {c.group: c.variance for c in self.variance_components if c.name == "(Intercept)"}
        missing = [group for group in groups if group not in intercepts]
        if missing:
            raise ValueError(
                f"icc() needs a random intercept at every level; level(s) {', '.join(missing)} have "
                f"latents {', '.join(c.name for c in self.variance_components if c.group in missing)}"
            )
        if self.latent_residual_variance is None:
            raise ValueError(
                f"icc() needs a level-1 variance on the latent-response scale: gaussian (identity), "
                f"binomial or ordinal (logit, probit, cloglog) responses without a dispersion model; "
                f"this fit has {self.family} ({self.link})"
            )
        variance = pd.Series([intercepts[g] for g in groups] + [self.latent_residual_variance], index=groups + ["Residual"])
        total = variance.sum()
        above = variance.iloc[::-1].cumsum().iloc[::-1] - self.latent_residual_variance
        icc = (above / total).where(variance.index != "Residual")
        return pd.DataFrame({"variance": variance, "vpc": variance / total, "icc": icc})

    def summary(self) -> Summary:
        """The summary: prints like lme4's (and lavaan's for factor models), HTML tables in Jupyter."""
        return summarise(self)

    def __str__(self) -> str:
        return str(self.summary())


def variance_components(
    levels,
    covariances: list[np.ndarray],
    residual_sd: float | None,
    *,
    names: dict[tuple[int, int, int], str] | None = None,
    disturbances: frozenset[tuple[int, int]] = frozenset(),
) -> tuple[VarianceComponent, ...]:
    """Variances, SDs and correlations of each level's latents (and the residual SD), as lme4 prints them.

    ``levels`` are the design's levels, ``covariances`` their latent
    covariance matrices at the estimate; correlations are reported within a
    block of correlated latents only; ``residual_sd`` is the level-1 residual SD
    of a gaussian model (``None`` for other families). ``names`` maps ``(level,
    i, j)`` to the name of an SD (``i == j``) or correlation in ``MLResult.params``
    (``ParameterLayout.variance_names``; the residual SD is ``sigma``);
    ``disturbances`` holds the ``(level, latent)`` positions of regressed latents.
    """
    names = names or {}
    components = []
    for number, (level, level_covariance) in enumerate(zip(levels, covariances)):
        sds = np.sqrt(np.diag(level_covariance))
        for index, latent in enumerate(level.latent_names):
            block = next(b for b in level.blocks if index in b.latent_positions)
            # one column per earlier latent of the level (blank outside the block), as lme4 aligns them
            correlations = tuple(
                level_covariance[index, j] / (sds[index] * sds[j]) if j in block.latent_positions else None
                for j in range(index)
            )
            correlation_names = tuple(names.get((number, j, index)) for j in range(index))
            if not any(value is not None for value in correlations):
                correlations, correlation_names = (), ()
            components.append(
                VarianceComponent(
                    level.name,
                    latent,
                    float(level_covariance[index, index]),
                    float(sds[index]),
                    correlations,
                    sd_name=names.get((number, index, index)),
                    correlation_names=correlation_names,
                    disturbance=(number, index) in disturbances,
                )
            )
    if residual_sd is not None:
        components.append(VarianceComponent("Residual", "", residual_sd**2, residual_sd, sd_name="sigma"))
    return tuple(components)
