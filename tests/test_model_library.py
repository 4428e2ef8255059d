"""Every library model builds from its data and has the parameters of the reference fit it reproduces.

The numbers themselves are checked where each model type is tested
(test_glmm_reference, test_multilevel, test_factor); here the library's own
model strings are tied to those references.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import model_library

REFERENCE = json.loads((Path(__file__).parent / "reference" / "reference.json").read_text())


REFERENCED = sorted(name for name, entry in model_library.MODELS.items() if entry.truth is None)
SIMULATED = sorted(name for name, entry in model_library.MODELS.items() if entry.truth is not None)


@pytest.mark.parametrize("name", REFERENCED)
def test_library_model_has_the_reference_parameter_count(name):
    entry = model_library.MODELS[name]
    assert entry.reference in REFERENCE, f"{name}: no reference case"
    model = model_library.load(name)
    assert model.layout.n_theta == REFERENCE[entry.reference]["df"]
    assert model.design.n_dropped == 0


def test_unknown_library_model_names_the_choices():
    with pytest.raises(KeyError, match="choose one of"):
        model_library.load("toenails")


@pytest.mark.parametrize("name", SIMULATED)
def test_simulated_library_model_has_the_parameters_of_its_truth(name):
    """Models on simulated data (``model_library/simulate.py``): every parameter has a
    true value (their recovery is tested in tests/test_row_families.py and
    tests/test_class_regression.py)."""
    model = model_library.load(name)
    layout = model.layout
    names = layout.names() if callable(layout.names) else layout.names  # a discrete layout's are a tuple
    assert sorted(names) == sorted(model_library.MODELS[name].truth)
    assert model.design.n_dropped == 0
