"""Compiled likelihood functions, cached on disk per model structure.

Compiling a likelihood graph is mostly pytensor's graph rewriting (14 of the
18 s of the three-level logit's functions on a 2-core machine); pytensor
caches only the C modules. This module also keeps the *rewritten* graph of
each function, keyed by everything the graph depends on, so a later process
(a new notebook kernel, the next test run) links the stored graph against the
cached C modules instead of rewriting it again.

The key holds the model structure (never data or parameter values), the
function's name, the versions of Python, numpy and pytensor, the pytensor mode
and a digest of the source of the modules that build graphs
(:data:`GRAPH_MODULES`), so any change to that code makes a new entry. Entries live in ``$GLPP_CACHE_DIR`` (default: a
``glpp`` folder in pytensor's ``base_compiledir``); ``GLPP_CACHE_DIR=off``
turns the cache off. An entry that cannot be read is rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import platform
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pytensor
from pytensor.compile.io import In, SymbolicOutput
from pytensor.compile.maker import FunctionMaker
from pytensor.compile.mode import Mode
from pytensor.graph.basic import Variable, clone_get_equiv
from pytensor.graph.fg import FunctionGraph

from glpp.families import Family, Link
from glpp.likelihood.backend import Backend, get_backend, jax_available, resolve_mode
from glpp.likelihood.background import compile_in_background

__all__ = ["cached_functions", "family_key", "cache_directory"]

#: bump when the stored format changes
FORMAT = 1

#: name -> (inputs, outputs) of each function of one graph
GraphSpecs = dict[str, tuple[Sequence[Variable], Sequence[Variable]]]


def cache_directory() -> Path | None:
    """Where rewritten graphs are stored, or ``None`` when the cache is off."""
    setting = os.environ.get("GLPP_CACHE_DIR")
    if setting is not None and setting.strip().lower() in {"", "0", "off", "false", "no"}:
        return None
    if setting:
        return Path(setting)
    return Path(pytensor.config.base_compiledir) / "glpp"


#: the modules whose code shapes a cached graph (the graph builders, the parameter layout
#: they unpack, the families and links they call, this module); their source is part of
#: every key. A module that starts building or shaping cached graphs must be added here.
GRAPH_MODULES: tuple[str, ...] = (
    "likelihood/compile_cache.py",
    "families",
    "params",
    "likelihood/predictor.py",
    "likelihood/latent.py",
    "likelihood/linalg.py",
    "likelihood/segments.py",
    "likelihood/two_level.py",
    "likelihood/multilevel.py",
    "likelihood/gaussian.py",
    "likelihood/fixed_only.py",
)


@cache
def _source_digest() -> str:
    """Digest of the graph modules' source (every ``.py`` file of a listed folder):
    graphs built by other code never match."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for name in GRAPH_MODULES:
        path = package / name
        for source in sorted(path.glob("*.py")) if path.is_dir() else [path]:
            digest.update(str(source.relative_to(package)).encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()


def family_key(family: Family, link: Link) -> tuple:
    """What a graph depends on of a family and link (names; components of a mixed family)."""
    components = getattr(family, "components", None)
    if components is None:
        return (family.name, link.name)
    return (family.name, tuple((member.name, member_link.name) for member, member_link in components))


def _entry_path(key: tuple, mode: str) -> Path | None:
    directory = cache_directory()
    if directory is None:
        return None
    text = repr((FORMAT, key, mode, sys.version, np.__version__, pytensor.__version__, platform.machine(), _source_digest()))
    return directory / f"{hashlib.sha256(text.encode()).hexdigest()[:32]}.pkl"


@contextmanager
def _quiet_blas():
    """Compile without pytensor's advice to install a BLAS: the likelihood's matrix products
    are tiny (design x coefficients) and correct without one, so the advice is noise here
    (``docs/performance.md``, "BLAS"). The JAX backend's note that it drops shape
    assertions is noise too: the shapes come from glpp's own design arrays."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS installation")
        warnings.filterwarnings("ignore", message="Skipping .*Op .* as JAX tracing would remove it")
        yield


def _rewritten_graph(function) -> tuple[list[Variable], list[Variable]]:
    """Inputs and outputs of a compiled function's rewritten graph, detached from its features."""
    graph = function.maker.fgraph
    equivalent = clone_get_equiv(graph.inputs, graph.outputs)
    return [equivalent[v] for v in graph.inputs], [equivalent[v] for v in graph.outputs]


def _link(inputs: list[Variable], outputs: list[Variable], mode: str | Mode):
    """A callable function from an already rewritten graph (as ``Function.copy`` does)."""
    graph = FunctionGraph(inputs, outputs, clone=False)
    maker = FunctionMaker(
        [In(v) for v in inputs],
        [SymbolicOutput(v) for v in outputs],
        fgraph=graph,
        mode=mode,
        on_unused_input="ignore",
        accept_inplace=True,
        no_fgraph_prep=True,
    )
    return maker.create()


def _load(path: Path, mode: str | Mode) -> dict[str, Callable] | None:
    try:
        with path.open("rb") as handle:
            graphs = pickle.load(handle)
        return {name: _link(inputs, outputs, mode) for name, (inputs, outputs) in graphs.items()}
    except Exception:  # unreadable or stale entry: rebuild it
        return None


def _store(path: Path, graphs: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = pickle.dumps(graphs, protocol=pickle.HIGHEST_PROTOCOL)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as handle:
            handle.write(payload)
        os.replace(handle.name, path)
    except Exception:  # a read-only or full disk only costs the next process a compile
        pass


def _compile(specs: GraphSpecs, backend: Backend) -> dict[str, Callable]:
    with _quiet_blas():
        return {
            name: pytensor.function(list(inputs), list(outputs), on_unused_input="ignore", mode=backend.mode)
            for name, (inputs, outputs) in specs.items()
        }


def compile_and_store(specs: GraphSpecs, path: Path | None, backend: Backend) -> dict[str, Callable]:
    """Compile ``specs`` with ``backend`` and store the rewritten graphs at ``path`` (if any)."""
    functions = _compile(specs, backend)
    if path is not None:
        _store(path, {name: _rewritten_graph(function) for name, function in functions.items()})
    return functions


def _numpy_outputs(function: Callable) -> Callable:
    """``function`` returning numpy arrays: the JAX backend returns jax arrays, and numpy
    arithmetic on those would dispatch (and compile) one small XLA program per operation."""

    def with_numpy_outputs(*arguments):
        return [np.asarray(value) for value in function(*arguments)]

    with_numpy_outputs.maker = function.maker
    with_numpy_outputs.function = function  # the pytensor Function (glpp.likelihood.sharding)
    return with_numpy_outputs


def _load_or_compile(key: tuple, build: Callable[[], GraphSpecs], backend: Backend) -> dict[str, Callable]:
    path = _entry_path(key, backend.mode_key)
    functions = None
    if path is not None and path.exists():
        with _quiet_blas():
            functions = _load(path, backend.mode)
    if functions is None:
        functions = compile_and_store(build(), path, backend)
    if backend.name == "jax":
        return {name: _numpy_outputs(function) for name, function in functions.items()}
    return functions


def cached_functions(
    key: tuple, build: Callable[[], GraphSpecs], excluding: tuple[str, ...] = (), jax_first: bool = True
) -> dict[str, Callable]:
    """Compiled functions of one graph, from the disk cache when present.

    The backend is :func:`glpp.likelihood.backend.get_backend`'s; with
    ``"auto"``, a structure whose C functions are cached is linked to them,
    and otherwise (where jax is installed) it is compiled by JAX while the C
    version compiles in a background process (:mod:`glpp.likelihood.background`).

    Parameters
    ----------
    key : tuple
        Everything the graph depends on (structure, family and link names,
        options), as plain Python values with a stable ``repr``.
    build : callable
        Builds the symbolic graph: returns ``{name: (inputs, outputs)}``.
        Only called when the cache has no entry.
    excluding : tuple of str
        pytensor rewrites to leave out (e.g. ``"inv_to_solve"``).
    jax_first : bool
        Whether ``"auto"`` may use JAX for a structure without cached C modules. Graphs
        evaluated at many shapes (several latent levels, whose point counts change
        independently) are compiled to C: XLA compiles one program per shape.

    Returns
    -------
    dict
        ``name -> function`` taking the inputs positionally and returning
        the list of outputs.
    """
    setting = get_backend()
    if setting != "auto":
        return _load_or_compile(key, build, resolve_mode(setting, excluding))
    c_backend = resolve_mode("c", excluding)
    c_path = _entry_path(key, c_backend.mode_key)
    if not jax_first or c_path is None or c_path.exists() or not jax_available():
        return _load_or_compile(key, build, c_backend)
    specs = build()
    try:
        functions = _load_or_compile(key, lambda: specs, resolve_mode("jax", excluding))
    except Exception:  # noqa: BLE001 - a graph JAX cannot trace (dynamic shapes): C it is
        return _load_or_compile(key, lambda: specs, c_backend)
    compile_in_background(specs, c_path, excluding)
    return _switching_to_c(functions, lambda: _load_or_compile(key, lambda: specs, c_backend), c_path.exists)


#: seconds between two looks for the background worker's C functions
C_READY_INTERVAL = 1.0

#: whether this process is a fork of the one that compiled the JAX functions (PyMC's chain
#: processes): JAX's threads do not survive a fork (a call into XLA in the child can deadlock),
#: so a forked process switches every JAX function to its C version before its first call
_FORKED = [False]
os.register_at_fork(after_in_child=lambda: _FORKED.__setitem__(0, True))


def _switching_to_c(
    functions: dict[str, Callable], compile_c: Callable[[], dict[str, Callable]], c_ready: Callable[[], bool]
) -> dict:
    """JAX ``functions`` that switch (all together) to their C versions when these are cached
    (the background worker is done: a notebook's later fits run at C speed; the numbers agree
    to rounding), in a forked process (PyMC's chains; compiled there if need be), or if a
    first call fails: JAX traces a graph at its first call, and a shape
    it cannot trace is an error only then."""
    state: dict[str, dict[str, Callable]] = {}
    traced: set[str] = set()
    last_look = [time.monotonic()]
    wrappers: dict[str, Callable] = {}

    def switch() -> None:
        state["c"] = compile_c()
        for name, wrapper in wrappers.items():  # compiled_by_jax now answers False
            wrapper.maker = state["c"][name].maker

    def wrapped(name: str) -> Callable:
        function = functions[name]

        def call(*arguments):
            if "c" not in state and _FORKED[0]:  # never call XLA after a fork
                switch()
            if "c" not in state and time.monotonic() - last_look[0] > C_READY_INTERVAL:
                last_look[0] = time.monotonic()
                if c_ready():
                    switch()
            if "c" in state:
                return state["c"][name](*arguments)
            if name in traced:
                return function(*arguments)
            try:
                result = function(*arguments)
            except Exception:  # noqa: BLE001 - retried in C, which raises a genuine error again
                switch()
                return state["c"][name](*arguments)
            traced.add(name)
            return result

        call.maker = function.maker
        wrappers[name] = call
        return call

    return {name: wrapped(name) for name in functions}


def lazy_cached_function(
    key: tuple, build: Callable[[], GraphSpecs], excluding: tuple[str, ...] = (), jax_first: bool = True
) -> Callable:
    """One function of :func:`cached_functions`, compiled (or loaded) on its first call.

    For functions only some fits need (empirical Bayes moments): ``build``
    returns one ``{name: (inputs, outputs)}`` entry.
    """
    compiled: list[Callable] = []

    def function(*arguments):
        if not compiled:
            (only,) = cached_functions(key, build, excluding, jax_first).values()
            compiled.append(only)
        return compiled[0](*arguments)

    return function
