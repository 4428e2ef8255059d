"""Likelihood-ratio tests of nested ML fits (lme4's ``anova(m0, m1)``), with the boundary rule.

The statistic is ``2 (loglik_1 - loglik_0)`` on ``df = n_params_1 - n_params_0``. When the
larger model adds one latent variable (a random intercept to a GLM, a random slope to a
random intercept) its variance is 0 under the null, on the boundary of the parameter space,
and the statistic's null distribution is the mixture ``0.5 chi2(df - 1) + 0.5 chi2(df)``
(Self & Liang 1987; Stram & Lee 1994), ``chi2(0)`` being a point mass at 0: the p-value is
``0.5 P(chi2(df - 1) > x) + 0.5 P(chi2(df) > x)``. More than one added latent has a
chi-bar-square null with weights that depend on the information matrix; the plain
``chi2(df)`` p-value is then reported (conservative) and the test says so. ``p_value_chi2``
always holds the plain value, which is what ``anova()`` prints.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import chdtrc  # chi2(df).sf(x); scipy.stats costs ~1 s of import

from glpp.errors import ConvergenceWarning, SpecError

__all__ = ["LikelihoodRatioTest", "lrtest", "mixture_p_value"]

#: a larger model whose log-likelihood is lower than the smaller one's by more than this is not at its maximum
LOGLIK_SLACK = 1e-3


@dataclass(frozen=True)
class LikelihoodRatioTest:
    """The outcome of :func:`lrtest`.

    Attributes
    ----------
    statistic : float
        ``2 (loglik_1 - loglik_0)`` (0 where rounding makes it negative).
    df : int
        Difference in the numbers of free parameters.
    p_value : float
        By ``rule``.
    p_value_chi2 : float
        ``P(chi2(df) > statistic)`` (lme4's ``anova``).
    rule : str
        How ``p_value`` was computed.
    added_latents : tuple of str
        Latents of the larger model that the smaller one lacks (``group/latent``).
    loglik : tuple of float
        The two log-likelihoods, smaller model first.
    n_params : tuple of int
    """

    statistic: float
    df: int
    p_value: float
    p_value_chi2: float
    rule: str
    added_latents: tuple[str, ...]
    loglik: tuple[float, float]
    n_params: tuple[int, int]

    def to_frame(self) -> pd.DataFrame:
        """lme4's ``anova`` table: one row per model."""
        return pd.DataFrame(
            {
                "npar": self.n_params,
                "logLik": self.loglik,
                "deviance": [-2 * value for value in self.loglik],
                "Chisq": [np.nan, self.statistic],
                "Df": [np.nan, self.df],
                "Pr(>Chisq)": [np.nan, self.p_value],
            },
            index=["model 0", "model 1"],
        )

    def __str__(self) -> str:
        table = self.to_frame().to_string(float_format=lambda v: f"{v:.5g}", na_rep="")
        return f"Likelihood-ratio test\n{table}\np-value: {self.rule}"


def mixture_p_value(statistic: float, df: int) -> float:
    """``0.5 P(chi2(df - 1) > x) + 0.5 P(chi2(df) > x)``, ``chi2(0)`` a point mass at 0."""
    lower = float(statistic <= 0.0) if df == 1 else chdtrc(df - 1, statistic)
    return float(0.5 * lower + 0.5 * chdtrc(df, statistic))


def _latents(result) -> set[str]:
    return {f"{c.group}/{c.name}" for c in result.variance_components if c.group != "Residual"}


def _check_comparable(smaller, larger) -> None:
    """Refuse fits that are not ML fits of nested models of the same rows."""
    for fit in (smaller, larger):
        if getattr(fit, "model", None) is None:
            raise SpecError("lrtest() needs two fits made by glpp.Model(...).fit()")
        if fit.method != "ml":
            raise SpecError("lrtest() compares maximum-likelihood fits; refit with method='ml'")
    first, second = smaller.model, larger.model
    same_rows = first.design.n_rows == second.design.n_rows and np.array_equal(first.design.response, second.design.response)
    same_data = first.data is second.data or first.data.equals(second.data)
    if not (same_data and same_rows):
        raise SpecError(
            "lrtest(): the two fits are of different data (or different rows after dropping missing values); "
            "fit both models to the same data frame, with the same complete rows"
        )
    if (smaller.family, smaller.link) != (larger.family, larger.link):
        raise SpecError(
            f"lrtest(): the fits have different families ({smaller.family}/{smaller.link} and "
            f"{larger.family}/{larger.link}), so they are not nested"
        )
    missing = [name for name in smaller.params.index if smaller.parameter_kinds.get(name) not in ("sd", "cor") and name not in larger.params.index]
    missing += sorted(_latents(smaller) - _latents(larger))
    if smaller.n_params == larger.n_params or missing:
        reason = "they have the same number of parameters" if smaller.n_params == larger.n_params else f"the smaller model has {missing} that the larger lacks"
        raise SpecError(f"lrtest(): the models are not nested ({reason}); compare a model with one that extends it")


def lrtest(fit0, fit1) -> LikelihoodRatioTest:
    """Likelihood-ratio test of two nested ML fits (either order), with the boundary rule.

    Parameters
    ----------
    fit0, fit1 : MLResult
        ML fits of nested models to the same data (e.g. ``y ~ x + (1 | g)`` and
        ``y ~ x + (1 + x | g)``, or a GLM and the same model with a random intercept).
        The fit with fewer parameters is the null model.

    Returns
    -------
    LikelihoodRatioTest
        Statistic, df, ``p_value`` (the ``0.5 chi2(df-1) + 0.5 chi2(df)`` mixture when the
        larger model adds one latent: its variance is on the boundary under the null; see
        :mod:`glpp.results.lrtest`) and the plain chi-square p-value.

    Raises
    ------
    SpecError
        Not ML fits, different data or rows, different families, or not nested (a
        parameter or latent of the smaller model missing from the larger one).

    Examples
    --------
    >>> f0 = glpp.Model("reaction ~ days + (1 | subject)", sleep).fit()
    >>> f1 = glpp.Model("reaction ~ days + (days | subject)", sleep).fit()
    >>> print(glpp.lrtest(f0, f1))
    """
    smaller, larger = (fit0, fit1) if fit0.n_params <= fit1.n_params else (fit1, fit0)
    _check_comparable(smaller, larger)
    difference = larger.loglik - smaller.loglik
    if difference < -LOGLIK_SLACK:
        warnings.warn(
            f"lrtest(): the larger model's log-likelihood is lower by {-difference:.3g}; "
            "it is not at its maximum (check fit.convergence) or the models are not nested",
            ConvergenceWarning,
            stacklevel=2,
        )
    statistic = max(0.0, 2.0 * difference)
    df = larger.n_params - smaller.n_params
    added = tuple(sorted(_latents(larger) - _latents(smaller)))
    plain = float(chdtrc(df, statistic))
    if len(added) == 1:
        p_value = mixture_p_value(statistic, df)
        rule = f"0.5 chi2({df - 1}) + 0.5 chi2({df}) mixture: the variance of the added latent {added[0]} is on its boundary under the null (Self & Liang 1987)"
    elif added:
        p_value = plain
        rule = f"chi2({df}); {len(added)} latents added: the boundary mixture depends on the information, the chi2 p-value is conservative"
    else:
        p_value = plain
        rule = f"chi2({df})"
    return LikelihoodRatioTest(
        statistic, df, p_value, plain, rule, added, (smaller.loglik, larger.loglik), (smaller.n_params, larger.n_params)
    )
