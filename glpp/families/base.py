"""The family protocol: what a response distribution declares about itself.

A :class:`Family` declares everything family-specific, so that no code outside
this package asks which family it has: its links, its auxiliary parameters,
its conditional log-density, its support check, a start for the linear
predictor and a safe response for masked rows. A new family is one
:class:`Family` registered with :func:`register` (see
:mod:`glpp.families.builtin` and :mod:`glpp.families.ordinal`).

Auxiliary parameters come in two forms:

- :class:`AuxParameter`: one positive parameter on the log scale (per item of a
  wide model): ``sigma``, ``shape``, ``size``. With ``dispersion="~ z"`` its
  log becomes a regression on ``z`` (:attr:`Family.dispersion_regression` names it).
- :class:`Cutpoints`: ordered parameters whose number comes from the data,
  ``K - 1`` per response set (item) with ``K`` observed categories, e.g. the
  thresholds ``tau`` of a cumulative-link model. Their unconstrained scale is
  the first one and the log increments (:mod:`glpp.params`); the family
  declares their start and prior, and receives each row's lower and upper
  threshold in :meth:`Family.logp` (``thresholds=``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from pytensor.tensor import TensorVariable

from glpp.errors import DataError, SpecError
from glpp.families.links import LINK_ALIASES, LINKS, Link

__all__ = [
    "AuxParameter",
    "Cutpoints",
    "Family",
    "FAMILIES",
    "register",
    "get_family",
    "resolve_family_link",
    "validate_response",
]


@dataclass(frozen=True)
class AuxParameter:
    """A family's auxiliary parameter, estimated on the log scale.

    One per family (or one per item of a wide measurement model).

    Attributes
    ----------
    name : str
        Its name in every output: ``"sigma"``, ``"shape"``, ``"size"``.
    start : callable
        ``response_scale -> value`` on the natural scale; ``response_scale``
        is :meth:`Family.eta_scale` of the model's responses (1 where the
        family has none).
    prior : callable
        ``(pm, response_scale) -> unregistered PyMC distribution`` (``.dist()``),
        the default prior on the natural scale; ``pm`` is the ``pymc``
        module, passed in so that this package does not import PyMC.
    is_residual_sd : bool
        The parameter is the level-1 residual SD (reported with the
        variance components, as lme4 prints ``Residual``).
    """

    name: str
    start: Callable[[float], float]
    prior: Callable[[object, float], TensorVariable]
    is_residual_sd: bool = False


@dataclass(frozen=True)
class Cutpoints:
    """Ordered auxiliary parameters whose count comes from the data: ``K - 1`` per response set.

    The responses of a set are coded by their sorted observed categories
    ``c_0 < ... < c_{K-1}``; category ``k`` of a row lies between thresholds
    ``k - 1`` and ``k`` (none below the first category, none above the last).

    Attributes
    ----------
    prefix : str
        Name of the parameters in every output: ``tau[1|2]``, ``tau[q1,1|2]``.
    start : callable
        ``(link, codes, n_categories) -> ndarray`` of ``K - 1`` increasing start values.
    prior_sd : float
        Default prior: ``Normal(0, prior_sd)`` on each, ordered.
    """

    prefix: str
    start: Callable[[Link, np.ndarray, int], np.ndarray]
    prior_sd: float = 5.0


@dataclass(frozen=True)
class Family:
    """A response distribution given its linear predictor.

    Attributes
    ----------
    name : str
    default_link : str
        The canonical (or customary) link.
    links : tuple of str
        Links allowed with this family.
    aux : AuxParameter or None
        The auxiliary (dispersion) parameter, ``None`` if the family has none.
    log_density : callable
        ``(y, eta, link, log_aux, trials) -> log f(y | eta)`` element-wise (pytensor).
    support_problem : callable
        ``(y, trials) -> message or None``: why ``y`` is outside the support.
    safe_response : float
        A response inside the support, used on masked rows of other families.
    uses_trials : bool
        Responses are counts of successes out of trials (``cbind(s, f)``).
    mean_bounds : (float, float)
        The response mean is clipped to these bounds for the intercept's start.
    has_response_scale : bool
        The linear predictor is on the responses' scale (gaussian): start
        values and default priors scale with the responses' SD.
    cutpoints : Cutpoints or None
        Ordered parameters with a count from the data (ordinal thresholds);
        :meth:`logp` then receives each row's thresholds.
    dispersion_regression : str or None
        What ``dispersion="~ z"`` models on the log scale (``"sigma"``,
        ``"shape"``, ``"size"``, ``"scale"``); ``None``: the family has no
        dispersion to model (binomial, poisson). With an :attr:`aux` parameter
        the regression has an intercept that replaces it; without one (the
        ordinal scale, 1 at ``z = 0``) it has none.
    intercept : bool
        The linear predictor has an intercept (``False`` where the
        thresholds take its place).
    couples_rows : bool
        A row's log-density depends on other rows' linear predictors (the
        rows of a choice set, :mod:`glpp.families.choice`): its Hessian in
        ``eta`` is not diagonal.
    latent_response : bool
        Responses are a latent response ``eta + e`` crossing thresholds (binary,
        ordinal): the link's :attr:`~glpp.families.links.Link.error_variance` is the
        level-1 variance on that scale (:meth:`latent_residual_variance`).
    """

    name: str
    default_link: str
    links: tuple[str, ...]
    aux: AuxParameter | None
    log_density: Callable[..., TensorVariable]
    support_problem: Callable[[np.ndarray, np.ndarray | None], str | None]
    safe_response: float = 0.0
    uses_trials: bool = False
    mean_bounds: tuple[float, float] = (1e-3, np.inf)
    has_response_scale: bool = False
    cutpoints: Cutpoints | None = None
    dispersion_regression: str | None = None
    intercept: bool = True
    couples_rows: bool = False
    latent_response: bool = False

    @property
    def dispersion(self) -> str | None:
        """Name of the auxiliary parameter, ``None`` without one."""
        return None if self.aux is None else self.aux.name

    def logp(
        self,
        y: TensorVariable,
        eta: TensorVariable,
        link: Link,
        log_aux: TensorVariable | None = None,
        trials: TensorVariable | None = None,
        thresholds: tuple[TensorVariable, ...] | None = None,
    ) -> TensorVariable:
        """Element-wise conditional log-density of ``y`` given ``eta``.

        Parameters
        ----------
        y : tensor
            Responses (successes for binomial), broadcastable with ``eta``.
        eta : tensor
            Linear predictor.
        link : Link
        log_aux : tensor, optional
            Log of the auxiliary parameter (log sigma, log shape, log size).
        trials : tensor, optional
            Binomial number of trials (1 for Bernoulli responses).
        thresholds : tuple of tensors, optional
            Families with :attr:`cutpoints`: each row's ``(lower, upper,
            has_lower, has_upper)`` thresholds (the flags are boolean; a
            missing threshold's value is any finite number).
        """
        if self.cutpoints is not None:
            return self.log_density(y, eta, link, log_aux, trials, thresholds)
        return self.log_density(y, eta, link, log_aux, trials)

    def validate(self, y: np.ndarray, trials: np.ndarray | None) -> str | None:
        """Return a message if ``y`` is outside the family's support."""
        return self.support_problem(y, trials)

    def start_eta(self, link: Link, y: np.ndarray, trials: np.ndarray | None) -> float:
        """A start for the intercept: the link of the responses' (clipped) mean."""
        proportion = y / (trials if trials is not None else 1.0)
        mean = float(np.clip(np.mean(proportion), *self.mean_bounds))
        with np.errstate(all="ignore"):
            value = float(link.forward(np.array(mean)))
        return value if np.isfinite(value) else 0.0

    def eta_scale(self, y: np.ndarray) -> float | None:
        """The responses' SD where the linear predictor is on their scale, else ``None``."""
        if not self.has_response_scale:
            return None
        return float(np.std(y)) or 1.0

    def latent_residual_variance(self, link: Link, aux: float | None) -> float | None:
        """The level-1 variance on the latent-response scale (for ICCs), ``None`` where there is none.

        Gaussian responses with identity link: ``aux**2`` (the residual SD squared); a latent
        response (:attr:`latent_response`): the link's error variance; counts and gamma
        responses have no such scale.
        """
        if self.is_linear_gaussian(link):
            return None if aux is None else aux**2
        return link.error_variance if self.latent_response else None

    def is_linear_gaussian(self, link: Link) -> bool:
        """Normal responses with identity link: latents integrate out exactly."""
        return self.has_response_scale and link.name == "identity"


FAMILIES: dict[str, Family] = {}
_FAMILY_ALIASES: dict[str, str] = {}


def register(family: Family, aliases: tuple[str, ...] = ()) -> Family:
    """Make ``family`` available by its name and ``aliases`` (case-insensitive)."""
    FAMILIES[family.name] = family
    for alias in aliases:
        _FAMILY_ALIASES[alias.lower()] = family.name
    return family


def get_family(name: str) -> Family:
    """Look up a family by name (case-insensitive; aliases allowed)."""
    key = name.lower()
    key = _FAMILY_ALIASES.get(key, key)
    if key not in FAMILIES:
        raise SpecError(f"unknown family {name!r}; choose one of {sorted(FAMILIES)}")
    return FAMILIES[key]


def resolve_family_link(family: str, link: str | None) -> tuple[Family, Link]:
    """Validate a family/link pair; ``link=None`` gives the family's default.

    Raises
    ------
    SpecError
        Unknown family or link, or a link that does not map onto the
        family's mean space.
    """
    resolved_family = get_family(family)
    if link is None:
        return resolved_family, LINKS[resolved_family.default_link]
    link_name = LINK_ALIASES.get(link.lower(), link.lower())
    if link_name not in LINKS:
        raise SpecError(f"unknown link {link!r}; choose one of {sorted(LINKS)}")
    if link_name not in resolved_family.links:
        raise SpecError(
            f"link {link!r} is not available for family {resolved_family.name!r}; "
            f"use one of {list(resolved_family.links)}"
        )
    return resolved_family, LINKS[link_name]


def validate_response(family: Family, y: np.ndarray, trials: np.ndarray | None, label: str) -> None:
    """Raise :class:`DataError` if ``y`` is outside the family's support."""
    message = family.validate(y, trials)
    if message is not None:
        raise DataError(f"response {label!r} does not fit family {family.name!r}: {message}")
