"""glpp: generalized linear latent and mixed models from one model string."""

from glpp.errors import (
    ConvergenceWarning,
    DataError,
    GlppError,
    IdentificationError,
    IdentificationWarning,
    SpecError,
)
from glpp.design.choice import expand_nominal
from glpp.likelihood.backend import get_backend, set_backend
from glpp.model import Model
from glpp.results.lrtest import lrtest
from glpp.results.ml import MLResult

__all__ = [
    "Model",
    "MLResult",
    "expand_nominal",
    "lrtest",
    "set_backend",
    "get_backend",
    "GlppError",
    "SpecError",
    "DataError",
    "IdentificationError",
    "ConvergenceWarning",
    "IdentificationWarning",
]
__version__ = "0.1.0"
