"""Model: the thin chain string -> Spec -> Design -> objective -> fit -> result."""

from __future__ import annotations

import numpy as np
import pandas as pd

from glpp.design.build import Design, build_design
from glpp.errors import SpecError
from glpp.families import mixed_family, resolve_family_link
from glpp.fitting.engines import make_objective
from glpp.fitting.ml import maximise_likelihood
from glpp.results.build import build_result
from glpp.identification import check_parameter_count
from glpp.params import ParameterLayout
from glpp.results.ml import MLResult
from glpp.syntax import build_spec

__all__ = ["Model"]


class Model:
    """A GLLAMM defined by a model string and a data set.

    Parameters
    ----------
    formula : str
        Model string, e.g. ``"outcome ~ treatment * month + (1 | patient)"``.
    data : DataFrame
    family : str or dict
        ``"gaussian"``, ``"binomial"``, ``"poisson"``, ``"gamma"``, ``"negbinomial"``,
        ``"multinomial"`` or ``"ranking"`` (:mod:`glpp.families`); a dict: one per item.
    link : str, optional
        Defaults to the family's canonical link (log for gamma, as lme4
        users usually choose).
    std_lv : bool
        Factor models: identify each latent by fixing its variance at 1
        (all loadings free) instead of fixing its first loading at 1.
    choice_set : str, optional
        Choice families on expanded data: the column naming each row's choice set.

    Examples
    --------
    >>> model = glpp.Model("outcome ~ treatment + month + trt_month + (1 | patient)",
    ...                    data=toenail, family="binomial")
    >>> fit = model.fit()
    >>> print(fit.summary())
    """

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        family: str | dict[str, str | tuple[str, str]] = "gaussian",
        link: str | None = None,
        *,
        std_lv: bool = False,
        choice_set: str | None = None,
    ):
        if not isinstance(data, pd.DataFrame):
            raise TypeError("data must be a pandas DataFrame")
        self.formula = formula
        item_families = None
        if isinstance(family, dict):
            self.family, self.link, item_families = mixed_family(family)
        else:
            self.family, self.link = resolve_family_link(family, link)
        self.spec = build_spec(formula, self.family.name, self.link.name)
        self.design: Design = build_design(
            self.spec, data, self.family, std_lv=std_lv, item_families=item_families, choice_set=choice_set
        )
        if len(self.design.levels) == 0:
            raise SpecError(
                "the model has no random-effect term such as (1 | group); glpp fits models with latent variables"
            )
        self.layout = ParameterLayout.from_design(self.design, self.family)
        check_parameter_count(self.design, self.layout)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        *,
        method: str = "ml",
        nip: int | tuple[int, ...] | str = "auto",
        adaptive: bool = True,
        rule: str | None = None,
        se: str = "model",
        verbose: bool = False,
    ) -> MLResult:
        """Fit by maximum likelihood: (adaptive) Gauss-Hermite quadrature, or a closed form.

        The chain :func:`glpp.fitting.make_objective` (the engine: the exact
        multivariate normal likelihood of jointly normal items on wide data,
        one or two latent levels, with ``nip="auto"``; otherwise quadrature)
        -> :func:`glpp.fitting.maximise_likelihood` (start values, the ``nip`` schedule of
        :mod:`glpp.fitting.nip`, Hessian, convergence checks, the result).
        Residual covariances of items (``y1 ~~ y5``) exist in the closed form
        only. See ``docs/user-guide.md``.

        Parameters
        ----------
        method : {"ml"}
        nip : int, tuple of int or "auto"
            Quadrature points per latent dimension (the level for sparse
            rules); a tuple gives one number per latent level (lowest first).
            ``"auto"`` uses the closed form where there is one and otherwise
            increases the number until the log-likelihood at the estimate
            changes by less than 1e-4 (:mod:`glpp.fitting.nip`). ``nip=1``
            with ``adaptive=True`` is the Laplace approximation.
        adaptive : bool
            Centre and scale the nodes at each cluster's posterior mode and
            curvature (default), or use the plain rule (non-adaptive; one
            latent level only). Unused by the closed form.
        rule : {"product", "sparse"}, optional
            Product Gauss-Hermite rule (default for up to two latents per
            cluster) or Smolyak sparse grid (default for three or more).
            Unused by the closed form.
        se : {"model"}
            Inverse observed information.
        verbose : bool
            Print the log-likelihood at each iteration and each ``nip`` step.

        Returns
        -------
        MLResult
        """
        if method != "ml":
            raise SpecError(f"method {method!r} is not available; use method='ml'")
        if se != "model":
            raise SpecError(f"se={se!r} is not available yet; use se='model'")
        objective = make_objective(
            self.design, self.layout, self.family, self.link, nip=nip, adaptive=adaptive, rule=rule
        )
        return build_result(objective, maximise_likelihood(objective, verbose=verbose), formula=self.formula)

    def loglik_at(
        self,
        params: pd.Series | dict[str, float],
        *,
        nip: int | tuple[int, ...] | str = "auto",
        adaptive: bool = True,
        rule: str = "product",
        per_cluster: bool = False,
    ) -> float | np.ndarray:
        """Marginal log-likelihood at given parameter values.

        Parameters
        ----------
        params : Series or dict
            Natural parameters by name, as in ``MLResult.params``
            (``beta[...]``, ``sd[...]``, ``cor[...]``, ``sigma``/``shape``).
        nip : int, tuple of int or "auto"
            Quadrature points per dimension (level for sparse rules), at every
            latent level or one number per level. ``"auto"``: the closed form
            where :meth:`fit` uses one, one point per level where adaptive
            quadrature with one point is exact (gaussian responses with
            identity link), otherwise
            :data:`glpp.fitting.nip.LOGLIK_AT_NIP` (30) points per dimension
            at every level.
        adaptive : bool
        rule : {"product", "sparse"}
        per_cluster : bool
            Return the log-likelihood of each top-level cluster instead of the total.
        """
        theta = self.layout.theta_from_named(dict(params))
        objective = make_objective(
            self.design, self.layout, self.family, self.link, nip=nip, adaptive=adaptive, rule=rule
        )
        if objective.schedule is not None:
            objective.set_points(objective.schedule.evaluation_points)
        total, _, clusters = objective.loglik(theta)
        return clusters if per_cluster else total

    # ---------------------------------------------------------------- Bayes
    def pymc_model(self, kind: str = "latent", *, priors: dict | None = None):
        """The PyMC model: ``kind="latent"`` (latents explicit) or ``"marginal"``.

        See :func:`glpp.bayes.build_pymc_model` (priors, parameter names).
        """
        from glpp.bayes import build_pymc_model

        return build_pymc_model(self, kind, priors=priors)

    def sample(
        self,
        *,
        kind: str = "marginal",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 2,
        nuts_sampler: str = "pymc",
        random_seed=None,
        priors: dict | None = None,
        **kwargs,
    ):
        """Bayesian fit by NUTS; returns an arviz DataTree (see :func:`glpp.bayes.sample`)."""
        from glpp.bayes import sample

        options = dict(draws=draws, tune=tune, chains=chains, nuts_sampler=nuts_sampler)
        return sample(self, kind=kind, random_seed=random_seed, priors=priors, **options, **kwargs)
