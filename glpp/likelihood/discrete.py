"""Discrete latents in the latent-distribution seam: free locations and log-weights.

Where a normal latent is integrated out by (adaptive) Gauss-Hermite nodes
(:class:`glpp.likelihood.latent.GaussHermiteLevel`), a discrete latent takes one of
``K`` points per unit, so its integral is an exact sum:

    log L_i = logsumexp_c [ sum_{r in i} log f(y_r | eta_r + s_rc) + log pi_ic ]

with ``s_rc`` the row's shift at point ``c`` (latent classes: the row's item's
intercept in class ``c``; mass points: ``z_r * location_c``) and ``log pi_ic`` the
unit's log-weights (a multinomial logit on its membership covariates, the last point
the reference). :class:`DiscreteLevel` makes the locations and log-weights from the
parameter vector; the conditional density is the family's one definition
(:meth:`glpp.families.Family.logp`).

The parameter vector is, in order: class-invariant fixed effects ``beta``, the
shifts (classes: an item-major ``J x K`` matrix of intercepts; mass points: the first
``K - 1`` locations, the last one set by the mean-zero constraint), the membership
logits (``(K - 1) x Q``, class-major) and the log dispersions. The block sizes are an
input, so one compilation serves every number of classes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from glpp.families import MixedFamily
from glpp.likelihood.compile_cache import cached_functions, family_key
from glpp.likelihood.segments import Segments

__all__ = ["DiscreteLevel", "compile_discrete", "data_variables", "discrete_terms", "row_logp"]

#: this module's source, part of the compiled functions' cache key
_SOURCE_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


class DiscreteLevel:
    """Locations and log-weights of a discrete latent from the parameter vector.

    Parameters
    ----------
    kind : {"classes", "masspoints"}
    theta : TensorVariable
        The parameter vector (module docstring for its blocks).
    sizes : TensorVariable
        ``[n_fixed, n_shift, n_points, n_membership, n_dispersion, n_sd]`` (int64).
    """

    def __init__(self, kind: str, theta: TensorVariable, sizes: TensorVariable):
        self.kind = kind
        n_points, n_membership = sizes[2], sizes[3]
        ends = pt.cumsum(sizes)
        self.beta = theta[: ends[0]]
        self.shift_parameters = theta[ends[0] : ends[1]]
        n_logits = (n_points - 1) * n_membership
        self.membership_logits = theta[ends[1] : ends[1] + n_logits].reshape((n_points - 1, n_membership))
        self.log_dispersion = theta[ends[1] + n_logits : ends[1] + n_logits + sizes[4]]
        self.log_sd = theta[ends[1] + n_logits + sizes[4] :]
        self.n_points = n_points

    def log_weights(self, membership: TensorVariable) -> TensorVariable:
        """Log-weights ``(n_units, K)``: multinomial logit, the last point the reference."""
        logits = membership @ self.membership_logits.T
        logits = pt.concatenate([logits, pt.zeros((logits.shape[0], 1))], axis=1)
        return logits - pt.logsumexp(logits, axis=1, keepdims=True)

    def locations(self, membership: TensorVariable) -> TensorVariable:
        """Mass points: the ``K`` locations, the last one making the latent's mean zero."""
        weights = pt.exp(self.log_weights(membership[:1]))[0]
        free = self.shift_parameters
        last = -pt.sum(weights[:-1] * free) / weights[-1]
        return pt.concatenate([free, last[None]])

    def class_shifts(self, class_columns: TensorVariable, free_positions: TensorVariable) -> TensorVariable:
        """A regression with class terms: each row's ``w_r' gamma_c``, ``(n_rows, K)``; ``gamma`` is the
        ``(n_columns, K)`` matrix with the free coefficients at ``free_positions`` (row-major) and zeros."""
        n_columns = class_columns.shape[1]
        gamma = pt.set_subtensor(pt.zeros(n_columns * self.n_points)[free_positions], self.shift_parameters)
        return class_columns @ gamma.reshape((n_columns, self.n_points))

    def shifts(self, membership, item_index, shift_covariate) -> TensorVariable:
        """Each row's shift at each point, ``(n_rows, K)``."""
        if self.kind == "classes":
            intercepts = self.shift_parameters.reshape((-1, self.n_points))
            if item_index is None:  # every unit has every item, in item order: a broadcast, whose
                # gradient is a sum over units (a gather's is a scatter-add, 3 times slower)
                n_items = intercepts.shape[0]
                n_units = membership.shape[0]
                return pt.broadcast_to(intercepts, (n_units, n_items, self.n_points)).reshape((-1, self.n_points))
            return intercepts[item_index]
        return shift_covariate[:, None] * self.locations(membership)[None, :]


def row_logp(family, link, response, eta, trials, log_dispersion, dispersion_index, family_index, trailing: int = 1):
    """Log-density of each row at each point: rows first, then ``trailing`` axes (points, nodes)."""
    log_aux = None
    if dispersion_index is not None:
        log_aux = pt.shape_padright(log_dispersion[dispersion_index], trailing)
    elif family.dispersion is not None:
        log_aux = log_dispersion[0]
    y, n = pt.shape_padright(response, trailing), pt.shape_padright(trials, trailing)
    if isinstance(family, MixedFamily):
        return family.logp(y, eta, link, log_aux, n, family_index=pt.shape_padright(family_index, trailing))
    return family.logp(y, eta, link, log_aux, n)


