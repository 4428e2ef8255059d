"""Parameters: names, the unconstrained vector and its map to model terms.

The optimiser works on one unconstrained vector ``theta``:

- ``beta``: fixed effects, as they are;
- for each covariance block of each level, the lower triangle of its
  Cholesky factor, row by row, with the diagonal on the log scale;
- ``log(sigma)`` (gaussian) or ``log(shape)`` (gamma).

:class:`ParameterLayout` knows where each piece lives, unpacks a symbolic
``theta`` into the pieces the likelihood needs (``beta``, one Cholesky
factor per level, ``log_dispersion``), and maps an estimate to the reported
natural parameters (fixed effects, SDs, correlations, dispersion) with their
names: ``beta[x1]``, ``sd[patient]``, ``sd[days|subject]``,
``cor[(Intercept),days|subject]``, ``sigma``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from glpp.design import Design, LevelDesign
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

    @classmethod
    def from_design(cls, design: Design, family: Family) -> "ParameterLayout":
        entries: list[CholeskyEntry] = []
        variance_names: list[tuple[str, int, int, int]] = []
        for level_number, level in enumerate(design.levels):
            for block in level.blocks:
                positions = block.latent_positions
                for a, row in enumerate(positions):
                    for column in positions[: a + 1]:
                        entries.append(CholeskyEntry(level_number, row, column))
                variance_names.extend(_block_names(level, positions, level_number))
        natural = tuple(f"beta[{name}]" for name in design.fixed_names) + tuple(
            name for name, *_ in variance_names
        )
        if family.dispersion is not None:
            natural += (family.dispersion,)
        return cls(
            fixed_names=design.fixed_names,
            level_sizes=tuple(level.n_latents for level in design.levels),
            cholesky_entries=tuple(entries),
            dispersion=family.dispersion,
            natural_names=natural,
            variance_names=tuple(variance_names),
        )

    @property
    def n_fixed(self) -> int:
        return len(self.fixed_names)

    @property
    def n_theta(self) -> int:
        return self.n_fixed + len(self.cholesky_entries) + (self.dispersion is not None)

    @property
    def theta_names(self) -> tuple[str, ...]:
        names = [f"beta[{name}]" for name in self.fixed_names]
        names += [f"chol[{e.level},{e.row},{e.column}]" for e in self.cholesky_entries]
        if self.dispersion is not None:
            names.append(f"log_{self.dispersion}")
        return tuple(names)

    def unpack(self, theta: TensorVariable) -> tuple[TensorVariable, list[TensorVariable], TensorVariable | None]:
        """Symbolic ``theta`` -> (beta, Cholesky factor per level, log dispersion)."""
        beta = theta[: self.n_fixed]
        factors = [pt.zeros((size, size)) for size in self.level_sizes]
        for offset, entry in enumerate(self.cholesky_entries, start=self.n_fixed):
            value = pt.exp(theta[offset]) if entry.row == entry.column else theta[offset]
            factors[entry.level] = pt.set_subtensor(factors[entry.level][entry.row, entry.column], value)
        log_dispersion = theta[-1] if self.dispersion is not None else None
        return beta, factors, log_dispersion

    def cholesky_factors(self, theta: np.ndarray) -> list[np.ndarray]:
        """Numeric Cholesky factor of each level's latent covariance."""
        factors = [np.zeros((size, size)) for size in self.level_sizes]
        for offset, entry in enumerate(self.cholesky_entries, start=self.n_fixed):
            value = np.exp(theta[offset]) if entry.row == entry.column else theta[offset]
            factors[entry.level][entry.row, entry.column] = value
        return factors

    def covariances(self, theta: np.ndarray) -> list[np.ndarray]:
        return [factor @ factor.T for factor in self.cholesky_factors(theta)]

    def natural(self, theta: np.ndarray) -> np.ndarray:
        """Reported parameters: fixed effects, SDs and correlations, dispersion."""
        covariances = self.covariances(theta)
        values = list(theta[: self.n_fixed])
        for name, level, i, j in self.variance_names:
            covariance = covariances[level]
            if i == j:
                values.append(np.sqrt(covariance[i, i]))
            else:
                values.append(covariance[i, j] / np.sqrt(covariance[i, i] * covariance[j, j]))
        if self.dispersion is not None:
            values.append(np.exp(theta[-1]))
        return np.asarray(values)

    def natural_jacobian(self, theta: np.ndarray, step: float = 1e-6) -> np.ndarray:
        """d natural / d theta by central differences (for delta-method SEs)."""
        jacobian = np.empty((len(self.natural_names), self.n_theta))
        for k in range(self.n_theta):
            delta = np.zeros_like(theta)
            delta[k] = step * max(1.0, abs(theta[k]))
            jacobian[:, k] = (self.natural(theta + delta) - self.natural(theta - delta)) / (2 * delta[k])
        return jacobian

    def theta_from_named(self, values: dict[str, float]) -> np.ndarray:
        """``theta`` from natural parameters given by name (every name required)."""
        missing = [name for name in self.natural_names if name not in values]
        if missing:
            raise KeyError(f"parameter values missing for {missing}")
        beta = np.array([values[f"beta[{name}]"] for name in self.fixed_names])
        covariances = [np.zeros((size, size)) for size in self.level_sizes]
        sds = {(level, i): values[name] for name, level, i, j in self.variance_names if i == j}
        for name, level, i, j in self.variance_names:
            value = sds[(level, i)] ** 2 if i == j else values[name] * sds[(level, i)] * sds[(level, j)]
            covariances[level][i, j] = covariances[level][j, i] = value
        dispersion = values[self.dispersion] if self.dispersion is not None else None
        return self.theta_from_natural(beta, covariances, dispersion)

    def theta_from_natural(
        self, beta: np.ndarray, covariances: list[np.ndarray], dispersion: float | None
    ) -> np.ndarray:
        """Inverse map, for starting values and tests."""
        values = list(beta)
        factors = [np.linalg.cholesky(covariance) for covariance in covariances]
        for entry in self.cholesky_entries:
            value = factors[entry.level][entry.row, entry.column]
            values.append(np.log(value) if entry.row == entry.column else value)
        if self.dispersion is not None:
            values.append(np.log(dispersion))
        return np.asarray(values, dtype=float)


def _block_names(level: LevelDesign, positions: tuple[int, ...], level_number: int) -> list[tuple[str, int, int, int]]:
    names = []
    only_intercept = len(positions) == 1 and level.latent_names[positions[0]] == "(Intercept)"
    for a, i in enumerate(positions):
        label = level.name if only_intercept else f"{level.latent_names[i]}|{level.name}"
        names.append((f"sd[{label}]", level_number, i, i))
    for a, i in enumerate(positions):
        for j in positions[a + 1 :]:
            names.append(
                (f"cor[{level.latent_names[i]},{level.latent_names[j]}|{level.name}]", level_number, i, j)
            )
    return names
