"""Plots of a fit: ``glpp.plots.caterpillar(fit)``, ... (defined in :mod:`glpp.results.plots`)."""

from glpp.results.plots import caterpillar, path_diagram

__all__ = ["caterpillar", "path_diagram"]
