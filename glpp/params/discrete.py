"""The parameter table of a model with a discrete latent (latent classes, NPML mass points).

``theta`` is laid out as :mod:`glpp.likelihood.discrete` reads it; the rows, in order:

- ``fixed``: class-invariant fixed effects ``beta[x]`` (mass points: the whole fixed part);
- ``class_intercept``: ``nu[C1:y1]``, the intercept of item ``y1`` in class 1, item-major
  (classes); or ``class_effect``: ``beta[C1]``, ``beta[C1:z]``, the class-specific
  coefficients of a regression with class terms (``y ~ C + C1:z``), column-major, only
  the classes that have one; or ``location``: ``location[patient:1]`` ... the first ``K - 1`` mass-point
  locations (the last one is set by the latent's zero mean);
- ``class_logodds``: ``class[C1]`` (log-odds of class 1 against the last class) and, with
  ``C ~ v``, ``class[C1:v]``; for mass points ``mass[patient:1]``, the log-odds of point 1
  against the last point;
- ``aux``: the family's auxiliary parameters (``sigma[y1]``), on the log scale;
- ``sd``: a growth mixture's random-effect SD within class (``sd[id]``), on the log scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from glpp.design.arrays import Design
from glpp.identification import check_parameter_count
from glpp.params.layout import ParameterLayout

__all__ = ["DiscreteLayout", "build_layout", "class_effect_names", "make_layout"]


#: row kinds estimated on the log scale (reported on their natural scale)
_LOG_SCALE = ("aux", "sd")


@dataclass(frozen=True)
class DiscreteLayout:
    """Names, kinds and block sizes of the parameters of a discrete-latent model.

    Attributes
    ----------
    kind : {"classes", "masspoints"}
    n_points : int
    names : tuple of str
        One per entry of ``theta`` (natural parameters have the same names).
    row_kinds : tuple of str
    sizes : ndarray of int
        ``[n_fixed, n_shift, n_points, n_membership, n_dispersion, n_sd]`` for the compiled graph.
    """

    kind: str
    n_points: int
    names: tuple[str, ...]
    row_kinds: tuple[str, ...]
    sizes: np.ndarray

    @property
    def n_theta(self) -> int:
        return len(self.names)

    @property
    def natural_names(self) -> tuple[str, ...]:
        return self.names

    @property
    def kinds(self) -> pd.Series:
        return pd.Series(self.row_kinds, index=list(self.names))

    def block(self, kind: str) -> slice:
        """Positions in ``theta`` of the rows of one kind."""
        positions = [k for k, row_kind in enumerate(self.row_kinds) if row_kind == kind]
        return slice(positions[0], positions[-1] + 1) if positions else slice(0, 0)

    def natural(self, theta: np.ndarray) -> np.ndarray:
        """Reported values: dispersions on their natural scale, the rest as they are."""
        values = np.array(theta, dtype=float)
        for kind in _LOG_SCALE:
            values[self.block(kind)] = np.exp(values[self.block(kind)])
        return values

    def natural_covariance(self, theta: np.ndarray, hessian: np.ndarray) -> np.ndarray:
        """Inverse observed information, by the delta method for the dispersions."""
        try:
            covariance = np.linalg.inv(-hessian)
        except np.linalg.LinAlgError:
            covariance = np.full_like(hessian, np.nan)
        scale = np.ones(self.n_theta)
        for kind in _LOG_SCALE:
            scale[self.block(kind)] = np.exp(theta[self.block(kind)])
        return covariance * np.outer(scale, scale)

    def theta_from_named(self, values: dict[str, float]) -> np.ndarray:
        """``theta`` from natural parameters given by name (every name required)."""
        missing = [name for name in self.names if name not in values]
        if missing:
            raise KeyError(f"parameter values missing for {missing}")
        theta = np.array([float(values[name]) for name in self.names])
        for kind in _LOG_SCALE:
            theta[self.block(kind)] = np.log(theta[self.block(kind)])
        return theta


def make_layout(design: Design, family, n_points: int | None = None) -> DiscreteLayout:
    """The :class:`DiscreteLayout` of a design with a discrete latent (``design.discrete``),
    with ``n_points`` points instead of the design's (``masspoints("auto")`` tries several)."""
    discrete = design.discrete
    latent, n_points = discrete.latent, n_points or discrete.n_points or 2  # "auto": the first step
    names = [_fixed_name(design, j) for j in discrete.fixed_columns]
    kinds = ["fixed"] * len(names)
    if discrete.kind == "classes":
        if discrete.class_columns is not None:
            shifts = class_effect_names(discrete)
            kinds += ["class_effect"] * len(shifts)
        else:
            shifts = [f"nu[{latent}{c}:{item}]" for item in discrete.item_names for c in range(1, n_points + 1)]
            kinds += ["class_intercept"] * len(shifts)
        logits = [
            f"class[{latent}{c}]" if covariate == "(Intercept)" else f"class[{latent}{c}:{covariate}]"
            for c in range(1, n_points) for covariate in discrete.membership_names
        ]
    else:
        shifts = [f"location[{latent}:{c}]" for c in range(1, n_points)]
        kinds += ["location"] * len(shifts)
        logits = [f"mass[{latent}:{c}]" for c in range(1, n_points)]
    kinds += ["class_logodds"] * len(logits)
    dispersions = _dispersion_names(design, family)
    kinds += ["aux"] * len(dispersions)
    random = [discrete.random_name] if discrete.random_covariate is not None else []
    kinds += ["sd"] * len(random)
    sizes = np.array(
        [len(discrete.fixed_columns), len(shifts), n_points, len(discrete.membership_names), len(dispersions),
         len(random)],
        dtype=np.int64,
    )
    names = tuple(names + shifts + logits + dispersions + random)
    return DiscreteLayout(discrete.kind, n_points, names, tuple(kinds), sizes)


def class_effect_names(discrete) -> list[str]:
    """``beta[C1]``, ``beta[C1:z]``: the free entries of the class columns' coefficients, column-major."""
    names = []
    for column, mask in zip(discrete.class_column_names, discrete.class_mask):
        for c in np.flatnonzero(mask) + 1:
            label = f"{discrete.latent}{c}"
            names.append(f"beta[{label}]" if column == "(Intercept)" else f"beta[{label}:{column}]")
    return names


def _fixed_name(design: Design, column: int) -> str:
    if design.fixed_parameter_names:
        return design.fixed_parameter_names[column]
    return f"{design.fixed_prefix}[{design.fixed_names[column]}]"


def _dispersion_names(design: Design, family) -> list[str]:
    if design.dispersion_index is not None:
        return list(design.dispersion_labels)
    return [] if family.dispersion is None else [family.dispersion]


def build_layout(design: Design, family) -> DiscreteLayout | ParameterLayout:
    """The parameter layout of ``design``: a :class:`DiscreteLayout` for a discrete latent,
    else the :class:`~glpp.params.ParameterLayout`, checked by
    :func:`glpp.identification.check_parameter_count`."""
    if design.discrete is not None:
        return make_layout(design, family)
    layout = ParameterLayout.from_design(design, family)
    check_parameter_count(design, layout)
    return layout
