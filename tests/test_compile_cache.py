"""The disk cache of rewritten graphs: stored once, linked again, keyed by structure."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from glpp.likelihood import compile_cache

CALLS: list[int] = []


def _build(power: int):
    def build():
        CALLS.append(power)
        x = pt.vector("x")
        return {"f": ([x], [pt.sum(x**power), pt.grad(pt.sum(x**power), x)])}

    return build


def test_entry_is_stored_once_and_relinked(tmp_path, monkeypatch):
    monkeypatch.setenv("GLPP_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("GLPP_BACKEND", "c")
    CALLS.clear()
    first = compile_cache.cached_functions(("test", 3), _build(3))["f"]
    again = compile_cache.cached_functions(("test", 3), _build(3))["f"]
    other = compile_cache.cached_functions(("test", 2), _build(2))["f"]
    assert CALLS == [3, 2]  # the second call of key ("test", 3) read the stored graph
    assert len(list(tmp_path.glob("*.pkl"))) == 2
    x = np.array([1.0, 2.0])
    for function, power in ((first, 3), (again, 3), (other, 2)):
        total, gradient = function(x)
        assert total == np.sum(x**power)
        np.testing.assert_allclose(gradient, power * x ** (power - 1))


def test_unreadable_entry_is_rebuilt_and_cache_can_be_off(tmp_path, monkeypatch):
    monkeypatch.setenv("GLPP_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("GLPP_BACKEND", "c")
    CALLS.clear()
    compile_cache.cached_functions(("test", 4), _build(4))
    (entry,) = tmp_path.glob("*.pkl")
    entry.write_bytes(b"not a pickle")
    function = compile_cache.cached_functions(("test", 4), _build(4))["f"]
    assert CALLS == [4, 4]
    assert function(np.array([2.0]))[0] == 16.0
    monkeypatch.setenv("GLPP_CACHE_DIR", "off")
    assert compile_cache.cache_directory() is None
    compile_cache.cached_functions(("test", 4), _build(4))
    assert CALLS == [4, 4, 4]
