"""The library's models: each a model string on a data set of ``model_library/data/``, with the
R fit (or simulated truth) it reproduces.

Equations use ``i`` for the rows (occasions, items, pupils) and ``j``, ``k``, ... for the
clusters above them; ``u``, ``v`` are normal random effects, ``F`` factors.
"""


from __future__ import annotations

from model_library.catalogue import (
    choice, factor, glmm, irt, latent_class, mixed_response, multilevel, multilevel_factor, ordinal,
)
from model_library.entry import LibraryModel

__all__ = ["CATEGORIES", "MODELS"]

#: model type -> (short label for ``--list``, title of its documentation page)
CATEGORIES: dict[str, tuple[str, str]] = {
    "glmm": ("GLMM", "Generalized linear mixed models"),
    "multilevel": ("multilevel GLMM", "Three and more levels"),
    "ordinal": ("ordinal GLMM", "Ordinal responses"),
    "choice": ("choice", "Choices and rankings"),
    "irt": ("IRT", "Item response models"),
    "factor": ("factor / SEM", "Factor models and structural equations"),
    "multilevel_factor": ("multilevel factor", "Multilevel factor models"),
    "latent_class": ("latent class", "Latent classes"),
    "mixed_response": ("mixed responses", "Mixed response types"),
}

#: the model types in the order of ``--list`` and of the documentation
_MODULES = (
    glmm, multilevel, ordinal, choice, irt, factor, multilevel_factor, latent_class, mixed_response,
)

MODELS: dict[str, LibraryModel] = {model.name: model for module in _MODULES for model in module.ENTRIES}
