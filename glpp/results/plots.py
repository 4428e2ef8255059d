"""Plots of a fit (matplotlib): EB predictions, the model's paths.

Every function returns the matplotlib ``Figure`` it drew on (save it with
``figure.savefig(path)``); matplotlib is imported when a plot is made, so
``import glpp`` does not need it. :func:`path_diagram` draws with graphviz
(optional: the ``graphviz`` Python package and its ``dot`` program).
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from glpp.model import Model
    from glpp.results.ml import MLResult

__all__ = ["caterpillar", "path_diagram"]


def caterpillar(fit: MLResult, *, level: str | None = None, coverage: float = 0.95) -> Figure:
    """EB means of the latents with intervals, sorted, one panel per level and latent.

    Parameters
    ----------
    fit : MLResult
        A fit with EB predictions (:meth:`~glpp.results.ml.MLResult.latent`).
    level : str, optional
        Only this level (grouping) of the latents; all levels by default.
    coverage : float
        The intervals are EB mean +- z * EB SD with z the normal quantile of this coverage
        (posterior intervals of a normal approximation to each cluster's posterior).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> figure = glpp.plots.caterpillar(fit)
    >>> figure.savefig("patients.png")
    """
    import matplotlib.pyplot as plt

    latent = fit.latent()
    if level is not None:
        if level not in set(latent["level"]):
            raise ValueError(f"no level {level!r}; the fit's levels are {sorted(set(latent['level']))}")
        latent = latent[latent["level"] == level]
    panels = list(latent.groupby(["level", "latent"], sort=False))
    z = float(ndtri(0.5 + coverage / 2.0))
    figure, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 5.0), squeeze=False)
    for ax, ((group, name), table) in zip(axes[0], panels):
        table = table.sort_values("mean")
        rank = np.arange(len(table))
        ax.errorbar(table["mean"], rank, xerr=z * table["sd"], fmt="o", markersize=2, linewidth=0.6)
        ax.axvline(0.0, color="grey", linewidth=0.8)
        ax.set_xlabel(f"{name} ({group}): EB mean and {coverage:.0%} interval")
        ax.set_ylabel(f"{group} (sorted)")
        if len(table) <= 40:
            ax.set_yticks(rank, [str(label) for label in table["cluster"]], fontsize=7)
        else:
            ax.set_yticks([])
    figure.tight_layout()
    return figure


def path_diagram(model: Model, fit: MLResult | None = None, *, fmt: str = "svg"):
    """The path diagram of a factor or structural equation model (graphviz).

    Latents are ellipses, items boxes, observed covariates plain text; arrows are
    loadings and structural paths, dashed double-headed edges the latents' correlations.
    Edges carry the fit's estimates (fixed loadings their value), or nothing without a fit.

    Parameters
    ----------
    model : Model
        A model with measurement (``F =~ y1 + y2``) or structural (``F ~ x``) statements.
    fit : MLResult, optional
        Its fit: the estimates to print on the edges.
    fmt : str
        graphviz's output format for ``render`` and ``pipe`` (``"svg"``, ``"png"``, ``"pdf"``).

    Returns
    -------
    graphviz.Digraph
        Save it with ``diagram.render("paths", cleanup=True)``; Jupyter shows it.

    Raises
    ------
    ImportError
        The ``graphviz`` Python package or graphviz's ``dot`` program is missing.
    ValueError
        The model has no measurement or structural statement.

    Examples
    --------
    >>> diagram = glpp.plots.path_diagram(model, model.fit())
    >>> diagram.render("mimic", cleanup=True)  # mimic.svg
    """
    graphviz = _graphviz()
    spec = model.spec
    if not spec.measurements and not spec.latent_regressions:
        raise ValueError("path_diagram() draws models with measurement (F =~ y) or structural (F ~ x) statements")
    params = fit.params if fit is not None else None

    def label(name: str, fixed: float | None = None) -> str:
        if params is not None and name in params.index:
            return f"{params[name]:.2f}"
        return "" if fixed is None else f"{fixed:g}"

    diagram = graphviz.Digraph("glpp", format=fmt, graph_attr={"rankdir": "LR"})
    latents = {m.latent for m in spec.measurements} | {r.latent for r in spec.latent_regressions}
    for latent in sorted(latents):
        diagram.node(latent, shape="ellipse")
    for measurement in spec.measurements:
        for position, indicator in enumerate(measurement.indicators):
            name = f"lambda[{measurement.latent},{indicator.name}]"
            first_fixed = 1.0 if position == 0 and not indicator.force_free else None
            diagram.node(indicator.name, shape="box")
            diagram.edge(measurement.latent, indicator.name, label=label(name, indicator.fixed or first_fixed))
    for regression in spec.latent_regressions:
        for predictor in regression.predictors:
            if predictor.name not in latents:
                diagram.node(predictor.name, shape="plaintext")
            diagram.edge(predictor.name, regression.latent, label=label(f"path[{regression.latent}~{predictor.name}]"))
    if params is not None:
        for name in params.index:
            if name.startswith("cor[") and "|" not in name:
                left, right = name[4:-1].split(",", 1)
                if left in latents and right in latents:
                    diagram.edge(left, right, label=label(name), dir="both", style="dashed", constraint="false")
    return diagram


def _graphviz():
    """The graphviz package, with its ``dot`` program on the path (ImportError saying what to install)."""
    try:
        import graphviz
    except ImportError as error:
        raise ImportError(
            "path_diagram() needs the graphviz Python package and graphviz's dot program: "
            "pip install graphviz (or glpp[plots]), and e.g. apt-get install graphviz"
        ) from error
    if shutil.which("dot") is None:
        raise ImportError(
            "path_diagram() needs graphviz's dot program on the PATH (e.g. apt-get install graphviz, "
            "conda install graphviz, brew install graphviz)"
        )
    return graphviz
