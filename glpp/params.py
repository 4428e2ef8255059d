"""Parameters: names, the unconstrained vector and its map to model terms.

The optimiser works on one unconstrained vector ``theta``:

- ``beta``: fixed effects, as they are;
- for each covariance block of each level, the lower triangle of its
  Cholesky factor, row by row, with the diagonal on the log scale;
- factor loadings, structural paths and residual covariances of items
  (``y1 ~~ y5``), as they are;
- ``log(sigma)`` (gaussian) or ``log(shape)`` (gamma).

:class:`ParameterLayout` knows where each piece lives, unpacks a symbolic
``theta`` into the pieces the likelihood needs (``beta``, one Cholesky
factor per level, ``log_dispersion``), and maps an estimate to the reported
natural parameters (fixed effects, SDs, correlations, dispersion) with their
names: ``beta[x1]``, ``sd[patient]``, ``sd[days|subject]``,
``cor[(Intercept),days|subject]``, ``lambda[F,y2]``, ``path[F~x]``,
``cov[y1,y5]``, ``sigma``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from glpp.design.build import Design, LevelDesign
from glpp.families import Family

__all__ = ["ParameterLayout", "CholeskyEntry"]


@dataclass(frozen=True)
class CholeskyEntry:
    """One free element of a level's Cholesky factor."""

    level: int
    row: int
    column: int


