"""The log-likelihood of a model without latent variables (a GLM): a sum over rows, no quadrature.

Row ``r`` has linear predictor ``eta_r = x_r' beta + offset_r`` and contributes
``log f(y_r | eta_r)`` (:meth:`glpp.families.Family.logp`, the one definition of
each family, through :class:`glpp.likelihood.predictor.RowPredictor`). A plain
GLM is the null model of a likelihood-ratio test for a random intercept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytensor.tensor as pt

from glpp.design.build import Design
from glpp.families import Family, Link
from glpp.likelihood.compile_cache import cached_functions, family_key
from glpp.likelihood.predictor import RowPredictor, optional_row_arrays
from glpp.params import ParameterLayout

__all__ = ["FixedOnlyFunctions", "compile_fixed_only", "fixed_only_data_arguments"]


@dataclass(frozen=True)
class FixedOnlyFunctions:
    """Compiled functions of a model without latents.

    Attributes
    ----------
    loglik_and_grad : callable
        ``(theta, *data) -> (loglik, gradient, row_loglik[N])``.
    """

    loglik_and_grad: Callable


def fixed_only_data_arguments(design: Design) -> list[np.ndarray]:
    """The data inputs of :func:`compile_fixed_only`'s function, in order."""
    trials = design.trials if design.trials is not None else np.ones_like(design.response)
    rows = np.arange(design.n_rows)
    return [design.response, trials, design.fixed, design.offset, *optional_row_arrays(design, rows)]


def compile_fixed_only(layout: ParameterLayout, family: Family, link: Link) -> FixedOnlyFunctions:
    """Compile the log-likelihood of a model with ``layout``'s structure and no latents (cached on disk)."""
    key = ("fixed_only", layout.structure_key, family_key(family, link))

    def build():
        rows = RowPredictor(layout, family, link)
        row_loglik = rows.row_logp(rows.fixed_eta, rows.response, rows.trials)
        total = row_loglik.sum()
        inputs = [rows.theta, rows.response, rows.trials, rows.fixed, rows.offset, *rows.optional_inputs]
        return {"loglik_and_grad": (inputs, [total, pt.grad(total, rows.theta), row_loglik])}

    functions = cached_functions(key, build)
    return FixedOnlyFunctions(functions["loglik_and_grad"])
