"""Points of glpp's PyMC models and their gradients, shared by the Bayesian tests."""

from __future__ import annotations

import numpy as np
import pymc as pm

from glpp.likelihood.two_level import COMPILE_MODE


def point_at(pm_model: pm.Model, natural: dict[str, float]) -> dict[str, np.ndarray]:
    """Initial point of ``pm_model`` with the named parameters set (transformed values)."""
    point = pm_model.initial_point()
    for rv in pm_model.free_RVs:
        if rv.name in natural:
            value_var = pm_model.rvs_to_values[rv]
            transform = pm_model.rvs_to_transforms.get(rv)
            value = np.asarray(natural[rv.name], dtype=float)
            point[value_var.name] = transform.forward(value).eval() if transform is not None else value
    return point


def assert_gradient_exact(pm_model: pm.Model, point: dict[str, np.ndarray], step: float = 1e-5) -> None:
    """NUTS's gradient of ``pm_model``'s log-density at ``point`` against central differences."""
    function = pm_model.logp_dlogp_function(mode=COMPILE_MODE, ravel_inputs=True)
    function.set_extra_values({})
    x = np.concatenate([np.atleast_1d(point[v.name]).ravel() for v in pm_model.value_vars])
    _, gradient = function(x)
    numeric = np.empty_like(x)
    for k in range(x.size):
        delta = np.zeros_like(x)
        delta[k] = step
        numeric[k] = (function(x + delta)[0] - function(x - delta)[0]) / (2 * step)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-4)