@dataclass(frozen=True)
class ParameterLayout:
    """Where each parameter lives in ``theta`` and what it is called.

    Attributes
    ----------
    fixed_names : tuple of str
    level_sizes : tuple of int
        Number of latents per level (lowest level first).
    cholesky_entries : tuple of CholeskyEntry
        In ``theta`` order, after the fixed effects.
    dispersion : str or None
        ``"sigma"``, ``"shape"`` or ``None``.
    natural_names : tuple of str
        Names of the reported parameters.
    """

    fixed_names: tuple[str, ...]
    level_sizes: tuple[int, ...]
    cholesky_entries: tuple[CholeskyEntry, ...]
    dispersion: str | None
    natural_names: tuple[str, ...]
    variance_names: tuple[tuple[str, int, int, int], ...]  # (name, level, i, j) of sd/cor entries
    unit_variance_rows: tuple[tuple[int, int], ...] = ()  # (level, row) of unit-variance latents
    loading_parameters: tuple[str, ...] = ()  # names of free loadings, in theta order
    loading_sources: tuple[tuple[float | None, int], ...] = ()  # per design loading: (fixed, parameter)
    path_names: tuple[str, ...] = ()
    path_positions: tuple[tuple[str, int, int], ...] = ()  # (kind, dependent, predictor)
    path_levels: tuple[int, ...] = ()  # level of each path's dependent latent; () = all at level 0
    path_predictor_levels: tuple[int, ...] = ()  # level of each latent predictor (covariates: the path's level); () = same
    n_latent_covariates: int = 0
    dispersion_names: tuple[str, ...] = ()
    fixed_prefix: str = "beta"
    residual_covariance_names: tuple[str, ...] = ()  # free residual covariances of items, in theta order
    residual_covariance_sources: tuple[tuple[int, int, int], ...] = ()  # (left item, right item, parameter)
    has_residual_sd: bool = False  # the one dispersion parameter is the level-1 residual SD (gaussian)

    @classmethod
    def from_design(cls, design: Design, family: Family) -> "ParameterLayout":
        entries: list[CholeskyEntry] = []
        variance_names: list[tuple[str, int, int, int]] = []
        unit_rows: list[tuple[int, int]] = []
        for level_number, level in enumerate(design.levels):
            for block in level.blocks:
                positions = block.latent_positions
                for a, row in enumerate(positions):
                    for column in positions[: a + 1]:
                        if block.unit_variance and row == column:
                            continue
                        entries.append(CholeskyEntry(level_number, row, column))
                    if block.unit_variance:
                        unit_rows.append((level_number, row))
                variance_names.extend(_block_names(level, positions, level_number, block.unit_variance))
        loading_parameters: list[str] = []
        loading_sources: list[tuple[float | None, int]] = []
        for entry in design.loadings:
            if entry.fixed is not None:
                loading_sources.append((entry.fixed, -1))
                continue
            name = f"lambda[{entry.label}]" if entry.label else f"lambda[{entry.latent},{entry.indicator}]"
            if name not in loading_parameters:
                loading_parameters.append(name)
            loading_sources.append((None, loading_parameters.index(name)))
        path_names = tuple(f"path[{p.latent}~{p.predictor}]" for p in design.paths)
        residual_names: list[str] = []
        residual_sources: list[tuple[int, int, int]] = []
        for covariance in design.residual_covariances:
            name = f"cov[{covariance.label}]" if covariance.label else f"cov[{covariance.left},{covariance.right}]"
            if name not in residual_names:
                residual_names.append(name)
            residual_sources.append((covariance.left_position, covariance.right_position, residual_names.index(name)))
        dispersion_names: tuple[str, ...] = ()
        if design.dispersion_labels:
            dispersion_names = design.dispersion_labels
        elif family.dispersion is not None:
            dispersion_names = (
                tuple(f"{family.dispersion}[{name}]" for name in design.dispersion_names)
                if design.dispersion_names
                else (family.dispersion,)
            )
        prefix = design.fixed_prefix
        fixed_parameter_names = design.fixed_parameter_names or tuple(f"{prefix}[{name}]" for name in design.fixed_names)
        natural = (
            fixed_parameter_names
            + tuple(name for name, *_ in variance_names)
            + tuple(loading_parameters)
            + path_names
            + tuple(residual_names)
            + dispersion_names
        )
        return cls(
            fixed_names=fixed_parameter_names,
            level_sizes=tuple(level.n_latents for level in design.levels),
            cholesky_entries=tuple(entries),
            dispersion=family.dispersion,
            natural_names=natural,
            variance_names=tuple(variance_names),
            unit_variance_rows=tuple(unit_rows),
            loading_parameters=tuple(loading_parameters),
            loading_sources=tuple(loading_sources),
            path_names=path_names,
            path_positions=tuple((p.kind, p.latent_position, p.predictor_position) for p in design.paths),
            path_levels=tuple(p.level for p in design.paths),
            path_predictor_levels=tuple(
                p.level if p.predictor_level is None else p.predictor_level for p in design.paths
            ),
            n_latent_covariates=len(design.latent_covariate_names),
            dispersion_names=dispersion_names,
            fixed_prefix=prefix,
            residual_covariance_names=tuple(residual_names),
            residual_covariance_sources=tuple(residual_sources),
            has_residual_sd=family.aux is not None
            and family.aux.is_residual_sd
            and dispersion_names == (family.dispersion,),
        )

    @property
    def n_fixed(self) -> int:
        return len(self.fixed_names)

    @property
    def structure_key(self) -> tuple:
        """Everything the likelihood graph depends on, and no names: equal keys share compiled code."""
        return (
            self.n_fixed,
            self.level_sizes,
            self.cholesky_entries,
            self.unit_variance_rows,
            self.loading_sources,
            self.path_positions,
            self._path_levels,
            self._path_predictor_levels,
            self.n_latent_covariates,
            self.dispersion,
            self.n_dispersion,
            self.dispersion_names == (self.dispersion,),
            self.residual_covariance_sources,
        )

    @property
    def n_dispersion(self) -> int:
        return len(self.dispersion_names)

    @property
    def has_item_dispersions(self) -> bool:
        """The dispersion is per item: :meth:`unpack` gives a vector, indexed by ``Design.dispersion_index``."""
        return self.n_dispersion > 0 and self.dispersion_names != (self.dispersion,)

    @property
    def has_loadings(self) -> bool:
        return bool(self.loading_sources)

    @property
    def _path_levels(self) -> tuple[int, ...]:
        return self.path_levels or (0,) * len(self.path_positions)

    @property
    def _path_predictor_levels(self) -> tuple[int, ...]:
        return self.path_predictor_levels or self._path_levels

    @property
    def has_latent_paths(self) -> bool:
        return any(kind == "latent" for kind, _, _ in self.path_positions)

    @property
    def has_covariate_paths(self) -> bool:
        return any(kind == "covariate" for kind, _, _ in self.path_positions)

    @property
    def has_residual_covariances(self) -> bool:
        return bool(self.residual_covariance_sources)

    @property
    def residual_covariance_start(self) -> int:
        """Start of the residual covariances in theta (after the paths)."""
        return self._offsets[2] + len(self.path_names)

    @property
    def _offsets(self) -> tuple[int, int, int, int]:
        """Start of the Cholesky, loading, path and dispersion parts of theta."""
        cholesky = self.n_fixed
        loadings = cholesky + len(self.cholesky_entries)
        paths = loadings + len(self.loading_parameters)
        dispersion = paths + len(self.path_names) + len(self.residual_covariance_names)
        return cholesky, loadings, paths, dispersion

    @property
    def n_theta(self) -> int:
        return self._offsets[3] + self.n_dispersion

    @property
    def theta_names(self) -> tuple[str, ...]:
        names = list(self.fixed_names)
        names += [f"chol[{e.level},{e.row},{e.column}]" for e in self.cholesky_entries]
        names += list(self.loading_parameters) + list(self.path_names) + list(self.residual_covariance_names)
        names += [f"log_{name}" for name in self.dispersion_names]
        return tuple(names)

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
        start = self._offsets[3]
        if self.n_dispersion == 0:
            log_dispersion = None
        elif self.dispersion_names == (self.dispersion,):
            log_dispersion = theta[start]
        else:
            log_dispersion = theta[start:]
        return beta, factors, log_dispersion

    def loading_values(self, theta: TensorVariable) -> TensorVariable | None:
        """Symbolic values of the design's loadings after the constant 1 (index 0); ``None`` without loadings."""
        if not self.has_loadings:
            return None
        loadings_start = self._offsets[1]
        values = [pt.constant(1.0)]
        for fixed, parameter in self.loading_sources:
            values.append(pt.constant(float(fixed)) if fixed is not None else theta[loadings_start + parameter])
        return pt.stack(values)

    def _path_matrix(self, theta: TensorVariable, kind: str, level: int, predictor_level: int):
        """Symbolic coefficients of the paths of ``kind`` from predictors of ``predictor_level``
        to the latents of ``level`` (latents x predictors); ``None`` where there are none."""
        paths_start = self._offsets[2]
        matrix = None
        for k, ((path_kind, dependent, predictor), at, predictor_at) in enumerate(
            zip(self.path_positions, self._path_levels, self._path_predictor_levels)
        ):
            if path_kind == kind and at == level and predictor_at == predictor_level:
                if matrix is None:
                    columns = self.level_sizes[predictor_level] if kind == "latent" else self.n_latent_covariates
                    matrix = pt.zeros((self.level_sizes[level], columns))
                matrix = pt.set_subtensor(matrix[dependent, predictor], theta[paths_start + k])
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
        start = self.residual_covariance_start
        return [(left, right, theta[start + parameter]) for left, right, parameter in self.residual_covariance_sources]

    def residual_sd(self, theta: np.ndarray) -> float | None:
        """The level-1 residual SD (one gaussian dispersion parameter), else ``None``."""
        return float(np.exp(theta[-1])) if self.has_residual_sd else None

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
        """Reported parameters: fixed effects, SDs and correlations, loadings,
        paths and residual covariances (as they are), dispersion."""
        covariances = self.covariances(theta)
        values = list(theta[: self.n_fixed])
        for name, level, i, j in self.variance_names:
            covariance = covariances[level]
            if i == j:
                values.append(np.sqrt(covariance[i, i]))
            else:
                values.append(covariance[i, j] / np.sqrt(covariance[i, i] * covariance[j, j]))
        _, loadings_start, _, dispersion_start = self._offsets
        values.extend(theta[loadings_start:dispersion_start])
        values.extend(np.exp(theta[dispersion_start:]))
        return np.asarray(values)

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
        sds = {(level, i): values[name] for name, level, i, j in self.variance_names if i == j}
        for name, level, i, j in self.variance_names:
            if i == j:
                covariances[level][i, i] = sds[(level, i)] ** 2
            else:
                value = values[name] * sds.get((level, i), 1.0) * sds.get((level, j), 1.0)
                covariances[level][i, j] = covariances[level][j, i] = value
        extra = [values[name] for name in self.loading_parameters + self.path_names + self.residual_covariance_names]
        dispersions = [values[name] for name in self.dispersion_names]
        return self.theta_from_natural(beta, covariances, dispersions, extra)

    def theta_from_natural(
        self,
        beta: np.ndarray,
        covariances: list[np.ndarray],
        dispersion: float | list[float] | None,
        loadings_and_paths: list[float] | None = None,
    ) -> np.ndarray:
        """Inverse map, for starting values and tests.

        ``loadings_and_paths`` holds the loadings, paths and residual
        covariances (default: loadings 1, the others 0).
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
        return np.asarray(values, dtype=float)


def _block_names(
    level: LevelDesign, positions: tuple[int, ...], level_number: int, unit_variance: bool = False
) -> list[tuple[str, int, int, int]]:
    names = []
    only_intercept = len(positions) == 1 and level.latent_names[positions[0]] == "(Intercept)"
    # latents of factor models are named by themselves; random effects by term and grouping
    is_factor = all(level.latent_names[i] in level.factors for i in positions)
    for a, i in enumerate(positions):
        if unit_variance:
            continue
        if is_factor:
            label = level.latent_names[i]
        else:
            label = level.name if only_intercept else f"{level.latent_names[i]}|{level.name}"
        names.append((f"sd[{label}]", level_number, i, i))
    for a, i in enumerate(positions):
        for j in positions[a + 1 :]:
            suffix = "" if is_factor else f"|{level.name}"
            names.append((f"cor[{level.latent_names[i]},{level.latent_names[j]}{suffix}]", level_number, i, j))
    return names
