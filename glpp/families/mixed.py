"""Several response families in one model: each row (item) has its own."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytensor.tensor as pt

from glpp.families.base import Family
from glpp.families.links import LINKS, Link
from glpp.errors import SpecError
from glpp.families.base import resolve_family_link

__all__ = ["MixedFamily", "mixed_family"]


@dataclass(frozen=True)
class MixedFamily:
    """Several response families in one model: each row has its own.

    The conditional log-density of a row is that of its own family and link;
    rows of other families are evaluated at a harmless value inside each
    family's support and masked out, so no family sees data outside its
    domain (and gradients stay finite).

    Attributes
    ----------
    components : tuple of (Family, Link)
        In the order of ``Design.family_index``.
    name : str
        ``mixed(family/link, ...)``: the components (what compiled graphs depend on).
    column : str or None
        The data column naming each row's family (or link), for a family per row.
    """

    components: tuple[tuple[Family, Link], ...]
    name: str = "mixed"
    column: str | None = None
    aux = None
    dispersion = None
    couples_rows = False

    @property
    def uses_trials(self) -> bool:
        """Some component counts successes out of trials (binomial)."""
        return any(family.uses_trials for family, _ in self.components)

    @property
    def has_response_scale(self) -> bool:
        """Some component's linear predictor is on its responses' scale (gaussian)."""
        return any(family.has_response_scale for family, _ in self.components)

    def latent_residual_variance(self, link: Link, aux: float | None) -> None:
        """Responses of several families share no level-1 scale: ``None``."""
        return None

    def aux_family(self, family_index: np.ndarray, dispersion_index: np.ndarray, position: int) -> Family:
        """The component family whose auxiliary parameter is dispersion parameter ``position``
        (``family_index`` and ``dispersion_index``: the design's rows)."""
        for component in np.unique(family_index[dispersion_index == position]):
            family = self.components[int(component)][0]
            if family.aux is not None:
                return family
        raise ValueError(f"no component has dispersion parameter {position}")

    def response_rows(self, family_index: np.ndarray) -> np.ndarray:
        """Rows whose family has a response scale (gaussian): where response SDs are meaningful."""
        scaled = [k for k, (family, _) in enumerate(self.components) if family.has_response_scale]
        return np.isin(family_index, scaled)

    def describe(self, family_index: np.ndarray) -> str:
        """Each component with its number of rows, e.g. ``binomial/probit: 500 rows, gaussian/identity: 500 rows``."""
        counts = np.bincount(family_index, minlength=len(self.components))
        parts = [f"{family.name}/{link.name}: {count} rows" for (family, link), count in zip(self.components, counts)]
        where = f"by column {self.column!r}: " if self.column else "by item: "
        return where + ", ".join(parts)

    def logp(
        self, y, eta, link, log_aux=None, trials=None, family_index=None, thresholds=None, regression=False
    ):
        """Element-wise log-density; ``family_index`` broadcasts with ``eta``; ``thresholds``
        (rows of components with cutpoints) as :meth:`Family.logp`. ``regression``: ``log_aux``
        is each row's value of a dispersion regression, meaningful for every component with a
        :attr:`Family.dispersion_regression` (else it is an :class:`AuxParameter` per item)."""
        total = pt.zeros_like(eta)
        for position, (family, component_link) in enumerate(self.components):
            mask = pt.eq(family_index, position)
            safe_y = pt.switch(mask, y, family.safe_response)
            safe_eta = pt.switch(mask, eta, component_link.safe_eta)
            safe_trials = None if trials is None else pt.switch(mask, trials, 1.0)
            modelled = family.dispersion_regression is not None if regression else family.aux is not None
            safe_aux = log_aux if modelled else None
            value = family.logp(safe_y, safe_eta, component_link, safe_aux, safe_trials, thresholds=thresholds)
            total = total + pt.switch(mask, value, 0.0)
        return total

    def start_eta(self, link: Link, y: np.ndarray, trials: np.ndarray | None) -> float:
        """A start for a common intercept: ``link`` (identity) of the mean of all rows."""
        proportion = y / (trials if trials is not None else 1.0)
        return float(link.forward(np.array(max(float(np.mean(proportion)), 1e-3))))

    def eta_scale(self, y: np.ndarray, family_index: np.ndarray) -> float | None:
        """The responses' SD over the rows of the first component with a response scale."""
        for position, (family, _) in enumerate(self.components):
            if family.has_response_scale:
                return family.eta_scale(y[family_index == position])
        return None

    def is_linear_gaussian(self, link: Link) -> bool:
        return all(family.is_linear_gaussian(member_link) for family, member_link in self.components)


def mixed_family(families: dict[str, str | tuple[str, str]]) -> tuple[MixedFamily, Link, dict[str, int]]:
    """A family (and link) per item: ``{"y1": "gaussian", "d": ("binomial", "probit")}``.

    Returns the mixed family, the identity link (each component has its own)
    and each item's component position.
    """
    components: list[tuple[Family, Link]] = []
    item_families: dict[str, int] = {}
    for item, value in families.items():
        name, link = (value, None) if isinstance(value, str) else value
        pair = resolve_family_link(name, link)
        if pair[0].couples_rows:
            raise SpecError(f"item {item!r}: family {name!r} is for choice data on long (expanded) data only")
        if pair not in components:
            components.append(pair)
        item_families[item] = components.index(pair)
    label = "mixed(" + ", ".join(f"{member.name}/{link.name}" for member, link in components) + ")"
    return MixedFamily(tuple(components), name=label), LINKS["identity"], item_families
