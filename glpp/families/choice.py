"""Choice families: multinomial logit over choice sets, and rankings (exploded logit).

Both work on **expanded** data (gllamm's ``expanded()``): each row is one
alternative of one choice set, and ``y_r = 1`` marks the chosen alternative. A
row's log-density is

    y_r * eta_r - [r is the first row of its set] * log sum_{s in set(r)} exp(eta_s),

so a set's rows sum to the log-probability of its choice. The rows of a set are
contiguous (the design sorts them so, and every engine's reordering of rows
by cluster is stable and keeps them so), and each set's first row carries a 1
in the per-row input ``set_start``. The log-sum-exp over a set gathers the
linear predictors into a padded ``(sets, widest set, ...)`` array, so any
trailing axes (quadrature nodes, contexts) broadcast through and there is no
Python loop over sets or clusters.

The families differ only in how a data set becomes choice sets
(:attr:`ChoiceFamily.expand_sets`):

- ``multinomial``: the data are choice sets already; the response is 0/1
  with exactly one 1 per set;
- ``ranking``: the response is each alternative's rank within its set (1 for
  the first choice, 2, ..., 0 for unranked alternatives of a partial ranking);
  a ranking of ``k`` alternatives becomes ``k - 1`` successive choices (only
  ``m`` choices when the top ``m`` are ranked), each among the alternatives
  not yet ranked.

The density couples the rows of a set, so its Hessian in ``eta`` is not
diagonal: :attr:`Family.couples_rows` tells the likelihood graphs to form
curvatures from Hessian-vector products (:mod:`glpp.likelihood.predictor`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import zero_grad

from glpp.errors import DataError
from glpp.families.base import Family, register

__all__ = ["ChoiceFamily", "MULTINOMIAL", "RANKING", "set_log_normaliser"]

#: value of padding entries of the gathered sets: exp() of it minus any realistic maximum is 0
#: (and it fits a float32, so pytensor types the constant without an overflow warning)
_PAD = -1e30


def set_log_normaliser(eta: pt.TensorVariable, set_start: pt.TensorVariable) -> pt.TensorVariable:
    """``log sum exp(eta)`` over each set's rows, broadcast to every row of the set.

    Parameters
    ----------
    eta : tensor, shape (N, ...)
        Rows on the first axis, sets contiguous.
    set_start : tensor of int, shape (N,)
        1 on the first row of each set, else 0.

    Returns
    -------
    tensor, shape (N, ...)
    """
    n_rows = eta.shape[0]
    starts = pt.nonzero(set_start)[0]
    sizes = pt.concatenate([starts[1:], pt.stack([n_rows])]) - starts
    offsets = pt.arange(pt.max(sizes))
    index = pt.minimum(starts[:, None] + offsets[None, :], n_rows - 1)
    inside = pt.shape_padright(offsets[None, :] < sizes[:, None], eta.ndim - 1)
    padded = pt.switch(inside, eta[index], _PAD)
    # the maximum only steadies the exponentials: the value does not depend on it
    peak = zero_grad(pt.max(padded, axis=1))
    normaliser = peak + pt.log(pt.sum(pt.exp(padded - peak[:, None]), axis=1))
    return normaliser[pt.cumsum(set_start) - 1]


def _choice_logp(y, eta, link, log_aux, trials, set_start):
    first = pt.shape_padright(set_start, eta.ndim - 1)
    return y * eta - pt.switch(pt.eq(first, 1), set_log_normaliser(eta, set_start), 0.0)


def _chosen_problem(y, trials):
    if np.any((y != 0) & (y != 1)):
        return "the chosen alternative of each choice set is coded 1, the others 0"
    return None


@dataclass(frozen=True)
class ChoiceFamily(Family):
    """A family of choices among the alternatives of a set (rows of expanded data).

    Attributes
    ----------
    expand_sets : callable
        ``(response, set_codes, label) -> (rows, chosen, set_number)``: which
        data row appears in which choice set (rows sorted by set), whether it
        is the chosen alternative there, and the set's number; raises
        :class:`DataError` naming ``label`` for data that are not choices.
    """

    expand_sets: Callable[[np.ndarray, np.ndarray, str], tuple[np.ndarray, ...]] = field(default=None)

    def logp(self, y, eta, link, log_aux=None, trials=None, set_start=None):
        """Row log-densities; ``set_start`` (N,) marks each set's first row."""
        if set_start is None:
            raise ValueError(f"family {self.name!r} needs each row's choice set (set_start)")
        return _choice_logp(y, eta, link, log_aux, trials, set_start)


