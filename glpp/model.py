"""Model: the thin chain string -> Spec -> Design -> objective -> fit -> result."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from glpp.design.build import Design, build_design
from glpp.design.checks import require_latents
from glpp.errors import SpecError
from glpp.families.resolve import resolve_families
from glpp.fitting import fit_discrete, make_objective, maximise_likelihood, show_progress
from glpp.results.build import build_result
from glpp.params.discrete import build_layout
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
        ``"gaussian"``, ``"binomial"``, ``"poisson"``, ``"gamma"``, ``"negbinomial"``, ``"ordinal"``,
        ``"multinomial"`` or ``"ranking"`` (:mod:`glpp.families`); a dict: one per item; a column
        of ``data`` holding family names: one per row (:func:`glpp.families.resolve.resolve_families`).
    link : str, optional
        Defaults to the family's canonical link (log for gamma, as lme4 users usually choose);
        with a family column, a column of link names.
    std_lv : bool
        Factor models: fix each latent's variance at 1 (all loadings free), not its first loading.
    thresholds, dispersion : str, optional
        ``"~ z"``: ordinal threshold covariates (one slope per threshold); a log-linear model
        of the dispersion (gaussian SD, gamma shape, NB size, ordinal scale). See the user guide.
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
        thresholds: str | None = None,
        dispersion: str | None = None,
        choice_set: str | None = None,
    ):
        if not isinstance(data, pd.DataFrame):
            raise TypeError("data must be a pandas DataFrame")
        self.formula = formula
        #: the data (a copy-on-write copy) that predictions code new data by
        self.data = data.copy(deep=False)
        choice = resolve_families(family, link, data)
        self.family, self.link = choice.family, choice.link
        self.spec = build_spec(formula, self.family.name, self.link.name, thresholds=thresholds, dispersion=dispersion)
        self.design: Design = build_design(
            self.spec, data, self.family, std_lv=std_lv, item_families=choice.item_families,
            row_families=choice.row_families, choice_set=choice_set,
        )
        self.layout = build_layout(self.design, self.family)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        *,
        method: str = "ml",
        priors: dict | str | None = None,
        nip: int | tuple[int, ...] | str = "auto",
        adaptive: bool = True,
        rule: str | None = None,
        se: str | tuple[str, str] = "model",
        verbose: bool = False,
        progress: bool | None = None,
        starts: int = 10,
        seed: int | None = 0,
    ) -> MLResult:
        """Fit by maximum likelihood (or MAP): (adaptive) Gauss-Hermite quadrature, or a closed form.

        The chain :func:`glpp.fitting.make_objective` (the engine) ->
        :func:`glpp.fitting.maximise_likelihood` (start values, the ``nip``
        schedule, Hessian, convergence checks) -> the result. See ``docs/user-guide.md``.

        Parameters
        ----------
        method : {"ml", "map"}
            ``"map"``: the posterior mode under ``priors`` (:mod:`glpp.bayes.map`).
        priors : dict, "flat", "boundary_avoiding" or None
            MAP only: the Bayesian defaults (None) updated by a dict as in
            :meth:`sample`, or a named set.
        nip : int, tuple of int or "auto"
            Quadrature points per latent dimension (the level for sparse rules); a tuple gives one
            number per latent level (lowest first). ``"auto"`` uses the closed form where there is
            one and otherwise increases the number until the log-likelihood at the estimate changes
            by less than 1e-4 (:mod:`glpp.fitting.nip`). ``nip=1`` with ``adaptive=True`` is the
            Laplace approximation.
        adaptive : bool
            Centre and scale the nodes at each cluster's posterior mode and curvature
            (default), or use the plain rule (one latent level only).
        rule : {"product", "sparse"}, optional
            Product Gauss-Hermite rule (default for up to two latents per
            cluster) or Smolyak sparse grid (default for three or more).
        se : "model", "robust" or ("robust", level)
            Inverse observed information, or the sandwich clustered by the top level.
        verbose, progress : bool; progress None: in Jupyter only (:mod:`glpp.fitting.progress`)
            Print each iteration's log-likelihood and each ``nip`` step; a progress line on stderr.
        starts, seed : discrete latents' random starts and their seed (:mod:`glpp.fitting.discrete_fit`).

        Returns
        -------
        MLResult
        """
        if method not in ("ml", "map") or (priors is not None and method == "ml"):
            raise SpecError(f"method={method!r} with priors={priors!r}: use method='ml', or 'map' with priors")
        if self.design.discrete is not None:
            if se != "model":
                raise SpecError(f"se={se!r} is not available for discrete latents yet; use se='model'")
            result = fit_discrete(self.design, self.family, self.link, starts=starts, seed=seed,
                                  formula=self.formula, method=method, nip=nip)
            return replace(result, model=self)
        objective = make_objective(self.design, self.layout, self.family, self.link, nip=nip, adaptive=adaptive,
                                   rule=rule)
        if method == "map":
            from glpp.bayes.map import penalised_objective

            require_latents(self.design, "method='map'")
            objective = penalised_objective(self, objective, priors)
        estimate = maximise_likelihood(objective, verbose=verbose, progress=show_progress(progress))
        return replace(build_result(objective, estimate, formula=self.formula, se=se), model=self)

    def loglik_at(
        self,
        params: pd.Series | dict[str, float],
        *,
        nip: int | tuple[int, ...] | str = "auto",
        adaptive: bool = True,
        rule: str = "product",
        per_cluster: bool = False,
    ) -> float | np.ndarray:
        """Marginal log-likelihood at natural parameters ``params`` (named as in ``MLResult.params``).

        ``nip="auto"``: the closed form where :meth:`fit` uses one, one point where adaptive
        quadrature with one point is exact (gaussian, identity link), otherwise
        :data:`glpp.fitting.nip.LOGLIK_AT_NIP` points per dimension at every level.
        ``per_cluster=True`` returns the log-likelihood of each top-level cluster.
        """
        theta = self.layout.theta_from_named(dict(params))
        objective = make_objective(self.design, self.layout, self.family, self.link, nip=nip, adaptive=adaptive,
                                   rule=rule)
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

        require_latents(self.design, "pymc_model()")
        return build_pymc_model(self, kind, priors=priors)

    def sample(
        self,
        *,
        kind: str = "marginal",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        nuts_sampler: str = "pymc",
        random_seed=None,
        priors: dict | None = None,
        **kwargs,
    ):
        """Bayesian fit by NUTS; returns an arviz DataTree (see :func:`glpp.bayes.sample`)."""
        from glpp.bayes import sample

        require_latents(self.design, "sample()")
        options = dict(draws=draws, tune=tune, chains=chains, nuts_sampler=nuts_sampler)
        return sample(self, kind=kind, random_seed=random_seed, priors=priors, **options, **kwargs)
