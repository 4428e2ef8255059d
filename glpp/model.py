"""Model: the thin chain string -> Spec -> Design -> graph -> fit -> result."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from glpp.design.build import Design, build_design
from glpp.errors import SpecError
from glpp.families import MixedFamily, mixed_family, resolve_family_link
from glpp.likelihood.gaussian import (
    EXACT_DESCRIPTION,
    GaussianMarginalFunctions,
    compile_gaussian_marginal,
    gaussian_data_arguments,
)
from glpp.likelihood.two_level import TwoLevelFunctions, compile_two_level, data_arguments
from glpp.fitting.multilevel import fit_multilevel, loglik_at_multilevel
from glpp.fitting.optim import AdaptiveObjective, ExactObjective, forward_hessian, maximise, numerical_hessian, warn_if_not_converged
from glpp.identification import check_parameter_count
from glpp.params import ParameterLayout
from glpp.likelihood.quadrature import make_rule
from glpp.results.ml import MLResult, latent_table, variance_components
from glpp.syntax import build_spec

__all__ = ["Model", "NIP_SEQUENCES"]

#: numbers of points per dimension tried by ``nip="auto"``, by number of latents
NIP_SEQUENCES: dict[int, tuple[int, ...]] = {
    1: (1, 7, 11, 15, 21, 31, 45, 63, 91, 127),
    2: (1, 5, 7, 9, 11, 15, 21, 31),
}
#: sparse-grid levels tried for three or more latents
SPARSE_LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
AUTO_TOLERANCE = 1e-4

_COMPILED: dict[tuple, TwoLevelFunctions] = {}
_COMPILED_EXACT: dict[tuple, GaussianMarginalFunctions] = {}
#: ``loglik_at``'s quadrature points when ``nip="auto"`` and there is no closed form
LOGLIK_AT_NIP = 30


def _compiled(layout: ParameterLayout, family, link, adaptive: bool) -> TwoLevelFunctions:
    """Compiled functions, shared by every model with the same structure."""
    key = (layout.structure_key, family.name, link.name, adaptive)
    if key not in _COMPILED:
        _COMPILED[key] = compile_two_level(layout, family, link, adaptive)
    return _COMPILED[key]


def _compiled_exact(layout: ParameterLayout) -> GaussianMarginalFunctions:
    """Compiled closed-form functions, shared by every jointly normal model with the same structure."""
    if layout.structure_key not in _COMPILED_EXACT:
        _COMPILED_EXACT[layout.structure_key] = compile_gaussian_marginal(layout)
    return _COMPILED_EXACT[layout.structure_key]


def _quadrature_text(kind: str, adaptive: bool, n_points: int) -> str:
    if kind == "product" and adaptive and n_points == 1:
        return "Laplace approximation (adaptive quadrature, 1 point)"
    return f"{'adaptive' if adaptive else 'non-adaptive'} Gauss-Hermite quadrature, " + (
        f"{n_points} points per dimension" if kind == "product" else f"sparse grid level {n_points}"
    )


def _check_bayes_supported(model: "Model") -> None:
    if isinstance(model.family, MixedFamily):
        raise SpecError("Bayesian fitting of models with a family per item is not supported yet; use fit()")
    if model.design.residual_covariances:
        covariance = model.design.residual_covariances[0]
        raise SpecError(
            f"'{covariance.left} ~~ {covariance.right}': Bayesian fitting of models with residual covariances "
            "of items is not supported yet; use fit()"
        )


@dataclass
class _StartValues:
    theta: np.ndarray
    free_fixed: np.ndarray


class Model:
    """A GLLAMM defined by a model string and a data set.

    Parameters
    ----------
    formula : str
        Model string, e.g. ``"outcome ~ treatment * month + (1 | patient)"``.
    data : DataFrame
    family : str
        ``"gaussian"``, ``"binomial"``, ``"poisson"`` or ``"gamma"``.
    link : str, optional
        Defaults to the family's canonical link (log for gamma, as lme4
        users usually choose).

    std_lv : bool
        Factor models: identify each latent by fixing its variance at 1
        (all loadings free) instead of fixing its first loading at 1.

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
        std_lv: bool = False,
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
        self.design: Design = build_design(self.spec, data, self.family, std_lv=std_lv, item_families=item_families)
        if len(self.design.levels) == 0:
            raise SpecError("the model has no random-effect term such as (1 | group); glpp fits models with latent variables")
        self.layout = ParameterLayout.from_design(self.design, self.family)
        check_parameter_count(self.design, self.layout)

    # ------------------------------------------------------------------ fit
    def _start(self) -> np.ndarray:
        """Starting values: a GLM-like fit comes first, inside :meth:`fit`."""
        design, layout = self.design, self.layout
        theta = np.zeros(layout.n_theta)
        intercept = [i for i, name in enumerate(design.fixed_names) if name == "(Intercept)"]
        if intercept:
            theta[intercept[0]] = self.family.start_eta(self.link, design.response, design.trials)
        if isinstance(self.family, MixedFamily):
            scale = self.family.eta_scale(design.response, design.family_index)
        else:
            scale = self.family.eta_scale(design.response)
        scale = 1.0 if scale is None else scale
        if layout.n_dispersion:
            theta[layout.n_theta - layout.n_dispersion :] = np.log(self._aux_start(scale))
        loadings_start = layout.n_fixed + len(layout.cholesky_entries)
        theta[loadings_start : loadings_start + len(layout.loading_parameters)] = 1.0
        for offset, entry in enumerate(layout.cholesky_entries, start=layout.n_fixed):
            if entry.row == entry.column:
                theta[offset] = np.log(scale)
        return theta

    def _aux_start(self, scale: float) -> float:
        """Start of the auxiliary parameters: the family's, or for a family per item the first
        component's that has one (one value for every item, on the responses' scale)."""
        families = [family for family, _ in getattr(self.family, "components", ((self.family, self.link),))]
        return next(family.aux.start(scale) for family in families if family.aux is not None)

    def _rules(self, nip: int | str, rule: str | None):
        n_latents = self.layout.level_sizes[0]
        kind = rule or ("product" if n_latents <= 2 else "sparse")
        if nip == "auto":
            sequence = NIP_SEQUENCES[n_latents] if kind == "product" and n_latents <= 2 else SPARSE_LEVELS
            if kind == "product" and n_latents > 2:
                sequence = (1, 3, 5, 7)
            return kind, list(sequence)
        if not isinstance(nip, (int, np.integer)) or nip < 1:
            raise SpecError(f"nip must be 'auto' or a positive integer, not {nip!r}")
        return kind, [int(nip)]

    def _uses_closed_form(self, nip: int | str) -> bool:
        """Exact multivariate normal likelihood (``nip="auto"`` on jointly normal items) or quadrature.

        Residual covariances exist in the closed form only: asking for
        quadrature (an integer ``nip``) with them is an error.
        """
        exact = self.design.jointly_normal and nip == "auto"
        if self.design.residual_covariances and not exact:
            covariance = self.design.residual_covariances[0]
            raise SpecError(
                f"'{covariance.left} ~~ {covariance.right}': residual covariances of items are fitted by the exact "
                f"multivariate normal likelihood only (quadrature assumes items independent given the latents); "
                f"use nip='auto', not nip={nip!r}"
            )
        return exact

    def _warm_start(self, objective) -> tuple[np.ndarray, np.ndarray | None]:
        """Starting values, then the fixed effects and dispersions fitted with the rest held there.

        Returns the start for the full fit and an initial inverse Hessian for
        it: BFGS's from this stage for the fitted coordinates, and for the
        others a multiple of the identity that makes BFGS's first step in
        them at most 1 (log-SD) unit long.
        """
        start = self._start()
        fixed_only = np.zeros(self.layout.n_theta, dtype=bool)
        fixed_only[: self.layout.n_fixed] = True
        if self.layout.dispersion is not None:
            fixed_only[self.layout.n_theta - self.layout.n_dispersion :] = True
        result = maximise(objective, start, free=fixed_only)
        if result.inverse_hessian is None:
            return result.theta, None
        others = ~fixed_only
        largest_gradient = float(np.max(np.abs(result.gradient[others]), initial=0.0))
        inverse_hessian = np.diag(np.where(others, 1.0 / max(1.0, largest_gradient), 0.0))
        inverse_hessian[np.ix_(fixed_only, fixed_only)] = result.inverse_hessian
        return result.theta, inverse_hessian

    def fit(
        self,
        method: str = "ml",
        nip: int | str = "auto",
        adaptive: bool = True,
        rule: str | None = None,
        se: str = "model",
        verbose: bool = False,
    ) -> MLResult:
        """Fit by maximum likelihood: (adaptive) Gauss-Hermite quadrature, or a closed form.

        Measurement models on wide data whose items are all gaussian with
        identity link (CFA, SEM) have a closed-form likelihood: a unit's items
        are multivariate normal. ``nip="auto"`` then uses it (exact, no
        quadrature; ``fit.quadrature`` says ``"exact, multivariate
        normal"`` and ``fit.nip`` is 0); an integer ``nip`` integrates by
        quadrature instead, as gllamm does, and converges to the same
        log-likelihood. Residual covariances of items (``y1 ~~ y5``) exist
        in the closed form only. Two-level factor models of such items
        (latents at the units and at one grouping level) have a closed form
        too: all items of a cluster are multivariate normal.

        Parameters
        ----------
        method : {"ml"}
        nip : int or "auto"
            Quadrature points per latent dimension (the level for sparse
            rules). ``"auto"`` uses the closed form where there is one and
            otherwise increases the number until the log-likelihood at the
            estimate changes by less than 1e-4. ``nip=1`` with
            ``adaptive=True`` is the Laplace approximation.
        adaptive : bool
            Centre and scale the nodes at each cluster's posterior mode and
            curvature (default), or use the plain rule (non-adaptive).
            Unused by the closed form.
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
        if len(self.design.levels) > 1:
            if not adaptive or rule not in (None, "product"):
                raise SpecError("models with three or more levels use adaptive product quadrature only")
            return fit_multilevel(self, nip=nip, verbose=verbose)
        started = time.perf_counter()
        callback = (lambda iteration, value: print(f"  iteration {iteration:4d}  loglik {value:.6f}")) if verbose else None
        if self._uses_closed_form(nip):
            return self._fit_exact(callback, started)
        kind, sequence = self._rules(nip, rule)
        n_latents = self.layout.level_sizes[0]
        functions = _compiled(self.layout, self.family, self.link, adaptive)
        level = self.design.levels[0]
        objective = AdaptiveObjective(
            functions, data_arguments(self.design), level.n_clusters, make_rule(sequence[0], n_latents, kind)
        )
        theta, warm_inverse_hessian = self._warm_start(objective)
        nip_path: dict[int, float] = {}
        result = None
        for position, n_points in enumerate(sequence):
            objective.set_rule(make_rule(n_points, n_latents, kind))
            # warm start: the previous number of points' estimate and inverse Hessian
            result = maximise(
                objective, theta, callback=callback, inverse_hessian=warm_inverse_hessian if result is None else result.inverse_hessian
            )
            theta = result.theta
            nip_path[n_points] = result.loglik
            if verbose:
                print(f"nip={n_points}: loglik {result.loglik:.6f} ({result.n_iterations} iterations)")
            if position + 1 == len(sequence):
                break
            objective.set_rule(make_rule(sequence[position + 1], n_latents, kind))
            next_loglik = objective.loglik(theta)[0]
            nip_path[sequence[position + 1]] = next_loglik
            if abs(next_loglik - result.loglik) < AUTO_TOLERANCE:
                objective.set_rule(make_rule(n_points, n_latents, kind))
                break
        else:  # pragma: no cover - loop always breaks
            pass
        if nip == "auto" and abs(nip_path[max(nip_path)] - result.loglik) >= AUTO_TOLERANCE:
            warnings.warn(
                f"nip='auto' stopped at {sequence[-1]} points without the log-likelihood settling to "
                f"{AUTO_TOLERANCE}; the quadrature may be inaccurate",
                stacklevel=2,
            )
        n_points = objective.rule.n_points
        hessian = forward_hessian(objective, theta, result.gradient)
        objective.loglik(theta)
        converged = warn_if_not_converged(result, hessian, list(self.layout.natural_names))
        quadrature = _quadrature_text(kind, adaptive, n_points)
        seconds = time.perf_counter() - started
        return self._result(objective, result, theta, hessian, converged, n_points, quadrature, nip_path, seconds)

    def _fit_exact(self, callback, started: float) -> MLResult:
        """ML by the closed-form multivariate normal likelihood (see :mod:`glpp.likelihood.gaussian`)."""
        objective = ExactObjective(_compiled_exact(self.layout), gaussian_data_arguments(self.design))
        result, hessian, converged = self._maximise_exact(objective, callback)
        seconds = time.perf_counter() - started
        return self._result(objective, result, result.theta, hessian, converged, 0, EXACT_DESCRIPTION, {}, seconds)

    def _maximise_exact(self, objective, callback):
        """Maximise a closed-form likelihood: (result, Hessian, converged)."""
        start = self._start()
        # least squares of the items on the fixed part (item means, direct effects) starts the mean;
        # from there BFGS needs fewer evaluations than after a fixed-part-only warm start
        design = self.design
        start[: self.layout.n_fixed] = np.linalg.lstsq(design.fixed, design.response - design.offset, rcond=None)[0]
        result = maximise(objective, start, callback=callback)
        hessian = numerical_hessian(objective, result.theta)
        return result, hessian, warn_if_not_converged(result, hessian, list(self.layout.natural_names))

    def loglik_at(
        self,
        params: pd.Series | dict[str, float],
        nip: int | str = "auto",
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
        nip : int or "auto"
            Quadrature points per dimension (level for sparse rules).
            ``"auto"``: the exact closed form for jointly normal items (see
            :meth:`fit`), otherwise 30 points. Models with two or more
            latent levels take one number per level too; ``"auto"`` is then
            1 point (exact) for gaussian responses with identity link,
            otherwise 15.
        adaptive : bool
        rule : {"product", "sparse"}
        per_cluster : bool
            Return the log-likelihood of each top-level cluster instead of the total.
        """
        theta = self.layout.theta_from_named(dict(params))
        if len(self.design.levels) > 1:
            return loglik_at_multilevel(self, theta, nip, per_cluster)
        if self._uses_closed_form(nip):
            objective = ExactObjective(_compiled_exact(self.layout), gaussian_data_arguments(self.design))
            total, _, units = objective.loglik(theta)
            return units if per_cluster else total
        nip = LOGLIK_AT_NIP if nip == "auto" else nip
        functions = _compiled(self.layout, self.family, self.link, adaptive)
        level = self.design.levels[0]
        objective = AdaptiveObjective(
            functions, data_arguments(self.design), level.n_clusters, make_rule(nip, level.n_latents, rule)
        )
        total, _, clusters = objective.loglik(theta)
        return clusters if per_cluster else total

    # --------------------------------------------------------------- result
    def _result(self, objective, result, theta, hessian, converged, n_points, quadrature, nip_path, seconds) -> MLResult:
        layout = self.layout
        names = list(layout.natural_names)
        natural = layout.natural(theta)
        covariance = layout.natural_covariance(theta, hessian)
        with np.errstate(invalid="ignore"):
            standard_errors = np.sqrt(np.diag(covariance))
        level = self.design.levels[0]
        components = variance_components([level], layout.covariances(theta)[:1], layout.residual_sd(theta))

        def latent() -> pd.DataFrame:
            mean, posterior_covariance = objective.posterior_moments(theta)
            return latent_table(level, mean, posterior_covariance, layout.cholesky_factors(theta)[0])

        return MLResult(
            params=pd.Series(natural, index=names),
            se=pd.Series(standard_errors, index=names),
            loglik=float(result.loglik),
            n_params=layout.n_theta,
            n_obs=self.design.n_rows,
            n_dropped=self.design.n_dropped,
            converged=converged,
            nip=n_points,
            quadrature=quadrature,
            covariance=pd.DataFrame(covariance, index=names, columns=names),
            variance_components=components,
            n_clusters={level.name: level.n_clusters},
            family=self.family.name,
            link=self.link.name,
            formula=self.formula,
            nip_path=nip_path,
            n_iterations=result.n_iterations,
            fit_seconds=seconds,
            parameter_kinds=layout.kinds,
            _latent=latent,
        )

    # ---------------------------------------------------------------- Bayes
    def pymc_model(self, kind: str = "latent", priors: dict | None = None):
        """The PyMC model: ``kind="latent"`` (latents explicit) or ``"marginal"``.

        See :func:`glpp.bayes.build_pymc_model` (priors, parameter names).
        """
        _check_bayes_supported(self)
        from glpp.bayes import build_pymc_model

        return build_pymc_model(self, kind, priors=priors)

    def sample(
        self,
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
        _check_bayes_supported(self)
        from glpp.bayes import sample

        return sample(
            self,
            kind=kind,
            draws=draws,
            tune=tune,
            chains=chains,
            nuts_sampler=nuts_sampler,
            random_seed=random_seed,
            priors=priors,
            **kwargs,
        )