def _set_numbers(set_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's set (0..S-1, in order of first appearance) and the number of sets."""
    _, first, inverse = np.unique(set_codes, return_index=True, return_inverse=True)
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse.ravel()], first.size


def _first_offending(set_codes: np.ndarray, bad_sets: np.ndarray, numbers: np.ndarray):
    """The code of the first set (in data order) flagged in ``bad_sets``."""
    code = set_codes[np.flatnonzero(bad_sets[numbers])[0]]
    return code.item() if isinstance(code, np.generic) else code


def expand_choices(response: np.ndarray, set_codes: np.ndarray, label: str) -> tuple[np.ndarray, ...]:
    """Choice sets as given: each set needs two or more alternatives and exactly one chosen."""
    problem = _chosen_problem(response, None)
    if problem is not None:
        raise DataError(f"response {label!r}: {problem}")
    numbers, n_sets = _set_numbers(set_codes)
    sizes = np.bincount(numbers, minlength=n_sets)
    chosen = np.bincount(numbers, weights=response, minlength=n_sets)
    if np.all(sizes < 2):
        raise DataError(f"response {label!r} has a single category (every choice set has one alternative)")
    for bad, what in ((sizes < 2, "a single alternative"), (chosen != 1, "no or several chosen alternatives")):
        if np.any(bad):
            code = _first_offending(set_codes, bad, numbers)
            raise DataError(
                f"response {label!r}: choice set {code!r} has {what}; each set needs two or more "
                f"alternatives (rows) with exactly one coded 1"
            )
    rows = np.argsort(numbers, kind="stable")
    return rows, response[rows].astype(float), numbers[rows]


def expand_rankings(response: np.ndarray, set_codes: np.ndarray, label: str) -> tuple[np.ndarray, ...]:
    """A ranking as successive choices: stage ``t`` chooses rank ``t`` among those not yet ranked."""
    if np.any((response < 0) | (response != np.round(response))):
        raise DataError(f"response {label!r}: ranks must be 1, 2, ... (0 for unranked alternatives)")
    numbers, n_sets = _set_numbers(set_codes)
    ranked = response > 0
    sizes = np.bincount(numbers, minlength=n_sets)
    n_ranked = np.bincount(numbers, weights=ranked, minlength=n_sets).astype(int)
    order = np.lexsort((response, numbers))
    same = (numbers[order][1:] == numbers[order][:-1]) & (response[order][1:] == response[order][:-1])
    tied = np.zeros(n_sets, dtype=bool)
    tied[numbers[order][1:][same & ranked[order][1:]]] = True
    top = np.zeros(n_sets)
    np.maximum.at(top, numbers, response)
    checks = (
        (tied, "ties (two alternatives with the same rank); ties are not allowed"),
        (top != n_ranked, "ranks that are not 1, 2, ..., m without gaps"),
        (n_ranked == 0, "no ranked alternative"),
        (sizes < 2, "a single alternative"),
    )
    for bad, what in checks:
        if np.any(bad):
            code = _first_offending(set_codes, bad, numbers)
            raise DataError(f"response {label!r}: ranking {code!r} has {what}")
    stages = np.minimum(n_ranked, sizes - 1)[numbers]
    repeats = np.where(ranked, np.minimum(response, stages), stages).astype(int)
    rows = np.repeat(np.arange(response.size), repeats)
    stage = np.arange(rows.size) - np.repeat(np.cumsum(repeats) - repeats, repeats) + 1
    key = numbers[rows] * (int(stages.max()) + 1) + stage
    order = np.argsort(key, kind="stable")
    rows, stage, key = rows[order], stage[order], key[order]
    _, set_number = np.unique(key, return_inverse=True)
    return rows, (response[rows] == stage).astype(float), set_number.ravel()


def _choice_family(name: str, expand) -> ChoiceFamily:
    return ChoiceFamily(
        name,
        "logit",
        ("logit",),
        None,
        None,
        _chosen_problem,
        mean_bounds=(0.02, 0.98),
        couples_rows=True,
        expand_sets=expand,
    )


MULTINOMIAL = register(_choice_family("multinomial", expand_choices), aliases=("mlogit", "nominal"))
RANKING = register(_choice_family("ranking", expand_rankings), aliases=("exploded_logit", "rank"))
