"""Identification checks counted from the parameter table."""

from __future__ import annotations

from glpp.design import Design
from glpp.errors import IdentificationError
from glpp.params import ParameterLayout

__all__ = ["check_parameter_count"]


def check_parameter_count(design: Design, layout: ParameterLayout) -> None:
    """Raise :class:`IdentificationError` when a model of gaussian items has more free
    parameters (rows of the table) than the data have moments (``Design.n_moments``).

    A necessary condition only; a converged fit with a singular information
    matrix is flagged by :func:`glpp.fitting.optim.warn_if_not_converged`.
    """
    if design.n_moments is not None and layout.n_theta > design.n_moments:
        raise IdentificationError(
            f"the model has {layout.n_theta} free parameters but the data give only {design.n_moments} means, "
            "variances and covariances of the items (and slopes on the observed covariates): fix or equate "
            "parameters, or drop some"
        )
