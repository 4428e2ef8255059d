"""Response families and link functions: one pytensor definition of each.

Every likelihood in glpp (ML by quadrature, MAP, full-latent and marginal
PyMC models) evaluates the conditional log-density of a response through
:meth:`Family.logp`, so each family and each link is written once, here.
A family declares everything family-specific (:mod:`glpp.families.base`);
no code outside this package asks which family it has.
"""

from glpp.families import builtin, choice, ordinal  # noqa: F401 - registers the built-in families
from glpp.families.base import (
    FAMILIES,
    AuxParameter,
    Cutpoints,
    Family,
    get_family,
    register,
    resolve_family_link,
    validate_response,
)
from glpp.families.links import LINKS, Link, log_ndtr
from glpp.families.mixed import MixedFamily, mixed_family
from glpp.families.resolve import FamilyChoice, resolve_families

__all__ = [
    "AuxParameter",
    "Cutpoints",
    "Family",
    "FAMILIES",
    "FamilyChoice",
    "Link",
    "LINKS",
    "MixedFamily",
    "get_family",
    "log_ndtr",
    "mixed_family",
    "register",
    "resolve_families",
    "resolve_family_link",
    "validate_response",
]
