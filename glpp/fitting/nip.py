"""The one ``nip="auto"`` schedule: which numbers of quadrature points a fit tries, and when it stops.

Every quadrature engine (one latent level, or several) follows the same
schedule, with points counted per latent level (lowest first; one level for
a two-level model):

1. fit at the first rule: the Laplace approximation (one adaptive point per
   dimension), a cheap warm start (estimate and BFGS's inverse Hessian);
2. stop there if Laplace is exact (gaussian responses, identity link) or if
   raising every level to the next number of its sequence changes the
   log-likelihood at the estimate by less than :data:`AUTO_TOLERANCE`;
   otherwise fit there;
3. evaluate the log-likelihood at the estimate with each level's points
   raised in turn to the next number of its sequence; raise the levels where
   it changes by :data:`AUTO_TOLERANCE` or more and refit; stop when no level
   changes it. A fit with every level at the end of its sequence stops with a
   warning that the quadrature may be inaccurate.

For one latent level step 3 is the classic "increase the points until the
log-likelihood settles". A fixed ``nip`` fits at the Laplace rule first (as a
warm start, when adaptive) and then at ``nip``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from glpp.errors import SpecError

__all__ = [
    "AUTO_TOLERANCE",
    "LOGLIK_AT_NIP",
    "NipSchedule",
    "ScheduleOutcome",
    "auto_sequence",
    "make_schedule",
    "run_schedule",
]


#: ``nip="auto"`` stops when raising the points changes the log-likelihood at the estimate by less
AUTO_TOLERANCE = 1e-4
#: points per dimension (and latent level) of ``Model.loglik_at(nip="auto")`` without a closed
#: form or an exact Laplace approximation. The toenail data at lme4's estimate (a hard case:
#: large variance, binary responses): 15 points err by 0.18, 30 by 4e-4, 45 by 7e-5; the
#: Guatemalan immunisation data (three levels) at its estimate: 15 points per level err by 2e-5
LOGLIK_AT_NIP = 30

#: points per dimension tried for one latent level, by number of latents (product rule). Fine
#: steps: one latent's rules are cheap, and the fit stops at the first that settles
ONE_LATENT_SEQUENCE: tuple[int, ...] = (1, 7, 11, 15, 21, 31, 45, 63, 91, 127)
TWO_LATENT_SEQUENCE: tuple[int, ...] = (1, 5, 7, 9, 11, 15, 21, 31)
#: product rule with three or more latents
PRODUCT_SEQUENCE: tuple[int, ...] = (1, 3, 5, 7)
#: sparse-grid levels (the default rule for three or more latents)
SPARSE_LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
#: points per dimension tried at each level of a model with two or more latent levels. Coarse
#: steps: the error of the lowest level's rule alternates in sign as points are added (guImmun
#: at its estimate: 7 -0.31, 11 +0.027, 15 +0.0019, 21 -0.0002, 31 +0.00001), so close
#: neighbours can agree by chance; each step roughly doubles the points
LEVEL_SEQUENCE: tuple[int, ...] = (1, 7, 15, 31, 51)


def auto_sequence(n_latents: int, kind: str, n_levels: int) -> tuple[int, ...]:
    """The numbers of points ``nip="auto"`` may use at a latent level with ``n_latents`` latents.

    ``kind`` is the level's rule (``"product"`` or ``"sparse"``, whose numbers
    are sparse-grid levels); ``n_levels`` the model's number of latent levels.
    """
    if n_levels > 1:
        return LEVEL_SEQUENCE
    if kind == "sparse":
        return SPARSE_LEVELS
    return {1: ONE_LATENT_SEQUENCE, 2: TWO_LATENT_SEQUENCE}.get(n_latents, PRODUCT_SEQUENCE)


@dataclass(frozen=True)
class NipSchedule:
    """The numbers of quadrature points a fit uses, per latent level (lowest first).

    Attributes
    ----------
    first : tuple of int
        Points of the first fit (the Laplace rule when adaptive).
    target : tuple of int or None
        A fixed ``nip``; ``None`` for ``nip="auto"``.
    sequences : tuple of tuple of int
        Per level, the numbers ``"auto"`` may use, in order.
    laplace_exact : bool
        The first rule is exact (adaptive, gaussian responses with identity link): ``"auto"`` stops there.
    """

    first: tuple[int, ...]
    target: tuple[int, ...] | None
    sequences: tuple[tuple[int, ...], ...]
    laplace_exact: bool = False

    @property
    def auto(self) -> bool:
        return self.target is None

    @property
    def evaluation_points(self) -> tuple[int, ...]:
        """The points of a single evaluation: the target, or for ``"auto"`` Laplace if it is exact,
        else :data:`LOGLIK_AT_NIP` per level."""
        if self.target is not None:
            return self.target
        return self.first if self.laplace_exact else (LOGLIK_AT_NIP,) * len(self.first)

    def raised(self, points: tuple[int, ...], levels: list[int] | range) -> tuple[int, ...] | None:
        """``points`` with each of ``levels`` raised to the next number of its sequence
        (``None`` if none of them has a next one)."""
        new = list(points)
        for level in levels:
            larger = [p for p in self.sequences[level] if p > points[level]]
            if larger:
                new[level] = larger[0]
        return tuple(new) if tuple(new) != points else None


def _as_points(nip, n_levels: int) -> tuple[int, ...]:
    """``nip`` (one positive integer, or one per latent level) as a tuple per level."""
    if isinstance(nip, (int, np.integer)) and not isinstance(nip, bool):
        points = (int(nip),) * n_levels
    elif (
        isinstance(nip, tuple)
        and n_levels > 1
        and all(isinstance(p, (int, np.integer)) for p in nip)
    ):
        points = tuple(int(p) for p in nip)
    else:
        points = ()
    if len(points) != n_levels or any(p < 1 for p in points):
        if n_levels == 1:
            raise SpecError(f"nip must be 'auto' or a positive integer, not {nip!r}")
        raise SpecError(
            f"nip must be 'auto', a positive integer or {n_levels} positive integers "
            f"(one per latent level, lowest first), not {nip!r}"
        )
    return points


def make_schedule(
    nip: int | tuple[int, ...] | str,
    level_sizes: tuple[int, ...],
    kinds: tuple[str, ...],
    *,
    adaptive: bool,
    laplace_exact: bool,
) -> NipSchedule:
    """The schedule of ``nip`` for latent levels of ``level_sizes`` latents with rules ``kinds``.

    ``laplace_exact``: one adaptive point is exact for this model's responses.
    """
    n_levels = len(level_sizes)
    sequences = tuple(auto_sequence(d, kind, n_levels) for d, kind in zip(level_sizes, kinds))
    laplace = tuple(sequence[0] for sequence in sequences)
    if nip == "auto":
        return NipSchedule(laplace, None, sequences, laplace_exact and adaptive)
    target = _as_points(nip, n_levels)
    return NipSchedule(laplace if adaptive else target, target, sequences)


def path_key(points: tuple[int, ...]) -> int | tuple[int, ...]:
    """The key of ``MLResult.nip_path``: the number for one latent level, else the tuple."""
    return points[0] if len(points) == 1 else points


@dataclass(frozen=True)
class ScheduleOutcome:
    """What :func:`run_schedule` ends with.

    Attributes
    ----------
    result : object
        The last fit (``fit_at``'s result, with ``.loglik``).
    points : tuple of int
        Its points per level.
    settled : bool
        ``nip="auto"`` stopped because more points no longer change the
        log-likelihood at the estimate (always ``True`` for a fixed ``nip``).
    quadrature_error : float or None
        The largest change of the log-likelihood *at the estimate* (same
        parameters) between the final rule and the rules tried beside it:
        each level raised to its next number, or at the end of the
        sequences the previous rule. ``None`` where none was evaluated (a
        fixed ``nip``, an exact Laplace approximation).
    previous : object or None
        The fit before the last, when the schedule ended without settling
        (its estimate shows which parameters the last refit still moved).
    """

    result: object
    points: tuple[int, ...]
    settled: bool = True
    quadrature_error: float | None = None
    previous: object | None = None


def run_schedule(
    schedule: NipSchedule,
    fit_at: Callable[[tuple[int, ...]], object],
    loglik_at: Callable[[tuple[int, ...]], float],
) -> ScheduleOutcome:
    """Run ``schedule`` and say how it ended.

    ``fit_at(points)`` fits at ``points`` (warm-started from the previous fit);
    ``loglik_at(points)`` is the log-likelihood at the current estimate with
    ``points`` (and leaves the objective at the fit's points). A ``"auto"``
    schedule that reaches the end of every level's sequence without settling
    returns ``settled=False``: the caller warns (it knows the parameters' names).
    """
    points = schedule.first
    result = fit_at(points)
    if not schedule.auto:
        if schedule.target != points:
            return ScheduleOutcome(fit_at(schedule.target), schedule.target)
        return ScheduleOutcome(result, points)
    if schedule.laplace_exact:
        return ScheduleOutcome(result, points)
    every_level = range(len(points))
    start = schedule.raised(points, every_level)
    if start is None:
        return ScheduleOutcome(result, points)
    change = abs(loglik_at(start) - result.loglik)
    if change < AUTO_TOLERANCE:
        return ScheduleOutcome(result, points, quadrature_error=change)
    previous_points, previous = points, result
    points, result = start, fit_at(start)
    while True:
        changes = {
            level: abs(loglik_at(trial) - result.loglik)
            for level in every_level
            if (trial := schedule.raised(points, [level])) is not None
        }
        unsettled = [level for level, value in changes.items() if value >= AUTO_TOLERANCE]
        if not unsettled:
            return ScheduleOutcome(result, points, quadrature_error=max(changes.values()))
        previous_points, previous = points, result
        points = schedule.raised(points, unsettled)
        result = fit_at(points)
        if schedule.raised(points, every_level) is None:
            # the last rule: compare with the previous rule at the same (final) estimate
            change = abs(loglik_at(previous_points) - result.loglik)
            settled = change < AUTO_TOLERANCE
            return ScheduleOutcome(result, points, settled, change, None if settled else previous)
