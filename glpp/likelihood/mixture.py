"""A discrete and a continuous latent in one model: a growth mixture (classes of units, a normal
random effect within class), by a sum over classes of adaptive Gauss-Hermite integrals.

``y ~ C + C:time + (1 | id)`` with ``C@id ~~ classes(K)``: unit (cluster) ``i`` in class
``c`` has, on its rows, ``eta_rc = x_r' beta + w_r' gamma_c + z_r sd u`` with
``u ~ N(0, 1)`` (:mod:`glpp.design.class_regression`), and

    log L_i = logsumexp_c [ log pi_ic + log integral prod_{r in i} f(y_r | eta_rc(u)) phi(u) du ].

Each of the ``n_units x K`` integrals is adaptive: its nodes are centred at the mode
``m_ic`` of its own integrand and scaled by the curvature there, the latent-distribution
seam's :class:`~glpp.likelihood.latent.GaussHermiteLevel`. The modes are found in numpy
by :func:`glpp.fitting.modes.newton_search` (every unit and class one problem) from
``mode_terms``; inside the log-likelihood graph one Newton step is taken from them, which
carries the implicit derivative of the modes (as in :mod:`glpp.likelihood.two_level`).
The class weights, shifts and the family's density are those of the discrete latent
(:class:`~glpp.likelihood.discrete.DiscreteLevel`, :func:`~glpp.likelihood.discrete.row_logp`);
no Python loops over units, classes or nodes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytensor.tensor as pt

from glpp.likelihood.compile_cache import cached_functions, family_key
from glpp.likelihood.discrete import DiscreteLevel, row_logp
from glpp.likelihood.latent import GaussHermiteLevel
from glpp.likelihood.segments import Segments

__all__ = ["compile_mixture"]

#: this module's and the discrete module's source, part of the compiled functions' cache key
_SOURCE_DIGEST = hashlib.sha256(
    Path(__file__).read_bytes() + (Path(__file__).parent / "discrete.py").read_bytes()
).hexdigest()[:16]


def compile_mixture(family, link, *, with_dispersion_index: bool, mixed: bool) -> dict:
    """Compiled functions of a growth mixture (module docstring).

    Returns
    -------
    dict of callables
        Cached on disk like :func:`glpp.likelihood.discrete.compile_discrete`, whose ``data``
        (with ``regression=True``) they take after ``random_covariate`` (``z_r``):
        ``mode_terms(theta, sizes, modes, z, *data) -> (log_posterior, score, neg_hessian)``,
        each ``(n_units, K)``: the integrands' log at ``u = modes`` (without the normal
        constant) and its first and negative second derivative;
        ``value_and_grad(theta, sizes, modes, nodes, log_weights, signs, z, *data) ->
        (loglik, gradient, log L_i)``; ``per_unit(...same...) -> (log L_i, posterior (n_units, K),
        log-weights)``.
    """
    key = ("mixture", family_key(family, link), with_dispersion_index, mixed, _SOURCE_DIGEST)

    def build():
        theta = pt.vector("theta")
        sizes = pt.vector("sizes", dtype="int64")
        response, trials, offset, shift_covariate = (pt.vector(n) for n in ("y", "trials", "offset", "z_shift"))
        fixed, membership = pt.matrix("fixed"), pt.matrix("membership")
        unit_index, item_index = pt.vector("unit", dtype="int64"), pt.vector("item", dtype="int64")
        last = pt.vector("last", dtype="int64")
        dispersion_index = pt.vector("dispersion_index", dtype="int64") if with_dispersion_index else None
        family_index = pt.vector("family_index", dtype="int64") if mixed else None
        known_log_mask, class_columns = pt.matrix("known_log_mask"), pt.matrix("class_columns")
        free_positions = pt.vector("free_positions", dtype="int64")
        random_covariate, modes = pt.vector("random_covariate"), pt.matrix("modes")
        data = [response, trials, fixed, offset, unit_index, last, item_index, shift_covariate, membership]
        data += [v for v in (dispersion_index, family_index) if v is not None]
        data += [known_log_mask, class_columns, free_positions]

        units = Segments(unit_index, last)
        level = DiscreteLevel("classes", theta, sizes)
        base = (fixed @ level.beta + offset)[:, None] + level.class_shifts(class_columns, free_positions)
        loading = random_covariate * pt.exp(level.log_sd[0])

        def rows(eta, trailing):
            return row_logp(
                family, link, response, eta, trials, level.log_dispersion, dispersion_index, family_index, trailing
            )

        def mode_terms(at):
            """Log-integrand (but its constant), score and negative Hessian in ``u`` at ``at`` (n_units, K)."""
            eta = base + loading[:, None] * units.gather(at)
            logp = rows(eta, 1)
            first = pt.grad(pt.sum(logp), eta)
            second = pt.grad(pt.sum(first), eta)
            log_posterior = units.sum(logp) - 0.5 * at**2
            score = units.sum(first * loading[:, None]) - at
            neg_hessian = 1.0 - units.sum(second * loading[:, None] ** 2)
            return log_posterior, score, neg_hessian

        _, score, neg_hessian = mode_terms(modes)
        centre = modes + score / neg_hessian  # one Newton step: the modes' implicit derivative
        curvature = mode_terms(centre)[2]
        quadrature = GaussHermiteLevel(1, adaptive=True)
        (values,), log_scale = quadrature.node_values([centre], [[pt.sqrt(curvature)]])
        eta = base[:, :, None] + loading[:, None, None] * units.gather(values)
        conditional = units.sum(rows(eta, 2))
        log_integrals = quadrature.integrate(quadrature.log_terms(conditional, [values]), log_scale)
        log_weights = level.log_weights(membership)
        terms = log_integrals + log_weights + known_log_mask
        per_unit = pt.logsumexp(terms, axis=1)
        total = pt.sum(per_unit)
        posterior = pt.exp(terms - per_unit[:, None])
        inputs = [theta, sizes, modes, *quadrature.rule_inputs, random_covariate, *data]
        return {
            "mode_terms": ([theta, sizes, modes, random_covariate, *data], list(mode_terms(modes))),
            "value_and_grad": (inputs, [total, pt.grad(total, theta), per_unit]),
            "per_unit": (inputs, [per_unit, posterior, log_weights]),
        }

    return cached_functions(key, build)

