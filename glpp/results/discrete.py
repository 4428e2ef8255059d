"""The result of a discrete-latent fit: classes or mass points, posterior membership, classification."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from glpp.results.ml import MLResult

__all__ = ["Classification", "DiscreteResult"]


@dataclass(frozen=True)
class Classification:
    """How well the units are classified (modal posterior class).

    Attributes
    ----------
    table : DataFrame
        One row per class: its estimated size (mean prior probability), the number
        and share of units whose modal class it is, and the average posterior
        probability of every class among those units (columns ``avepp[C1]`` ...; the
        diagonal near 1 means a clear classification).
    entropy : float
        ``-sum_i sum_c p_ic log p_ic`` of the posterior probabilities.
    relative_entropy : float
        ``1 - entropy / (n log K)``: 1 for a perfect classification, 0 for none.
    """

    table: pd.DataFrame
    entropy: float
    relative_entropy: float

    def __str__(self) -> str:
        text = self.table.to_string(float_format=lambda v: f"{v:.4g}")
        return f"{text}\nentropy {self.entropy:.4g}, relative entropy {self.relative_entropy:.4f}"


@dataclass(frozen=True)
class DiscreteResult(MLResult):
    """An ML fit of a model with a discrete latent (see :class:`MLResult` for the shared attributes).

    Attributes
    ----------
    points : DataFrame
        One row per class or mass point, largest first: ``probability`` (its size) and,
        for mass points, ``location`` on the link scale and ``escaped``: ``"-inf"`` or
        ``"+inf"`` where the point has gone to infinity (moving it further changes its
        units' likelihood by nothing; as for toenail's patients who never had the
        outcome), else ``""``.
    posterior : DataFrame
        Posterior probability of each point per unit (index: the units).
    start_logliks : ndarray
        Final log-likelihood of each random start.
    n_best : int
        Starts that reached the best log-likelihood (within 1e-3).
    selection : DataFrame or None
        ``masspoints("auto")``: log-likelihood and the largest Gateaux derivative for each
        number of points tried, and why the search stopped (``stop_reason``).
    """

    points: pd.DataFrame = field(default_factory=pd.DataFrame)
    posterior: pd.DataFrame = field(default_factory=pd.DataFrame)
    start_logliks: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_best: int = 0
    selection: pd.DataFrame | None = None
    stop_reason: str = ""

    def latent(self) -> pd.DataFrame:
        """Posterior probabilities of each class (mass point) per unit, and the modal one."""
        table = self.posterior.copy()
        table["modal"] = self.posterior.columns[np.argmax(self.posterior.to_numpy(), axis=1)]
        return table

    def classification(self) -> Classification:
        """Modal class counts, average posterior probabilities and entropy (:class:`Classification`)."""
        probabilities = self.posterior.to_numpy()
        n_units, n_points = probabilities.shape
        modal = np.argmax(probabilities, axis=1)
        labels = list(self.posterior.columns)
        average = np.vstack(
            [probabilities[modal == c].mean(axis=0) if np.any(modal == c) else np.full(n_points, np.nan)
             for c in range(n_points)]
        )
        table = pd.DataFrame(average, index=labels, columns=[f"avepp[{label}]" for label in labels])
        counts = np.bincount(modal, minlength=n_points)
        table.insert(0, "share", counts / n_units)
        table.insert(0, "n_modal", counts)
        table.insert(0, "size", self.points["probability"].to_numpy())
        entropy = float(-np.sum(probabilities * np.log(np.clip(probabilities, 1e-300, None))))
        relative = 1.0 - entropy / (n_units * np.log(n_points))
        return Classification(table, entropy, float(relative))

    def summary(self) -> str:
        """lme4-style header, the points' table, and the parameters by kind."""
        lines = [
            f"Discrete latent fit by maximum likelihood ({self.quadrature})",
            f" Family: {self.family} ( {self.link} )",
            f"Formula: {self.formula}",
            "",
            f"{'AIC':>10} {'BIC':>10} {'logLik':>11} {'df':>4}",
            f"{self.aic:10.1f} {self.bic:10.1f} {self.loglik:11.4f} {self.n_params:4d}",
            f"Best log-likelihood reached by {self.n_best} of {len(self.start_logliks)} random starts",
            "",
            self.points.to_string(float_format=lambda v: f"{v:.5g}"),
        ]
        if self.stop_reason:
            lines += ["", self.stop_reason]
        titles = (("Fixed effects", "fixed"), ("Class intercepts", "class_intercept"),
                  ("Class-specific coefficients", "class_effect"), ("Locations", "location"),
                  ("Membership log-odds", "class_logodds"), ("Dispersion", "aux"),
                  ("Random effect within class", "sd"))
        for title, kind in titles:
            table = self._table(kind)
            if len(table):
                lines += ["", f"{title}:", table.to_string(float_format=lambda v: f"{v:.5g}")]
        if not self.converged:
            lines.append("\nWARNING: the optimiser did not converge (see ConvergenceWarning).")
        return "\n".join(lines)