def data_variables(*, with_dispersion_index: bool, mixed: bool, regression: bool) -> list[TensorVariable]:
    """Symbolic inputs of the data, in the order of :func:`compile_discrete`'s ``data``."""
    response, trials, offset, shift_covariate = (pt.vector(n) for n in ("y", "trials", "offset", "z"))
    fixed, membership = pt.matrix("fixed"), pt.matrix("membership")
    unit_index, item_index = pt.vector("unit", dtype="int64"), pt.vector("item", dtype="int64")
    last = pt.vector("last", dtype="int64")
    data = [response, trials, fixed, offset, unit_index, last, item_index, shift_covariate, membership]
    data += [pt.vector("dispersion_index", dtype="int64")] if with_dispersion_index else []
    data += [pt.vector("family_index", dtype="int64")] if mixed else []
    data += [pt.matrix("known_log_mask")]
    data += [pt.matrix("class_columns"), pt.vector("free_positions", dtype="int64")] if regression else []
    return data


def discrete_terms(
    kind: str, family, link, theta, sizes, data: list, *, with_dispersion_index: bool, mixed: bool,
    balanced: bool, regression: bool,
):
    """Each unit's log-likelihood terms at each point, ``(n_units, K)``: the conditional
    log-likelihood plus the log-weight (and the known classes' mask), whose ``logsumexp`` over
    the points is ``log L_i``; also the log-weights and the conditional log-likelihood as a
    function of the shifts ``(n_rows, M)``. ``data`` (tensors, symbolic or constant) as in
    :func:`compile_discrete`: the one graph of the ML fit and of the PyMC model."""
    response, trials, fixed, offset, unit_index, last, item_index, shift_covariate, membership, *rest = data
    dispersion_index = rest.pop(0) if with_dispersion_index else None
    family_index = rest.pop(0) if mixed else None
    known_log_mask = rest.pop(0)
    units = Segments(unit_index, last)
    level = DiscreteLevel(kind, theta, sizes)
    eta_fixed = fixed @ level.beta + offset

    def conditional(shift: TensorVariable) -> TensorVariable:
        rows = row_logp(
            family, link, response, eta_fixed[:, None] + shift, trials, level.log_dispersion, dispersion_index,
            family_index,
        )
        return units.sum(rows)

    log_weights = level.log_weights(membership)
    if regression:
        shifts = level.class_shifts(*rest)
    else:
        shifts = level.shifts(membership, None if balanced else item_index, shift_covariate)
    return conditional(shifts) + log_weights + known_log_mask, log_weights, conditional


def compile_discrete(
    kind: str, family, link, *, with_dispersion_index: bool, mixed: bool, balanced: bool = False, regression: bool = False
):
    """Compiled functions of a discrete-latent model.

    Returns
    -------
    dict of callables
        Compiled by the backend of :mod:`glpp.likelihood.backend` and cached on disk
        (:func:`glpp.likelihood.compile_cache.cached_functions`; the key holds this
        module's source):
        ``value_and_grad(theta, sizes, *data) -> (loglik, gradient, log L_i)``,
        ``per_unit(theta, sizes, *data) -> (log L_i, posterior (n_units, K), log-weights)``,
        ``conditional_at(theta, sizes, locations, *data) -> (n_units, M)``: the
        conditional log-likelihood of each unit with the latent at each of ``locations``
        (mass points; for the Gateaux derivative). ``data`` is ``response, trials,
        fixed, offset, unit_index, last, item_index, shift_covariate, membership``
        and the dispersion and family indices where the model has them, then
        ``known_log_mask`` (``(n_units, K)``: 0, or -inf for the classes a unit is known
        not to be in) and, with ``regression``, ``class_columns, free_positions``
        (:meth:`DiscreteLevel.class_shifts`); rows sorted by unit, ``last`` the position of
        each unit's last row (:func:`glpp.likelihood.segments.segment_ends`). ``balanced``:
        row ``r`` is item ``r % J`` of unit ``r // J`` (wide data: units with a missing item
        are dropped).
    """
    key = (
        "discrete", kind, family_key(family, link), with_dispersion_index, mixed, balanced, regression, _SOURCE_DIGEST
    )

    flags = {"with_dispersion_index": with_dispersion_index, "mixed": mixed, "balanced": balanced,
             "regression": regression}

    def build():
        theta = pt.vector("theta")
        sizes = pt.vector("sizes", dtype="int64")
        locations = pt.vector("locations")
        data = data_variables(with_dispersion_index=with_dispersion_index, mixed=mixed, regression=regression)
        terms, log_weights, conditional = discrete_terms(kind, family, link, theta, sizes, data, **flags)
        per_unit = pt.logsumexp(terms, axis=1)
        total = pt.sum(per_unit)
        posterior = pt.exp(terms - per_unit[:, None])
        inputs = [theta, sizes, *data]
        at_locations = conditional(data[7][:, None] * locations[None, :])  # data[7]: the shift covariate
        return {
            "value_and_grad": (inputs, [total, pt.grad(total, theta), per_unit]),
            "per_unit": (inputs, [per_unit, posterior, log_weights]),
            "conditional_at": ([theta, sizes, locations, *data], [at_locations]),
        }

    functions = cached_functions(key, build)
    return {
        "value_and_grad": functions["value_and_grad"],
        "per_unit": functions["per_unit"],
        "conditional_at": lambda *arguments: functions["conditional_at"](*arguments)[0],
    }
