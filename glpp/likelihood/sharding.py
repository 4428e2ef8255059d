"""Evaluating JAX-backend likelihood functions with their data split over several devices.

The log-likelihood is a sum over independent top-level clusters, so its data
arrays (rows sorted by cluster, cluster-level arrays) can be split along their
first axis over devices (GPUs, or CPU devices made with
``XLA_FLAGS=--xla_force_host_platform_device_count=N``); XLA partitions the
compiled program and combines the segment sums across devices itself
(``jax.sharding``; no distribution code of glpp's own). The design and what is
still missing (a ``fit`` option, splits at cluster boundaries): ``docs/performance.md``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from glpp.likelihood.backend import compiled_by_jax

__all__ = ["split_over_devices", "call_on_devices"]


def split_over_devices(arguments: Sequence, devices: Sequence | None = None) -> list:
    """Place ``arguments`` on ``devices`` (default: all of jax's): an array whose first axis
    divides evenly over the devices is split along it, the others (parameters, the
    quadrature rule) are copied to every device."""
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    devices = list(devices) if devices is not None else jax.devices()
    mesh = Mesh(np.array(devices), ("clusters",))
    placed = []
    for argument in arguments:
        array = np.asarray(argument)
        split = array.ndim > 0 and array.shape[0] >= len(devices) and array.shape[0] % len(devices) == 0
        spec = PartitionSpec("clusters") if split else PartitionSpec()
        placed.append(jax.device_put(array, NamedSharding(mesh, spec)))
    return placed


def call_on_devices(function: Callable, arguments: Sequence, devices: Sequence | None = None) -> list[np.ndarray]:
    """Evaluate ``function`` (compiled by the JAX backend, from
    :func:`glpp.likelihood.compile_cache.cached_functions`) with ``arguments`` split over
    ``devices``; returns numpy arrays.

    Raises
    ------
    TypeError
        If ``function`` was not compiled by the JAX backend.
    """
    compiled = getattr(function, "function", None)
    if compiled is None or not compiled_by_jax(compiled):
        raise TypeError("call_on_devices needs a function compiled by the JAX backend (glpp.set_backend('jax'))")
    compiled.trust_input = True  # keep the placed arrays as they are (pytensor would copy them to numpy)
    try:
        outputs = compiled(*split_over_devices(arguments, devices))
    finally:
        compiled.trust_input = False
    return [np.asarray(value) for value in outputs]
