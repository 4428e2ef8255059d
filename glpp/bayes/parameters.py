"""The PyMC variables of the parameter table: each free row registered under its ML name
with its prior, assembled into the ML parameter vector ``theta``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.type import RandomGeneratorType


def _register(pm_model: pm.Model, dist: pt.TensorVariable, name: str) -> pt.TensorVariable:
    """Register a copy of a ``.dist()`` variable (one dist may serve several names).

    Each copy gets its own random generator: copies that shared one would be the
    same graph node, merged into one variable when PyMC rewrites the log-density.
    """
    node = dist.owner
    inputs = [
        pytensor.shared(np.random.default_rng()) if isinstance(value.type, RandomGeneratorType) else value
        for value in node.inputs
    ]
    copy = node.clone_with_new_inputs(inputs).outputs[node.outputs.index(dist)]
    return pm_model.register_rv(copy, name)


@dataclass
class PyMCParameters:
    factors: list[pt.TensorVariable]  # Cholesky factor of each level's covariance
    theta: pt.TensorVariable  # the ML parameter vector, in ParameterLayout order


def _level_factor(model, pm_model, priors, level_number) -> pt.TensorVariable:
    """Cholesky factor of one level's latent covariance: SDs times LKJ Cholesky per block
    (unit-variance blocks: the LKJ Cholesky alone)."""
    layout, level = model.layout, model.design.levels[level_number]
    factor = pt.zeros((level.n_latents, level.n_latents))
    for block in level.blocks:
        positions = block.latent_positions
        if block.unit_variance:
            sds = pt.ones(len(positions))
        else:
            sd_names = [
                n for n, lvl, i, j in layout.variance_names if lvl == level_number and i == j and i in positions
            ]
            sds = pt.stack([_register(pm_model, priors[name], name) for name in sd_names])
        if len(positions) == 1:
            factor = pt.set_subtensor(factor[positions[0], positions[0]], sds[0])
            continue
        label = level.name if len(level.blocks) == 1 else f"{level.name}:{block.term}"
        corr_chol = pm.LKJCorr(f"cor_chol[{label}]", n=len(positions), eta=priors[f"cor[{level.name}]"])
        correlation = corr_chol @ corr_chol.T
        for name, lvl, i, j in layout.variance_names:
            if lvl == level_number and i != j and i in positions and j in positions:
                pm.Deterministic(name, correlation[positions.index(i), positions.index(j)])
        index = np.asarray(positions)
        factor = pt.set_subtensor(factor[index[:, None], index[None, :]], sds[:, None] * corr_chol)
    return factor


def add_parameters(model, pm_model: pm.Model, priors: dict[str, object]) -> PyMCParameters:
    """Register every free row of the parameter table under its ML name and assemble the ML
    vector ``theta`` (each row on its unconstrained scale) from them.

    The ``sd`` and ``cor`` rows of a level are one PyMC block (SDs and an LKJ
    Cholesky factor, :func:`_level_factor`); theta holds their Cholesky entries.
    """
    layout = model.layout
    entries: list[pt.TensorVariable] = []
    factors: list[pt.TensorVariable] = []
    for parameter in layout.free:
        if parameter.transform == "ordered":
            if parameter.row == 0:
                entries.extend(_threshold_entries(model, pm_model, parameter.block))
            continue
        if parameter.transform == "cholesky":
            if not factors:
                factors = [_level_factor(model, pm_model, priors, k) for k in range(len(model.design.levels))]
                entries.extend(_cholesky_entries(layout, factors))
            continue
        value = _register(pm_model, priors[parameter.name], parameter.name)
        entries.append(pt.log(value) if parameter.transform == "log" else value)
    if not factors:
        factors = [_level_factor(model, pm_model, priors, k) for k in range(len(model.design.levels))]
    return PyMCParameters(factors, pt.stack(entries))


def _threshold_entries(model, pm_model: pm.Model, set_number: int) -> list[pt.TensorVariable]:
    """One ordered PyMC vector per threshold set (``tau``, or ``tau[item]``; the family's
    :class:`~glpp.families.Cutpoints` prior, PyMC's ordered transform), each threshold also a
    deterministic under its ML name; theta's entries: the first, then log increments."""
    auxiliary = model.design.auxiliary
    threshold_set = auxiliary.threshold_sets[set_number]
    first = sum(s.n_thresholds for s in auxiliary.threshold_sets[:set_number])
    names = auxiliary.threshold_names[first : first + threshold_set.n_thresholds]
    label = "tau" if threshold_set.item is None else f"tau[{threshold_set.item}]"
    size = threshold_set.n_thresholds
    with pm_model:
        values = pm.Normal(
            label,
            0.0,
            model.family.cutpoints.prior_sd,
            shape=size,
            transform=pm.distributions.transforms.ordered,
            initval=np.linspace(-1.0, 1.0, size) if size > 1 else np.zeros(1),
        )
        for k, name in enumerate(names):
            pm.Deterministic(name, values[k])
    return [values[0]] + [pt.log(values[k] - values[k - 1]) for k in range(1, size)]


def _cholesky_entries(layout, factors: list[pt.TensorVariable]) -> list[pt.TensorVariable]:
    """theta's entries of the levels' Cholesky factors: lower triangles, log diagonals."""
    unit_rows = set(layout.unit_variance_rows)
    entries = []
    for entry in layout.cholesky_entries:
        factor = factors[entry.level]
        value = factor[entry.row, entry.column]
        if (entry.level, entry.row) in unit_rows:  # theta holds the row before normalisation
            value = value / factor[entry.row, entry.row]
        entries.append(pt.log(value) if entry.row == entry.column else value)
    return entries
