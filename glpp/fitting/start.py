"""Starting values of an ML fit: from the data, then a warm start of the fixed part.

:func:`start_values` gives every parameter a value from the data (the family's
start for the intercept, its auxiliary parameter on the responses' scale,
loadings 1, latent SDs of the responses' scale); :func:`warm_start` then fits
the fixed effects and dispersions with the rest held there, which also seeds
BFGS's inverse Hessian; closed forms start their mean from least squares
instead (:func:`least_squares_start`).
"""

from __future__ import annotations

import numpy as np

from glpp.design.build import Design
from glpp.families import MixedFamily
from glpp.fitting.optim import maximise
from glpp.params import ParameterLayout

__all__ = ["least_squares_start", "start_values", "warm_start"]


def _aux_start(design: Design, layout: ParameterLayout, family, scale: float) -> np.ndarray:
    """Start of the auxiliary parameters: the family's, or for a family per item or row each
    parameter's own family's (on the responses' scale)."""
    if design.family_index is None:
        return np.full(layout.n_dispersion, family.aux.start(scale))
    owners = [
        family.aux_family(design.family_index, design.dispersion_index, k) for k in range(layout.n_dispersion)
    ]
    return np.array([owner.aux.start(scale) for owner in owners])


def _regression_aux_start(family, link, scale: float) -> float:
    """Start of a dispersion regression's intercept: the auxiliary parameter's start of the family
    (or of the first component that has one)."""
    families = [component for component, _ in getattr(family, "components", ((family, link),))]
    return next(component.aux.start(scale) for component in families if component.aux is not None)


def _threshold_start(design: Design, layout: ParameterLayout, family, link) -> np.ndarray:
    """Each threshold set's start from its family's :class:`~glpp.families.Cutpoints` (on
    theta's scale: the first threshold, then log increments)."""
    auxiliary = design.auxiliary
    values = []
    for position, threshold_set in enumerate(auxiliary.threshold_sets):
        rows = auxiliary.threshold_set_index == position
        member, member_link = family, link
        if isinstance(family, MixedFamily):
            member, member_link = family.components[int(design.family_index[rows][0])]
        n_categories = threshold_set.n_thresholds + 1
        values.append(member.cutpoints.start(member_link, design.response[rows], n_categories))
    natural = np.concatenate(values)
    first = layout.threshold_set_first
    steps = np.diff(natural, prepend=0.0)
    return np.where(first == np.arange(first.size), natural, np.log(np.maximum(steps, 1e-3)))


def _eta_scale(design: Design, family) -> float:
    """The spread of the responses on the linear predictor's scale (1 where the family has none)."""
    if isinstance(family, MixedFamily):
        scale = family.eta_scale(design.response, design.family_index)
    else:
        scale = family.eta_scale(design.response)
    return 1.0 if scale is None else scale


def start_values(design: Design, layout: ParameterLayout, family, link) -> np.ndarray:
    """``theta`` to start a fit from: the family's intercept start, auxiliary parameters and
    latent SDs on the responses' scale, loadings 1, everything else 0."""
    theta = np.zeros(layout.n_theta)
    intercept = [i for i, name in enumerate(design.fixed_names) if name == "(Intercept)"]
    if intercept:
        theta[intercept[0]] = family.start_eta(link, design.response, design.trials)
    scale = _eta_scale(design, family)
    if layout.n_dispersion:
        theta[layout.kind_slice("aux")] = np.log(_aux_start(design, layout, family, scale))
    if layout.has_dispersion_regression:
        # the regression's intercept starts where the auxiliary parameter would
        positions = np.arange(layout.n_theta)[layout.kind_slice("dispersion")]
        for position, name in zip(positions, layout.names("dispersion")):
            if name.endswith("(Intercept)]"):
                theta[position] = np.log(_regression_aux_start(family, link, scale))
    if layout.n_thresholds:
        theta[layout.kind_slice("threshold")] = _threshold_start(design, layout, family, link)
    theta[layout.kind_slice("loading")] = 1.0
    for offset, entry in enumerate(layout.cholesky_entries, start=layout.n_fixed):
        if entry.row == entry.column:
            theta[offset] = np.log(scale)
    return theta


def warm_start(
    objective, layout: ParameterLayout, start: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """``start`` with the fixed effects and dispersions fitted (the rest held), and an initial
    inverse Hessian for the full fit.

    The inverse Hessian is BFGS's from this stage for the fitted coordinates,
    and for the others a multiple of the identity that makes BFGS's first
    step in them at most 1 (log-SD) unit long.
    """
    fixed_only = np.zeros(layout.n_theta, dtype=bool)
    fixed_only[layout.kind_slice("fixed")] = True
    for kind in ("aux", "threshold", "threshold_slope", "dispersion"):
        fixed_only[layout.kind_slice(kind)] = True
    result = maximise(objective, start, free=fixed_only)
    if result.inverse_hessian is None:
        return result.theta, None
    others = ~fixed_only
    largest_gradient = float(np.max(np.abs(result.gradient[others]), initial=0.0))
    inverse_hessian = np.diag(np.where(others, 1.0 / max(1.0, largest_gradient), 0.0))
    inverse_hessian[np.ix_(fixed_only, fixed_only)] = result.inverse_hessian
    return result.theta, inverse_hessian


def least_squares_start(design: Design, layout: ParameterLayout, start: np.ndarray) -> np.ndarray:
    """``start`` with the fixed part from least squares of the responses on it (item means, direct
    effects): a closed form needs fewer BFGS evaluations from there than after a warm start."""
    theta = start.copy()
    theta[: layout.n_fixed] = np.linalg.lstsq(
        design.fixed, design.response - design.offset, rcond=None
    )[0]
    return theta
