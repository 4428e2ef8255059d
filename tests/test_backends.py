"""The C, JAX and ``"auto"`` backends (glpp.likelihood.backend): the same numbers, and the
auto backend's choice (cached C modules, else JAX with the C version queued for a worker)."""

from __future__ import annotations

import subprocess
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytensor.tensor as pt
import pytest

import glpp
from glpp.fitting.engines import make_objective
from glpp.likelihood import background, backend, compile_cache, compile_worker

pytest.importorskip("jax")

DATA = Path(__file__).resolve().parents[1] / "model_library" / "data"

#: shared cases: name -> (data file, model string, options, points)
CASES = {
    "two-level logit (adaptive quadrature)": (
        "toenail.csv",
        "outcome ~ treatment + month + trt_month + (1 | patient)",
        dict(family="binomial"),
        11,
    ),
    "three-level logit": (
        "guimmun.csv",
        "immun ~ kid2p + mom25p + (1 | mom) + (1 | comm)",
        dict(family="binomial"),
        (5, 5),
    ),
    "one-factor model, binary items": (
        "verbagg_wide.csv",
        "F =~ i1 + i2 + i3 + i4 + i5 + i6",
        dict(family="binomial"),
        9,
    ),
    "glm without latents": ("toenail.csv", "outcome ~ treatment + month", dict(family="binomial"), "auto"),
}


@pytest.fixture
def restore_backend():
    yield
    backend._setting.clear()


def _loglik_and_gradient(model: glpp.Model, theta: np.ndarray, points) -> tuple[float, np.ndarray, np.ndarray]:
    objective = make_objective(model.design, model.layout, model.family, model.link, nip=points)
    if objective.schedule is not None:
        objective.set_points(objective.schedule.evaluation_points)
    return objective.loglik(theta)


