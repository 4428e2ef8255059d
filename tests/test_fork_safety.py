"""JAX-compiled likelihood functions are never called in a forked process (PyMC's chains):
XLA's threads do not survive a fork, and a call there can deadlock (seen: a toenail chain
hung inside the JAX objective after a cold first fit)."""

from __future__ import annotations

import os

import pytest

from glpp.likelihood import compile_cache


class _Function:
    def __init__(self, answer):
        self.answer = answer
        self.maker = None

    def __call__(self, *arguments):
        return self.answer


def test_a_forked_process_switches_jax_functions_to_c(monkeypatch):
    compiled_c = []

    def compile_c():
        compiled_c.append(True)
        return {"loglik": _Function("c")}

    functions = compile_cache._switching_to_c({"loglik": _Function("jax")}, compile_c, lambda: False)
    assert functions["loglik"]() == "jax" and not compiled_c
    monkeypatch.setattr(compile_cache, "_FORKED", [True])
    assert functions["loglik"]() == "c" and compiled_c == [True]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")
def test_the_fork_hook_marks_the_child():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports its flag and leaves at once
        os.write(write, b"1" if compile_cache._FORKED[0] else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert compile_cache._FORKED[0] is False
