"""Plots of a fit: EB predictions (:func:`caterpillar`), cluster means observed and
predicted (:func:`observed_vs_predicted`), item characteristic curves
(:func:`item_characteristic_curves`) and the path diagram (:func:`path_diagram`).

The matplotlib plots return the ``Figure`` they drew on (save it with
``figure.savefig(path)``); matplotlib is imported when a plot is made.
:func:`path_diagram` returns a ``graphviz.Digraph`` (optional: the ``graphviz``
Python package and its ``dot`` program, ``pip install glpp[plots]``).
"""

from __future__ import annotations

import shutil
from statistics import NormalDist
from typing import TYPE_CHECKING, Callable, Protocol

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from glpp.design.build import Design
    from glpp.families.links import Link
    from glpp.ir import Spec
    from glpp.params import ParameterLayout
    from glpp.results.ml import MLResult

__all__ = ["caterpillar", "item_characteristic_curves", "observed_vs_predicted", "path_diagram"]


class Model(Protocol):
    """What the plots read of a :class:`glpp.Model` (its stages; Model itself is not imported here)."""

    spec: Spec
    design: Design
    layout: ParameterLayout
    family: object
    link: Link


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
    z = NormalDist().inv_cdf(0.5 + coverage / 2.0)
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


def observed_vs_predicted(model: Model, fit: MLResult, *, level: str | None = None) -> Figure:
    """Each cluster's mean response against its mean prediction given its EB means.

    The prediction of a row is ``g^-1(x'beta + offset + z'b)`` with the random effects ``b``
    of every level at their EB means (lme4's ``fitted()``); binomial responses are
    proportions of their trials. Points near the diagonal: the model reproduces the
    clusters' means.

    Parameters
    ----------
    model : Model
        A regression with random effects (``y ~ x + (1 + x | g)``; no factors or paths) and a
        family whose mean is the response's scale (not ordinal or choice families).
    fit : MLResult
        Its fit.
    level : str, optional
        The clusters to average over: the top level by default.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> figure = glpp.plots.observed_vs_predicted(model, fit)
    """
    import matplotlib.pyplot as plt

    design = model.design
    names = [level_design.name for level_design in design.levels]
    level = names[-1] if level is None else level
    if level not in names:
        raise ValueError(f"no level {level!r}; the model's levels are {names}")
    observed, predicted = _row_means(model, fit)
    clusters = design.levels[names.index(level)].cluster_index
    counts = np.bincount(clusters)
    observed_mean = np.bincount(clusters, observed) / counts
    predicted_mean = np.bincount(clusters, predicted) / counts
    figure, ax = plt.subplots(figsize=(5.0, 5.0))
    ax.scatter(predicted_mean, observed_mean, s=8, alpha=0.7)
    low = float(min(observed_mean.min(), predicted_mean.min()))
    high = float(max(observed_mean.max(), predicted_mean.max()))
    ax.plot([low, high], [low, high], color="grey", linewidth=0.8)
    ax.set_xlabel(f"mean prediction per {level} (EB means)")
    ax.set_ylabel(f"mean {design.response_label} per {level}")
    figure.tight_layout()
    return figure


def _row_means(model: Model, fit: MLResult) -> tuple[np.ndarray, np.ndarray]:
    """Each row's response (a proportion for binomial trials) and its mean given the EB means."""
    design = model.design
    usable = (
        all(level.loading_index is None for level in design.levels)
        and not design.paths
        and model.family.intercept
        and model.family.cutpoints is None
        and not getattr(model.family, "couples_rows", False)
        and design.family_index is None
    )
    if not usable:
        raise ValueError(
            "observed_vs_predicted() draws regressions with random effects (no factors or paths) "
            f"with one family whose mean is on the responses' scale; this model has {model.family.name}"
        )
    beta = fit.params[list(model.layout.fixed_names)].to_numpy()
    eta = design.fixed @ beta + design.offset
    latent = fit.latent()
    for level in design.levels:
        for position, name in enumerate(level.latent_names):
            rows = latent[(latent["level"] == level.name) & (latent["latent"] == name)]
            eta = eta + level.covariates[:, position] * rows["mean"].to_numpy()[level.cluster_index]
    observed = design.response / (design.trials if design.trials is not None else 1.0)
    return observed, _inverse_link(model.link)(eta)


