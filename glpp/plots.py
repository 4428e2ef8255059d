"""Plots of a fit: ``glpp.plots.caterpillar(fit)``, ... (defined in :mod:`glpp.results.plots`)."""

from glpp.results.plots import caterpillar, item_characteristic_curves, observed_vs_predicted, path_diagram

__all__ = ["caterpillar", "item_characteristic_curves", "observed_vs_predicted", "path_diagram"]
