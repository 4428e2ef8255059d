"""Which pytensor backend compiles the likelihood functions: C, JAX or numba.

The C backend ("CVM") evaluates fastest, but a model structure met for the
first time costs pytensor one g++ run per C module (about 70 modules and a
minute for the toenail logit on a 2-core machine with an empty cache). JAX
(XLA) compiles a whole graph in a second or two, whatever the cache holds,
and evaluates 1.5-3x slower. ``"auto"`` (the default) takes the best of both:

- a structure whose C functions are in the cache (any earlier process
  compiled them) is linked to them at once;
- otherwise, where jax is installed, the functions are compiled by JAX for
  this fit, and the C version is compiled in a background process (at low
  priority) so that the next process finds it;
- without jax, C as before.

Measurements behind the choice: ``benchmarks/results.md`` ("Cold start").
The setting: :func:`set_backend` (``glpp.set_backend``) or the environment
variable ``GLPP_BACKEND``; ``GLPP_PYTENSOR_MODE`` (a pytensor mode name) is
read for compatibility and means that mode exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytensor

from pytensor.compile.mode import Mode, get_mode

__all__ = ["BACKENDS", "Backend", "get_backend", "set_backend", "jax_available", "resolve_mode", "compiled_by_jax"]

#: backend name -> pytensor mode name
BACKENDS: dict[str, str] = {"c": "CVM", "jax": "JAX", "numba": "NUMBA"}

_setting: list[str] = []


def _from_environment() -> str:
    legacy = os.environ.get("GLPP_PYTENSOR_MODE")
    if legacy:
        for name, mode in BACKENDS.items():
            if legacy.upper() == mode:
                return name
        return "c"
    return os.environ.get("GLPP_BACKEND", "auto").strip().lower() or "auto"


def get_backend() -> str:
    """The backend setting: ``"auto"``, ``"c"``, ``"jax"`` or ``"numba"``."""
    return _setting[-1] if _setting else _from_environment()


def set_backend(name: str) -> None:
    """Choose the backend that compiles glpp's likelihood functions from now on.

    Parameters
    ----------
    name : {"auto", "c", "jax", "numba"}
        ``"auto"`` (default): C where the model structure's C modules are
        cached, otherwise JAX for this fit (where jax is installed) while the
        C version compiles in the background. ``"c"``, ``"jax"``,
        ``"numba"``: always that pytensor backend (``"jax"`` needs the
        ``jax`` extra, ``"numba"`` the ``numba`` package). The numbers agree
        across backends to rounding (1e-8 in the tests).

    Raises
    ------
    ValueError
        For another name, listing the valid ones.

    Examples
    --------
    >>> glpp.set_backend("c")   # always compile C modules (fastest once cached)
    """
    name = str(name).strip().lower()
    if name != "auto" and name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}: use one of 'auto', {', '.join(map(repr, BACKENDS))}")
    if name == "jax" and not jax_available():
        raise ValueError("backend 'jax' needs jax: pip install 'glpp[jax]' (or pip install jax)")
    _setting[:] = [name]


@cache
def jax_available() -> bool:
    """Whether jax can be imported (its ops for glpp's segment sums are then registered)."""
    try:
        import jax
    except ImportError:
        return False
    from glpp.likelihood.segments import register_jax

    register_jax()
    _persistent_jax_cache(jax)
    return True


def _persistent_jax_cache(jax) -> None:
    """Keep XLA's compiled programs on disk (next to pytensor's cache) unless the user chose a place:
    a later process with the same graph then loads them instead of compiling again."""
    if jax.config.jax_compilation_cache_dir is not None:
        return
    if os.environ.get("GLPP_CACHE_DIR", "").strip().lower() in {"0", "off", "false", "no"}:
        return
    jax.config.update("jax_compilation_cache_dir", str(Path(pytensor.config.base_compiledir) / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


@dataclass(frozen=True)
class Backend:
    """A resolved backend: the pytensor mode and its stable description for cache keys."""

    name: str
    mode: Mode
    mode_key: str


def resolve_mode(name: str, excluding: tuple[str, ...] = ()) -> Backend:
    """The pytensor mode of backend ``name`` (not ``"auto"``) without the rewrites ``excluding``."""
    if name == "jax" and not jax_available():
        raise ValueError("backend 'jax' needs jax: pip install jax")
    mode_name = BACKENDS[name]
    mode = get_mode(mode_name)
    if excluding:
        mode = mode.excluding(*excluding)
    # the C key stays what it was before backends were added, so existing caches still match
    mode_key = mode_name if not excluding else f"{mode_name} excluding {' '.join(excluding)}"
    return Backend(name, mode, mode_key)


def compiled_by_jax(function) -> bool:
    """Whether a compiled likelihood function (from :mod:`glpp.likelihood.compile_cache`) runs on JAX."""
    maker = getattr(function, "maker", None)
    return maker is not None and type(maker.linker).__name__ == "JAXLinker"