def item_characteristic_curves(model: Model, fit: MLResult, *, latent: str | None = None) -> Figure:
    """Item characteristic curves of binary and ordinal items (2PL, graded response models).

    For each item of a measurement statement ``F =~ y1 + y2 + ...``, the probability of a
    positive response (binary items: ``P(y = 1 | F) = g^-1(nu + lambda F)``) or of a
    response above each threshold (ordinal items: ``P(y > k | F) = 1 - g^-1(tau_k -
    lambda F)``) against the latent, over +- 3 of its SDs; one panel per latent.

    Parameters
    ----------
    model : Model
        The model (its measurement statements and link).
    fit : MLResult
        Its fit (the items' intercepts ``nu[...]`` or thresholds ``tau[item,k|k+1]``, loadings
        ``lambda[F,item]`` and the latent's SD).
    latent : str, optional
        Only this latent's items.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        The model has no measurement statement, or an item is neither binary nor ordinal.

    Examples
    --------
    >>> model = glpp.Model("F =~ i1 + i2 + i3 + i4", verbagg_wide, family="binomial")
    >>> figure = glpp.plots.item_characteristic_curves(model, model.fit())
    """
    import matplotlib.pyplot as plt

    measurements = [m for m in model.spec.measurements if latent is None or m.latent == latent]
    if not measurements:
        choices = [m.latent for m in model.spec.measurements]
        raise ValueError(f"item_characteristic_curves() needs a measurement statement (F =~ y); latents: {choices}")
    figure, axes = plt.subplots(1, len(measurements), figsize=(5.0 * len(measurements), 4.0), squeeze=False)
    for ax, measurement in zip(axes[0], measurements):
        sd = float(fit.params.get(f"sd[{measurement.latent}]", 1.0))
        grid = np.linspace(-3.0 * sd, 3.0 * sd, 121)
        for position, indicator in enumerate(measurement.indicators):
            first_fixed = 1.0 if position == 0 and not indicator.force_free else None
            loading = float(fit.params.get(f"lambda[{measurement.latent},{indicator.name}]", indicator.fixed or first_fixed))
            for label, curve in _item_curves(model, fit, indicator.name, loading * grid):
                ax.plot(grid, curve, label=label, linewidth=1.0)
        ax.set_xlabel(f"{measurement.latent} (SD {sd:.3g})")
        ax.set_ylabel("probability")
        ax.set_ylim(0.0, 1.0)
        ax.legend(fontsize=6, ncol=2)
    figure.tight_layout()
    return figure


def _item_curves(model: Model, fit: MLResult, item: str, latent_part: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """``(label, probabilities)`` of one item: ``P(y = 1)`` (binary) or ``P(y > k)`` per threshold."""
    inverse = _inverse_link(model.link)
    thresholds = [name for name in fit.params.index if name.startswith(f"tau[{item},")]
    if thresholds:
        return [
            (f"{item} > {name[len(item) + 5 : -1].split('|')[0]}", 1.0 - inverse(fit.params[name] - latent_part))
            for name in thresholds
        ]
    intercept = f"nu[{item}]"
    if intercept not in fit.params.index or model.family.name != "binomial":
        raise ValueError(
            f"item_characteristic_curves() draws binary (binomial) and ordinal items; {item!r} is {model.family.name}"
        )
    return [(item, inverse(fit.params[intercept] + latent_part))]


def _inverse_link(link) -> Callable[[np.ndarray], np.ndarray]:
    """The link's inverse in numpy, compiled from its one pytensor definition."""
    import pytensor
    import pytensor.tensor as pt

    eta = pt.dvector("eta")
    function = pytensor.function([eta], link.inverse(eta))
    return lambda values: function(np.asarray(values, dtype=float))


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
