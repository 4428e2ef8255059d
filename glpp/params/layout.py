"""ParameterLayout: the parameter table of a model, its theta map and the pieces the graphs unpack."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from glpp.design import Design
from glpp.families import Family
from glpp.params.table import KIND_ORDER, CholeskyEntry, LatentBlock, Parameter, table_rows

__all__ = ["ParameterLayout"]


@dataclass(frozen=True)
class ParameterLayout:
    """The parameter table of a model and the structure its likelihood graphs need.

    Attributes
    ----------
    table : tuple of Parameter
        Every parameter, free rows in ``theta`` order (kinds in :data:`KIND_ORDER`).
    level_sizes : tuple of int
        Number of latents per level (lowest level first).
    blocks : tuple of LatentBlock
        Covariance blocks of every level, in table order.
    loading_rows : tuple of int
        The table row of each design loading (``Design.loadings`` order).
    residual_covariance_sources : tuple of (int, int, int)
        ``(left item, right item, residual covariance parameter)`` per design entry.
    n_latent_covariates : int
        Columns of ``Design.latent_covariates`` (predictors of covariate paths).
    dispersion : str or None
        The family's auxiliary parameter name (``"sigma"``, ...), ``None`` without one.
    has_residual_sd : bool
        The one auxiliary parameter is the level-1 residual SD (gaussian).
    """

    table: tuple[Parameter, ...]
    level_sizes: tuple[int, ...]
    blocks: tuple[LatentBlock, ...] = ()
    loading_rows: tuple[int, ...] = ()
    residual_covariance_sources: tuple[tuple[int, int, int], ...] = ()
    n_latent_covariates: int = 0
    dispersion: str | None = None
    has_residual_sd: bool = False

    @classmethod
    def from_design(cls, design: Design, family: Family) -> "ParameterLayout":
        """The table of a design (:func:`~glpp.params.table.table_rows`) and its structure."""
        built = table_rows(design, family)
        return cls(
            table=built.rows,
            level_sizes=tuple(level.n_latents for level in design.levels),
            blocks=built.blocks,
            loading_rows=built.loading_rows,
            residual_covariance_sources=built.residual_covariance_sources,
            n_latent_covariates=len(design.latent_covariate_names),
            dispersion=family.dispersion,
            has_residual_sd=family.aux is not None
            and family.aux.is_residual_sd
            and built.aux_names == (family.dispersion,),
        )

    # ------------------------------------------------------------ queries
    @cached_property
    def free(self) -> tuple[Parameter, ...]:
        """The free rows: ``theta``'s entries, in order."""
        return tuple(parameter for parameter in self.table if parameter.free)

    @cached_property
    def _theta_position(self) -> dict[int, int]:
        """Table row -> position in ``theta`` (free rows only)."""
        free_rows = [k for k, parameter in enumerate(self.table) if parameter.free]
        return {row: position for position, row in enumerate(free_rows)}

    def names(self, *kinds: str) -> tuple[str, ...]:
        """Names of the free parameters of ``kinds`` (all kinds if none given), in theta order."""
        return tuple(p.name for p in self.free if not kinds or p.kind in kinds)

    def kind_slice(self, kind: str) -> slice:
        """Where the free parameters of ``kind`` sit in ``theta``."""
        positions = [k for k, parameter in enumerate(self.free) if parameter.kind == kind]
        if not positions:
            start = sum(1 for parameter in self.free if KIND_ORDER.index(parameter.kind) < KIND_ORDER.index(kind))
            return slice(start, start)
        return slice(positions[0], positions[-1] + 1)

    @property
    def kinds(self) -> pd.Series:
        """The kind of each free parameter, indexed by name (theta order)."""
        return pd.Series([p.kind for p in self.free], index=list(self.names()), dtype=object)

    def to_frame(self) -> pd.DataFrame:
        """The table as a DataFrame (as lavaan's ``parTable``): one row per parameter."""
        return pd.DataFrame(
            [
                {
                    "name": p.name,
                    "kind": p.kind,
                    "level": p.level,
                    "free": p.free,
                    "value": p.value,
                    "label": p.label,
                    "transform": p.transform,
                }
                for p in self.table
            ]
        )

    @property
    def n_theta(self) -> int:
        """Number of free parameters (lme4's and lavaan's ``df``)."""
        return len(self.free)

    @property
    def natural_names(self) -> tuple[str, ...]:
        return self.names()

    @property
    def fixed_names(self) -> tuple[str, ...]:
        return self.names("fixed")

    @property
    def n_fixed(self) -> int:
        return len(self.fixed_names)

    @property
    def loading_parameters(self) -> tuple[str, ...]:
        return self.names("loading")

    @property
    def path_names(self) -> tuple[str, ...]:
        return self.names("path")

    @property
    def residual_covariance_names(self) -> tuple[str, ...]:
        return self.names("residual_covariance")

    @property
    def dispersion_names(self) -> tuple[str, ...]:
        return self.names("aux")

    @property
    def n_dispersion(self) -> int:
        return len(self.dispersion_names)

    @property
    def has_item_dispersions(self) -> bool:
        """The dispersion is per item: :meth:`unpack` gives a vector, indexed by ``Design.dispersion_index``."""
        return self.n_dispersion > 0 and self.dispersion_names != (self.dispersion,)

    @property
    def n_thresholds(self) -> int:
        return len(self.names("threshold"))

    @cached_property
    def threshold_set_first(self) -> np.ndarray:
        """For each threshold (flat order), the flat position of the first threshold of its set."""
        rows = [p.row for p in self.free if p.kind == "threshold"]
        return np.array([k - row for k, row in enumerate(rows)], dtype=np.int64)

    @property
    def n_threshold_covariates(self) -> int:
        n_slopes = len(self.names("threshold_slope"))
        return n_slopes // self.n_thresholds if n_slopes else 0

    @property
    def has_dispersion_regression(self) -> bool:
        return bool(self.names("dispersion"))

    @property
    def variance_names(self) -> tuple[tuple[str, int, int, int], ...]:
        """``(name, level, i, j)`` of every ``sd`` (i == j) and ``cor`` row."""
        return tuple(
            (p.name, p.level, p.row, p.row if p.kind == "sd" else p.column)
            for p in self.free
            if p.kind in ("sd", "cor")
        )

    @property
    def cholesky_entries(self) -> tuple[CholeskyEntry, ...]:
        """The free Cholesky elements of every block, in theta order (after the fixed effects)."""
        return tuple(entry for block in self.blocks for entry in block.cholesky_entries)

    @property
    def unit_variance_rows(self) -> tuple[tuple[int, int], ...]:
        """``(level, row)`` of the latents whose (disturbance) variance is fixed at 1."""
        return tuple((block.level, row) for block in self.blocks if block.unit_variance for row in block.positions)

    @property
    def _paths(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.free if p.kind == "path")

    @property
    def path_positions(self) -> tuple[tuple[str, int, int], ...]:
        """``(kind, dependent, predictor)`` of each path; kind ``"latent"`` or ``"covariate"``."""
        return tuple(
            ("covariate" if p.predictor_level is None else "latent", p.row, p.column) for p in self._paths
        )

    @property
    def loading_sources(self) -> tuple[tuple[float | None, int], ...]:
        """Per design loading: ``(fixed value, -1)`` or ``(None, position among the free loadings)``."""
        free_loading_rows = [k for k, p in enumerate(self.table) if p.free and p.kind == "loading"]
        position = {row: k for k, row in enumerate(free_loading_rows)}
        return tuple(
            (None, position[row]) if self.table[row].free else (self.table[row].value, -1)
            for row in self.loading_rows
        )

    @property
    def has_loadings(self) -> bool:
        return bool(self.loading_rows)

    @property
    def has_covariate_paths(self) -> bool:
        return any(kind == "covariate" for kind, _, _ in self.path_positions)

    @property
    def structure_key(self) -> tuple:
        """Everything the likelihood graph depends on, and no names: equal keys share compiled code."""
        return (
            tuple((p.kind, p.level, p.row, p.column, p.predictor_level) for p in self.free),
            self.level_sizes,
            self.blocks,
            self.loading_sources,
            self.n_latent_covariates,
            self.dispersion,
            self.n_dispersion,
            self.has_item_dispersions,
            self.residual_covariance_sources,
        )

    # ------------------------------------------------------ symbolic theta
    def _factors(self, theta, zeros, exp, set_entry, normalise_row):
        factors = [zeros(size) for size in self.level_sizes]
        for level, row in self.unit_variance_rows:
            factors[level] = set_entry(factors[level], row, row, 1.0)
        for offset, entry in enumerate(self.cholesky_entries, start=self.n_fixed):
            value = exp(theta[offset]) if entry.row == entry.column else theta[offset]
            factors[entry.level] = set_entry(factors[entry.level], entry.row, entry.column, value)
        for level, row in self.unit_variance_rows:
            factors[level] = normalise_row(factors[level], row)
        return factors

    def unpack(self, theta: TensorVariable) -> tuple[TensorVariable, list[TensorVariable], TensorVariable | None]:
        """Symbolic ``theta`` -> (beta, Cholesky factor per level, log dispersion).

        The log dispersion is a scalar for one dispersion parameter, a vector
        (indexed by ``Design.dispersion_index``) for item-specific ones.
        """
        beta = theta[: self.n_fixed]
        factors = self._factors(
            theta,
            lambda size: pt.zeros((size, size)),
            pt.exp,
            lambda factor, i, j, value: pt.set_subtensor(factor[i, j], value),
            lambda factor, row: pt.set_subtensor(factor[row], factor[row] / pt.sqrt(pt.sum(factor[row] ** 2))),
        )
        aux = self.kind_slice("aux")
        if self.n_dispersion == 0:
            log_dispersion = None
        elif not self.has_item_dispersions:
            log_dispersion = theta[aux.start]
        else:
            log_dispersion = theta[aux]
        return beta, factors, log_dispersion

    def unpack_auxiliary(
        self, theta: TensorVariable
    ) -> tuple[TensorVariable | None, TensorVariable | None, TensorVariable | None]:
        """Symbolic ``theta`` -> (thresholds, threshold slopes, dispersion coefficients), each
        ``None`` where the model has none.

        The thresholds (flat over their sets) are the first of each set plus the
        cumulated exp of the following entries: increasing within each set. The
        slopes are a (thresholds x threshold covariates) matrix.
        """
        thresholds = slopes = dispersion = None
        if self.n_thresholds:
            raw = theta[self.kind_slice("threshold")]
            first = self.threshold_set_first
            is_first = pt.constant(first == np.arange(first.size))
            total = pt.cumsum(pt.switch(is_first, raw, pt.exp(raw)))
            before = pt.concatenate([pt.zeros((1,)), total])[pt.constant(first)]
            thresholds = total - before
        if self.n_threshold_covariates:
            shape = (self.n_thresholds, self.n_threshold_covariates)
            slopes = theta[self.kind_slice("threshold_slope")].reshape(shape)
        if self.has_dispersion_regression:
            dispersion = theta[self.kind_slice("dispersion")]
        return thresholds, slopes, dispersion

    def _natural_thresholds(self, raw: np.ndarray) -> np.ndarray:
        first = self.threshold_set_first
        total = np.cumsum(np.where(first == np.arange(first.size), raw, np.exp(raw)))
        return total - np.concatenate([[0.0], total])[first]

    def _raw_thresholds(self, values: np.ndarray) -> np.ndarray:
        first = self.threshold_set_first
        is_first = first == np.arange(first.size)
        steps = np.diff(values, prepend=0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(is_first, values, np.log(np.where(is_first, 1.0, steps)))

    def loading_values(self, theta: TensorVariable) -> TensorVariable | None:
        """Symbolic values of the design's loadings after the constant 1 (index 0); ``None`` without loadings."""
        if not self.has_loadings:
            return None
        values = [pt.constant(1.0)]
        for row in self.loading_rows:
            parameter = self.table[row]
            values.append(theta[self._theta_position[row]] if parameter.free else pt.constant(parameter.value))
        return pt.stack(values)

    def _path_matrix(self, theta: TensorVariable, kind: str, level: int, predictor_level: int):
        """Symbolic coefficients of the paths of ``kind`` from predictors of ``predictor_level``
        to the latents of ``level`` (latents x predictors); ``None`` where there are none."""
        paths_start = self.kind_slice("path").start
        matrix = None
        for k, parameter in enumerate(self._paths):
            path_kind = "covariate" if parameter.predictor_level is None else "latent"
            at_predictor = parameter.level if parameter.predictor_level is None else parameter.predictor_level
            if path_kind == kind and parameter.level == level and at_predictor == predictor_level:
                if matrix is None:
                    columns = self.level_sizes[predictor_level] if kind == "latent" else self.n_latent_covariates
                    matrix = pt.zeros((self.level_sizes[level], columns))
                matrix = pt.set_subtensor(matrix[parameter.row, parameter.column], theta[paths_start + k])
        return matrix

    def latent_paths(self, theta: TensorVariable, level: int, predictor_level: int) -> TensorVariable | None:
        """Symbolic paths ``B`` from the latents of ``predictor_level`` (the same or a higher level)
        to the latents of ``level``; ``None`` where there are none."""
        return self._path_matrix(theta, "latent", level, predictor_level)

    def covariate_paths(self, theta: TensorVariable, level: int) -> TensorVariable | None:
        """Symbolic paths ``Gamma`` from the observed latent covariates to the latents of ``level``."""
        return self._path_matrix(theta, "covariate", level, level)

    def latent_loadings(
        self, theta: TensorVariable, covariates: TensorVariable, loading_index: TensorVariable | None, level: int = 0
    ) -> tuple[TensorVariable, TensorVariable | None]:
        """Loadings of rows (or items) on the disturbances ``zeta`` of the latents of ``level``.

        A row's loading on a latent is its covariate (1 for an item of a
        factor, the variable of a random slope) times the factor loading
        (``loading_index``: position in :meth:`loading_values`'s loading
        values, 0 for the constant 1; unused without loadings). The
        structural model ``eta = B eta + Gamma w + zeta`` gives
        ``eta = (I - B)^{-1} (Gamma w + zeta)``, so the loadings on ``zeta``
        are ``(covariates * lambda) (I - B)^{-1}``; the mean of ``eta`` adds
        ``loadings . (Gamma w)`` to each row's linear predictor. For a model
        with paths between levels use :meth:`level_loadings`.

        Returns
        -------
        loadings : TensorVariable
            Same shape as ``covariates``.
        covariate_paths : TensorVariable or None
            ``Gamma`` (latents x ``n_latent_covariates``) of the level.
        """
        return self._reduced_loadings(theta, self._direct_loadings(theta, covariates, loading_index), level)

    def level_loadings(
        self, theta: TensorVariable, covariates: list[TensorVariable], loading_index: list[TensorVariable | None]
    ) -> list[tuple[TensorVariable, TensorVariable | None]]:
        """:meth:`latent_loadings` of every level, with the paths between levels.

        A latent may depend on latents of a higher level:
        ``eta_l = B_ll eta_l + sum_{m > l} B_lm eta_m + Gamma_l w + zeta_l``.
        Going up from the lowest level, a row's loadings on the latents of
        level ``m`` gain ``sum_{l < m} R_l B_lm``, where ``R_l`` are its
        (reduced) loadings on ``zeta_l``; the reduced loadings of level ``m``
        are then those times ``(I - B_mm)^{-1}`` as in :meth:`latent_loadings`.
        """
        reduced: list[tuple[TensorVariable, TensorVariable | None]] = []
        for level in range(len(self.level_sizes)):
            loadings = self._direct_loadings(theta, covariates[level], loading_index[level])
            for lower, (lower_loadings, _) in enumerate(reduced):
                paths = self.latent_paths(theta, lower, level)
                if paths is not None:
                    loadings = loadings + pt.dot(lower_loadings, paths)
            reduced.append(self._reduced_loadings(theta, loadings, level))
        return reduced

    def _direct_loadings(self, theta, covariates, loading_index):
        loading_values = self.loading_values(theta)
        if loading_values is None:
            return covariates
        return covariates * loading_values[loading_index]

    def _reduced_loadings(self, theta, loadings, level):
        latent_paths = self.latent_paths(theta, level, level)
        if latent_paths is not None:
            loadings = pt.dot(loadings, pt.linalg.inv(pt.eye(self.level_sizes[level]) - latent_paths))
        return loadings, self.covariate_paths(theta, level)

    def unpack_residual_covariances(self, theta: TensorVariable) -> list[tuple[int, int, TensorVariable]]:
        """Symbolic ``(left item, right item, covariance)`` of each residual covariance."""
        start = self.kind_slice("residual_covariance").start
        return [(left, right, theta[start + parameter]) for left, right, parameter in self.residual_covariance_sources]

    # ------------------------------------------------------- numeric theta
    def residual_sd(self, theta: np.ndarray) -> float | None:
        """The level-1 residual SD (one gaussian dispersion parameter), else ``None``."""
        return float(np.exp(theta[self.kind_slice("aux").start])) if self.has_residual_sd else None

    def cholesky_factors(self, theta: np.ndarray) -> list[np.ndarray]:
        """Numeric Cholesky factor of each level's latent covariance."""

        def set_entry(factor, i, j, value):
            factor[i, j] = value
            return factor

        def normalise_row(factor, row):
            factor[row] = factor[row] / np.sqrt(np.sum(factor[row] ** 2))
            return factor

        return self._factors(theta, lambda size: np.zeros((size, size)), np.exp, set_entry, normalise_row)

    def covariances(self, theta: np.ndarray) -> list[np.ndarray]:
        return [factor @ factor.T for factor in self.cholesky_factors(theta)]

    def natural(self, theta: np.ndarray) -> np.ndarray:
        """Reported values of the free rows: each row's inverse transform (SDs and
        correlations from the blocks' covariance matrices)."""
        covariances = self.covariances(theta)
        values = np.empty(self.n_theta)
        for k, parameter in enumerate(self.free):
            if parameter.kind == "sd":
                values[k] = np.sqrt(covariances[parameter.level][parameter.row, parameter.row])
            elif parameter.kind == "cor":
                covariance = covariances[parameter.level]
                i, j = parameter.row, parameter.column
                values[k] = covariance[i, j] / np.sqrt(covariance[i, i] * covariance[j, j])
            elif parameter.transform == "log":
                values[k] = np.exp(theta[k])
            else:
                values[k] = theta[k]
        if self.n_thresholds:
            positions = self.kind_slice("threshold")
            values[positions] = self._natural_thresholds(theta[positions])
        return values

    def natural_jacobian(self, theta: np.ndarray, step: float = 1e-6) -> np.ndarray:
        """d natural / d theta by central differences (for delta-method SEs)."""
        jacobian = np.empty((len(self.natural_names), self.n_theta))
        for k in range(self.n_theta):
            delta = np.zeros_like(theta)
            delta[k] = step * max(1.0, abs(theta[k]))
            jacobian[:, k] = (self.natural(theta + delta) - self.natural(theta - delta)) / (2 * delta[k])
        return jacobian

    def natural_covariance(self, theta: np.ndarray, hessian: np.ndarray) -> np.ndarray:
        """Covariance of the natural parameters: the inverse observed information
        of ``theta`` (``hessian`` of the log-likelihood) mapped by the delta method."""
        try:
            theta_covariance = np.linalg.inv(-hessian)
        except np.linalg.LinAlgError:
            theta_covariance = np.full_like(hessian, np.nan)
        jacobian = self.natural_jacobian(theta)
        return jacobian @ theta_covariance @ jacobian.T

    def theta_from_named(self, values: dict[str, float]) -> np.ndarray:
        """``theta`` from natural parameters given by name (every name required)."""
        missing = [name for name in self.natural_names if name not in values]
        if missing:
            raise KeyError(f"parameter values missing for {missing}")
        beta = np.array([values[name] for name in self.fixed_names])
        covariances = [np.eye(size) for size in self.level_sizes]
        sds = {(p.level, p.row): values[p.name] for p in self.free if p.kind == "sd"}
        for parameter in self.free:
            level, i = parameter.level, parameter.row
            if parameter.kind == "sd":
                covariances[level][i, i] = sds[(level, i)] ** 2
            elif parameter.kind == "cor":
                j = parameter.column
                value = values[parameter.name] * sds.get((level, i), 1.0) * sds.get((level, j), 1.0)
                covariances[level][i, j] = covariances[level][j, i] = value
        extra = [values[name] for name in self.names("loading", "path", "residual_covariance")]
        dispersions = [values[name] for name in self.dispersion_names]
        auxiliary = [values[name] for name in self.names("threshold", "threshold_slope", "dispersion")]
        return self.theta_from_natural(beta, covariances, dispersions, extra, auxiliary)

    def theta_from_natural(
        self,
        beta: np.ndarray,
        covariances: list[np.ndarray],
        dispersion: float | list[float] | None,
        loadings_and_paths: list[float] | None = None,
        auxiliary: list[float] | None = None,
    ) -> np.ndarray:
        """Inverse map, for starting values and tests.

        ``loadings_and_paths`` holds the loadings, paths and residual
        covariances (default: loadings 1, the others 0); ``auxiliary`` the
        thresholds (increasing within each set), their slopes and the
        dispersion-regression coefficients (default: thresholds 0, 1, 2, ...
        in each set, the others 0).
        """
        values = list(beta)
        factors = [np.linalg.cholesky(covariance) for covariance in covariances]
        unit_rows = set(self.unit_variance_rows)
        for entry in self.cholesky_entries:
            factor = factors[entry.level]
            value = factor[entry.row, entry.column]
            if (entry.level, entry.row) in unit_rows:
                value = value / factor[entry.row, entry.row]
            values.append(np.log(value) if entry.row == entry.column else value)
        if loadings_and_paths is None:
            n_zero = len(self.path_names) + len(self.residual_covariance_names)
            loadings_and_paths = [1.0] * len(self.loading_parameters) + [0.0] * n_zero
        values.extend(loadings_and_paths)
        if self.n_dispersion:
            dispersions = np.atleast_1d(np.asarray(dispersion, dtype=float))
            values.extend(np.log(np.broadcast_to(dispersions, (self.n_dispersion,))))
        n_rest = self.n_theta - len(values)
        if auxiliary is None:
            auxiliary = np.zeros(n_rest)
            auxiliary[: self.n_thresholds] = np.arange(self.n_thresholds) - self.threshold_set_first
        auxiliary = np.asarray(auxiliary, dtype=float)
        if self.n_thresholds:
            auxiliary[: self.n_thresholds] = self._raw_thresholds(auxiliary[: self.n_thresholds])
        values.extend(auxiliary)
        return np.asarray(values, dtype=float)
