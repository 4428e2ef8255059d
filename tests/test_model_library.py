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


@pytest.mark.parametrize("name", sorted(model_library.MODELS))
def test_library_model_has_the_reference_parameter_count(name):
    entry = model_library.MODELS[name]
    assert entry.reference in REFERENCE, f"{name}: no reference case"
    model = model_library.load(name)
    assert model.layout.n_theta == REFERENCE[entry.reference]["df"]
    assert model.design.n_dropped == 0


def test_unknown_library_model_names_the_choices():
    with pytest.raises(KeyError, match="choose one of"):
        model_library.load("toenails")
