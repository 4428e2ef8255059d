"""The one nip="auto" schedule (glpp.fitting.nip), with stand-in fits: no likelihood is compiled."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest

import glpp
from glpp.fitting.nip import (
    AUTO_TOLERANCE,
    LEVEL_SEQUENCE,
    ONE_LATENT_SEQUENCE,
    make_schedule,
    run_schedule,
)


def run(schedule, truth):
    """Run ``schedule`` where the log-likelihood with ``points`` is ``truth(points)``; the fits and evaluations made."""
    fits, evaluations = [], []

    def fit_at(points):
        fits.append(points)
        return SimpleNamespace(loglik=truth(points))

    def loglik_at(points):
        evaluations.append(points)
        return truth(points)

    outcome = run_schedule(schedule, fit_at, loglik_at)
    assert outcome.result.loglik == truth(outcome.points)
    run.outcome = outcome
    return outcome.points, fits, evaluations


def settles_at(n_points):
    """A quadrature error that vanishes from ``n_points`` points on (per level)."""
    return lambda points: -100.0 - sum(0.0 if p >= n else 1.0 / p for p, n in zip(points, n_points))


def test_one_level_increases_points_until_the_next_number_agrees():
    schedule = make_schedule("auto", (1,), ("product",), adaptive=True, laplace_exact=False)
    points, fits, evaluations = run(schedule, settles_at((21,)))
    # the fit at 21 points agrees with the value at 31: 21 is reported
    assert points == (21,)
    assert fits == [(1,), (7,), (11,), (15,), (21,)]
    assert evaluations == [(7,), (11,), (15,), (21,), (31,)]


def test_laplace_that_settles_is_kept():
    schedule = make_schedule("auto", (1,), ("product",), adaptive=True, laplace_exact=False)
    assert run(schedule, lambda points: -10.0)[:2] == ((1,), [(1,)])


def test_exact_laplace_stops_without_trying_more_points():
    schedule = make_schedule(
        "auto", (1, 1), ("product", "product"), adaptive=True, laplace_exact=True
    )
    assert run(schedule, settles_at((99, 99))) == ((1, 1), [(1, 1)], [])


def test_levels_are_raised_separately():
    # the lowest level needs 31 points, the top level 7
    schedule = make_schedule(
        "auto", (1, 1), ("product", "product"), adaptive=True, laplace_exact=False
    )
    points, fits, _ = run(schedule, settles_at((31, 7)))
    assert points == (31, 7)
    assert fits == [(1, 1), (7, 7), (15, 7), (31, 7)]


def test_a_fixed_nip_fits_laplace_first_when_adaptive():
    assert run(
        make_schedule(15, (1,), ("product",), adaptive=True, laplace_exact=False), settles_at((1,))
    )[1] == [(1,), (15,)]
    assert run(
        make_schedule(15, (1,), ("product",), adaptive=False, laplace_exact=False), settles_at((1,))
    )[1] == [(15,)]
    assert run(
        make_schedule((31, 7), (1, 1), ("product",) * 2, adaptive=True, laplace_exact=False),
        settles_at((1, 1)),
    )[0] == (31, 7)


def test_unsettled_at_the_largest_rule_is_reported_with_its_error_at_the_estimate():
    schedule = make_schedule("auto", (1,), ("product",), adaptive=True, laplace_exact=False)
    points, _, evaluations = run(schedule, settles_at((1000,)))
    assert points == (ONE_LATENT_SEQUENCE[-1],)
    outcome = run.outcome
    assert not outcome.settled
    # the last rule compared with the previous one at the same estimate
    assert evaluations[-1] == (ONE_LATENT_SEQUENCE[-2],)
    assert outcome.quadrature_error == pytest.approx(1 / 91 - 1 / 127)
    assert outcome.previous is not None


def test_settled_fits_report_the_quadrature_error_at_the_estimate():
    schedule = make_schedule("auto", (1,), ("product",), adaptive=True, laplace_exact=False)
    run(schedule, settles_at((21,)))
    assert run.outcome.settled and run.outcome.quadrature_error == 0.0
    run(make_schedule(15, (1,), ("product",), adaptive=True, laplace_exact=False), settles_at((1,)))
    assert run.outcome.settled and run.outcome.quadrature_error is None


def test_one_tolerance_and_sequences_per_level():
    assert AUTO_TOLERANCE == 1e-4
    schedule = make_schedule(
        "auto", (2, 1, 1), ("product",) * 3, adaptive=True, laplace_exact=False
    )
    assert schedule.sequences == (LEVEL_SEQUENCE,) * 3
    assert (
        make_schedule("auto", (3,), ("sparse",), adaptive=True, laplace_exact=False).sequences[0][
            -1
        ]
        == 7
    )


@pytest.mark.parametrize("nip", [0, -3, "many", 2.5, (7, 7)])
def test_bad_nip_of_one_level_is_a_spec_error(nip):
    with pytest.raises(glpp.SpecError, match="nip must be 'auto' or a positive integer"):
        make_schedule(nip, (1,), ("product",), adaptive=True, laplace_exact=False)


def test_bad_nip_of_several_levels_is_a_spec_error():
    with pytest.raises(glpp.SpecError, match="one per latent level"):
        make_schedule((7, 7, 7), (1, 1), ("product",) * 2, adaptive=True, laplace_exact=False)


def test_loglik_at_auto_uses_one_number():
    from glpp.fitting.nip import LOGLIK_AT_NIP

    assert make_schedule(
        "auto", (1,), ("product",), adaptive=True, laplace_exact=False
    ).evaluation_points == (LOGLIK_AT_NIP,)
    assert (
        make_schedule(
            "auto", (1, 1), ("product",) * 2, adaptive=True, laplace_exact=False
        ).evaluation_points
        == (LOGLIK_AT_NIP,) * 2
    )
    assert make_schedule(
        "auto", (1, 1), ("product",) * 2, adaptive=True, laplace_exact=True
    ).evaluation_points == (1, 1)


def test_no_warning_when_settled():
    schedule = make_schedule("auto", (1,), ("product",), adaptive=True, laplace_exact=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(schedule, settles_at((45,)))