@pytest.mark.parametrize("case", list(CASES))
def test_c_and_jax_backends_agree(case, restore_backend):
    file, formula, options, points = CASES[case]
    model = glpp.Model(formula, pd.read_csv(DATA / file), **options)
    # a point away from the optimum (nonzero gradient), the same for both backends
    rng = np.random.default_rng(1)
    theta = 0.3 * rng.standard_normal(model.layout.n_theta)
    results = {}
    for name in ("c", "jax"):
        glpp.set_backend(name)
        results[name] = _loglik_and_gradient(model, theta, points)
    (c_total, c_gradient, c_clusters), (jax_total, jax_gradient, jax_clusters) = results["c"], results["jax"]
    assert np.isfinite(c_total)
    np.testing.assert_allclose(jax_total, c_total, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(jax_gradient, c_gradient, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(jax_clusters, c_clusters, rtol=1e-10, atol=1e-8)


def test_unknown_backend_lists_the_valid_ones(restore_backend):
    with pytest.raises(ValueError, match="'auto', 'c', 'jax', 'numba'"):
        glpp.set_backend("fortran")
    glpp.set_backend("JAX")
    assert glpp.get_backend() == "jax"


def _build():
    x = pt.vector("x")
    return {"f": ([x], [pt.sum(x**3), pt.grad(pt.sum(x**3), x)])}


def test_auto_links_cached_c_modules_and_otherwise_uses_jax_and_queues_c(tmp_path, monkeypatch, restore_backend):
    monkeypatch.setenv("GLPP_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("GLPP_BACKGROUND_COMPILE", "on")
    started = []
    # the queue's own view of subprocess only: pytensor's C compile needs the real Popen
    fake = types.SimpleNamespace(Popen=lambda command, **kwargs: started.append(command), DEVNULL=subprocess.DEVNULL)
    monkeypatch.setattr(background, "subprocess", fake)
    glpp.set_backend("auto")
    key = ("backend test", 3)

    # no C entry: JAX now, the C version queued and a worker started
    function = compile_cache.cached_functions(key, _build)["f"]
    assert type(function.maker.linker).__name__ == "JAXLinker"
    total, gradient = function(np.array([1.0, 2.0]))
    assert isinstance(total, np.ndarray) and total == 9.0  # numpy, not jax arrays
    np.testing.assert_allclose(gradient, [3.0, 12.0])
    (pending,) = (tmp_path / "pending").glob("*.pkl")
    assert len(started) == 1 and started[0][-1] == str(pending.parent)

    # the worker (run here in-process) compiles the queue to C and empties it; the JAX
    # functions switch to the C ones at their next call (after C_READY_INTERVAL)
    background.run_worker(pending.parent, compile_worker.compile_task)
    assert not list((tmp_path / "pending").glob("*.pkl"))
    monkeypatch.setattr(compile_cache, "C_READY_INTERVAL", 0.0)
    linked = []
    monkeypatch.setattr(compile_cache, "_link", lambda *a, _link=compile_cache._link: linked.append(1) or _link(*a))
    assert function(np.array([1.0, 2.0]))[0] == 9.0
    assert linked, "the JAX function did not switch to the cached C version"
    assert not backend.compiled_by_jax(function)  # callers stop padding rules for JAX
    function = compile_cache.cached_functions(key, _build)["f"]
    assert type(function.maker.linker).__name__ != "JAXLinker"
    assert function(np.array([1.0, 2.0]))[0] == 9.0


def test_auto_without_background_compiles_keeps_using_jax(tmp_path, monkeypatch, restore_backend):
    monkeypatch.setenv("GLPP_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("GLPP_BACKGROUND_COMPILE", "off")
    glpp.set_backend("auto")
    function = compile_cache.cached_functions(("backend test", 4), _build)["f"]
    assert type(function.maker.linker).__name__ == "JAXLinker"
    assert not (tmp_path / "pending").exists()


def _build_dynamic_arange():
    x = pt.vector("x")
    total = pt.sum(x * pt.arange(x.shape[0]))
    return {"f": ([x], [total])}


def test_auto_falls_back_to_c_where_jax_cannot_trace(tmp_path, monkeypatch, restore_backend):
    # a dynamic arange (as the closed-form gaussian graphs have) is no JAX program
    monkeypatch.setenv("GLPP_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("GLPP_BACKGROUND_COMPILE", "off")
    glpp.set_backend("auto")
    function = compile_cache.cached_functions(("backend test", "arange"), _build_dynamic_arange)["f"]
    assert function(np.array([1.0, 2.0, 3.0]))[0] == 8.0


SHARDED = """
import os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
import json
import jax
import numpy as np
import pandas as pd
import glpp
from glpp.likelihood.latent import GaussHermiteLevel
from glpp.likelihood.quadrature import make_rule
from glpp.likelihood.sharding import call_on_devices
from glpp.likelihood.two_level import compile_two_level, data_arguments

glpp.set_backend("jax")
model = glpp.Model("outcome ~ treatment + month + trt_month + (1 | patient)", pd.read_csv({data!r}),
                   family="binomial")
functions = compile_two_level(model.layout, model.family, model.link)
theta = 0.3 * np.random.default_rng(1).standard_normal(model.layout.n_theta)
arguments = [theta, np.zeros((294, 1)), *GaussHermiteLevel.rule_arguments(make_rule(11, 1)),
             *data_arguments(model.design)]
one = functions.loglik_and_grad(*arguments)
two = call_on_devices(functions.loglik_and_grad, arguments)
print(json.dumps(dict(devices=len(jax.devices()), total=[float(one[0]), float(two[0])],
                      gradient=float(np.max(np.abs(one[1] - two[1]))),
                      clusters=float(np.max(np.abs(one[2] - two[2]))))))
"""


def test_data_split_over_two_devices_gives_the_same_loglik(tmp_path):
    # a new process: the number of (CPU) devices is fixed when jax starts
    import json
    import os
    import subprocess
    import sys

    code = SHARDED.format(data=str(DATA / "toenail.csv"))
    env = dict(os.environ, GLPP_BACKGROUND_COMPILE="off")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[1])
    assert output.returncode == 0, output.stderr[-2000:]
    result = json.loads(output.stdout.strip().splitlines()[-1])
    assert result["devices"] == 2
    assert np.isfinite(result["total"][0])
    np.testing.assert_allclose(result["total"][1], result["total"][0], rtol=1e-12)
    assert result["gradient"] < 1e-8 and result["clusters"] < 1e-10


def test_call_on_devices_refuses_a_c_function(restore_backend):
    from glpp.likelihood.sharding import call_on_devices

    glpp.set_backend("c")
    with pytest.raises(TypeError, match="JAX backend"):
        call_on_devices(lambda *a: a, [np.zeros(2)])
