"""New units of a measurement model on wide data: each item's mean integrated over the factors.

A new unit (a row of covariates, one per unit as in the fitted data) has no responses, so
nothing is learned of its factors: its prediction of item ``m`` is the marginal mean
``E[g_m^{-1}(eta_m)]`` over the factors' distribution, structural regressions on the unit's
covariates (MIMIC) and direct effects on items included. The unit's rows are built as the
fitted ones were (:func:`glpp.design.wide.build_wide_design` on the new units with a
placeholder response per item, the fitted data's first value) and predicted by the fitted
rows' code (:class:`glpp.results.predict_rows.DesignRowMeans`: the likelihood's row graph,
then the one-dimensional integral). Conditional predictions of new units are these marginal
ones (column ``new_cluster``); new rows that carry item responses are refused for
``kind="conditional"`` (their EB means are not computed), and ignored for marginal ones.

Not covered: ordinal items (their categories are those observed in the fit), factors at a
level above the unit and latent classes (a :class:`~glpp.SpecError`,
:func:`glpp.design.prediction.new_data_obstacle`), and covariates that the new units alone
code differently from the fitted data (categorical levels: a :class:`~glpp.DataError`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from glpp.design.wide import build_wide_design, complete_units
from glpp.errors import DataError, SpecError
from glpp.families import MixedFamily
from glpp.results.predict_rows import DesignRowMeans, RowLinks

__all__ = ["NewUnitRowMeans"]


def _item_families(design, family) -> dict[str, int] | None:
    """Each item's component of a ``MixedFamily`` (as the fit was given it)."""
    if not isinstance(family, MixedFamily) or design.family_index is None:
        return None
    first_rows = [int(np.flatnonzero(design.item_index == number)[0]) for number in range(len(design.item_names))]
    return {item: int(design.family_index[row]) for item, row in zip(design.item_names, first_rows)}


class _UnitModel:
    """The fitted model with the new units' design in place of the fitted one."""

    def __init__(self, model, design):
        self.design, self.layout, self.family, self.link = design, model.layout, model.family, model.link


class NewUnitRowMeans(DesignRowMeans):
    """Marginal item means of new units (module docstring).

    Parameters
    ----------
    model : Model
        A measurement model on wide data.
    data : DataFrame
        One row per new unit, with the covariates the model uses.
    theta : ndarray
    conditional : bool
        ``kind="conditional"``: refused when ``data`` holds item responses.
    """

    def __init__(self, model, data: pd.DataFrame, theta: np.ndarray, conditional: bool):
        fitted = model.design
        items = list(fitted.item_names)
        given = [item for item in items if item in data.columns and data[item].notna().any()]
        if conditional and given:
            raise SpecError(f"predict(data=...) predicts new units without their responses (marginally); the new "
                            f"rows hold item responses ({', '.join(given)}), whose EB means are not computed: drop "
                            "the item columns, use kind='marginal', or predict the fitted units (data=None)")
        placeholders = {item: model.data[item].dropna().iloc[0] for item in items}
        n_units = len(data)
        # two copies: the design wants two units; the first copy's rows are the prediction's
        frame = pd.concat([data.assign(**placeholders)] * 2, ignore_index=True)
        design = self._build(model, frame)
        units, _, _ = complete_units(model.spec, frame)
        keep_units = np.flatnonzero(units.index < n_units)
        self.rows = (keep_units[:, None] * len(items) + np.arange(len(items))[None, :]).ravel()
        super().__init__(_UnitModel(model, design), None, theta)
        family_index = None if design.family_index is None else design.family_index[self.rows]
        self.links = RowLinks(model.family, model.link, family_index)
        self.index = pd.MultiIndex.from_arrays(
            [data.index[units.index[keep_units]].repeat(len(items)), np.tile(np.asarray(items, dtype=object), keep_units.size)],
            names=[data.index.name, "item"],
        )

    @staticmethod
    def _build(model, frame: pd.DataFrame):
        fitted = model.design
        for std_lv in (False, True):
            design = build_wide_design(model.spec, frame, model.family, std_lv=std_lv, item_families=_item_families(fitted, model.family))
            if design.loadings == fitted.loadings:
                break
        if design.fixed_names != fitted.fixed_names or design.latent_covariate_names != fitted.latent_covariate_names:
            raise DataError("the new units' covariates code differently from the fitted data's (e.g. a categorical "
                            f"column with other levels): fixed columns {list(design.fixed_names)}, fitted "
                            f"{list(fitted.fixed_names)}; give numeric covariates or all the fitted levels")
        return design

    @property
    def new_cluster(self) -> np.ndarray:
        return np.ones(self.rows.size, dtype=bool)

    def eta_parts(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mean and SD of each new unit's item linear predictors over the factors."""
        mean, sd = super().eta_parts(theta)
        return mean[self.rows], sd[self.rows]
