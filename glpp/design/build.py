"""(Spec, DataFrame) -> Design: the numeric arrays a likelihood needs.

All checks of the data against the model happen here, so that every later
stage can trust its input: columns exist, the response is in the family's
support, grouping columns define properly nested clusters, and rows with
missing values in any used column are dropped and counted (never silently).
:func:`build_design` chooses the layout of the data: one regression on long
data (:mod:`glpp.design.long`) or a measurement model on wide data, one row
per unit (:mod:`glpp.design.wide`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from glpp.design.arrays import (
    CovarianceBlock,
    Design,
    LevelDesign,
    LoadingEntry,
    PathEntry,
    ResidualCovariance,
)
from glpp.design.checks import check_data_frame, check_design, default_notes
from glpp.design.discrete import build_discrete_design, discrete_distribution
from glpp.design.choice import build_choice_design
from glpp.errors import SpecError
from glpp.design.long import build_long_design
from glpp.design.wide import build_wide_design
from glpp.families import Family, MixedFamily
from glpp.ir import Spec

__all__ = [
    "CovarianceBlock",
    "LevelDesign",
    "Design",
    "LoadingEntry",
    "PathEntry",
    "ResidualCovariance",
    "build_design",
]


def build_design(
    spec: Spec,
    data: pd.DataFrame,
    family: Family | MixedFamily,
    std_lv: bool = False,
    item_families: dict[str, int] | None = None,
    row_families: np.ndarray | None = None,
    choice_set: str | None = None,
) -> Design:
    """Build the arrays of a Spec: one regression with random effects, or a measurement model on wide data.

    Parameters
    ----------
    spec : Spec
        With exactly one regression (long data), or with measurement
        statements on wide data (one row per unit; regressions are then
        direct effects on items, and ``F@g``/``level: g`` latents vary over
        the clusters of grouping columns, nested in each other).
    data : DataFrame
    family : Family or MixedFamily
        Used to validate the response's support; a family per item
        (``MixedFamily``) for wide data only.
    std_lv : bool
        Fix every latent's variance at 1 and free all its loadings.
    item_families : dict of str to int, optional
        Each item's component of a ``MixedFamily``.
    row_families : ndarray of int, optional
        Each data row's component of a ``MixedFamily`` (long data, a family per row:
        :func:`glpp.families.resolve.resolve_families`).
    choice_set : str, optional
        Choice families: the column identifying each row's choice set
        (:func:`glpp.design.choice.build_choice_design`).

    Returns
    -------
    Design

    Raises
    ------
    SpecError
        Statements the data layout cannot take (a discrete latent that is not
        the only latent of its level, more classes than response patterns).
    DataError
        Missing columns, non-numeric or out-of-support responses, a grouping
        with a single cluster, groupings that are not nested.
    IdentificationError
        A latent of a wide-data model without a fixed scale; fixed-effect
        columns that are linear combinations of others; a random slope of a
        covariate constant within clusters (:mod:`glpp.design.checks`).

    Examples
    --------
    >>> import numpy as np
import pandas as pd
    >>> from glpp.families import resolve_family_link
    >>> from glpp.syntax import build_spec
    >>> data = pd.DataFrame({"y": [1.0, 2.0, 0.5, 1.5], "g": [1, 1, 2, 2]})
    >>> family, link = resolve_family_link("gaussian", None)
    >>> design = build_design(build_spec("y ~ 1 + (1 | g)", family.name, link.name), data, family)
    >>> design.n_rows, design.levels[0].n_clusters
    (4, 2)
    """
    distribution = discrete_distribution(spec)
    check_data_frame(data)
    if family.couples_rows or choice_set is not None:
        if distribution is not None:
            raise SpecError(f"discrete latents with the choice family {family.name!r} are not available yet")
        design = build_choice_design(spec, data, family, choice_set, std_lv=std_lv)
    elif _is_wide(spec):
        if row_families is not None:
            raise SpecError("a family column (a family per row) is for long data; on wide data give a family per item: family={'y1': 'gaussian', 'd': ('binomial', 'probit')}")
        design = build_wide_design(spec, data, family, std_lv=std_lv, item_families=item_families)
    else:
        design = build_long_design(spec, data, family, std_lv=std_lv, row_families=row_families)
    check_design(design)
    design = replace(design, notes=design.notes + default_notes(spec, std_lv))
    if distribution is None:
        return design
    return replace(design, discrete=build_discrete_design(spec, design, distribution, data))


def _is_wide(spec: Spec) -> bool:
    """A measurement model on wide data (one row per unit), not ``F@id =~ item`` on long data.

    Long-format measurement statements come with a regression of the
    long response (``y ~ ... ``); on wide data regressions are direct
    effects on items.
    """
    if not spec.measurements:
        return False
    if all(m.level is None for m in spec.measurements) or spec.declared_levels or spec.level_residuals:
        return True
    items = {indicator.name for m in spec.measurements for indicator in m.indicators}
    return all(regression.response.expression in items for regression in spec.regressions)
