"""The convergence report of every ML fit: gradient, curvature, identification, quadrature, boundary.

:func:`check_convergence` looks at the estimate as lme4's ``checkConv`` does
(the largest gradient, the information's smallest eigenvalue), adds what a
quadrature fit needs (did ``nip="auto"`` settle, how large is the quadrature
error at the estimate) and separates variance components at the boundary
(an SD of zero is a legitimate maximum, not a failure: it is excluded from
the curvature checks and reported as such). Every problem found warns once
(:class:`~glpp.ConvergenceWarning` or :class:`~glpp.IdentificationWarning`)
and sets ``converged=False``; :class:`Convergence` keeps the numbers for
``MLResult.convergence`` and the summary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glpp.errors import ConvergenceWarning, IdentificationWarning, warn_user

__all__ = [
    "BOUNDARY_SD",
    "GRADIENT_TOLERANCE",
    "IDENTIFICATION_TOLERANCE",
    "WEAK_LOG_SE",
    "Convergence",
    "check_convergence",
]

#: largest |gradient| of the log-likelihood (on the optimised scale) at a converged estimate
GRADIENT_TOLERANCE = 1e-3
#: smallest eigenvalue of the information matrix scaled to unit diagonal (a correlation-like
#: matrix) below which the estimate is taken to be empirically under-identified. On the
#: reference fits (CFA, SEM, two-level factor models, GLMMs, Rasch) it is 0.06-0.6; a
#: two-level model whose path between levels duplicates the between loadings gives 3e-8
IDENTIFICATION_TOLERANCE = 1e-6
#: a latent SD (a diagonal element of a Cholesky factor) below this fraction of the response
#: scale (the residual SD of gaussian responses, else 1 on the link scale) is at the boundary
BOUNDARY_SD = 1e-3
#: a parameter estimated on the log scale (an SD, a dispersion) whose standard error there
#: exceeds this is not determined by the data: the likelihood is flat along a ridge (a factor
#: of e^10 either way). Identified fits have SEs of log SDs below 1 (toenail 0.07)
WEAK_LOG_SE = 10.0


@dataclass(frozen=True)
class Convergence:
    """How a fit ended.

    Attributes
    ----------
    max_gradient : float
        Largest |gradient| of the log-likelihood on the optimised scale
        (parameters at the boundary excluded).
    smallest_eigenvalue : float
        Smallest eigenvalue of the information (minus the Hessian) on the
        optimised scale, parameters at the boundary excluded.
    nip_settled : bool
        ``nip="auto"`` stopped because more points no longer changed the
        log-likelihood at the estimate (``True`` for a fixed ``nip`` and
        closed forms).
    quadrature_error : float or None
        Change of the log-likelihood at the estimate between the final rule
        and the rules beside it (``None``: not estimated, a fixed ``nip``;
        0 for a closed form).
    at_boundary : tuple of str
        Variance components estimated at zero (legitimate maxima).
    problems : tuple of str
        Why the fit is not converged, one sentence each (empty when it is).
    """

    max_gradient: float
    smallest_eigenvalue: float
    nip_settled: bool = True
    quadrature_error: float | None = None
    at_boundary: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def converged(self) -> bool:
        return not self.problems

    def describe(self) -> list[str]:
        """Lines for the summary."""
        quadrature = (
            "not estimated (a fixed nip)"
            if self.quadrature_error is None
            else f"{self.quadrature_error:.2g}{'' if self.nip_settled else ' (not settled)'}"
        )
        lines = [
            f"Convergence: max |gradient| {self.max_gradient:.2g}, smallest information eigenvalue "
            f"{self.smallest_eigenvalue:.3g}, quadrature error at the estimate {quadrature}"
        ]
        if self.at_boundary:
            lines.append(f"At the boundary (estimated as zero): {', '.join(self.at_boundary)}")
        lines += [f"NOT CONVERGED: {problem}" for problem in self.problems]
        return lines


def check_convergence(
    gradient: np.ndarray,
    hessian: np.ndarray,
    names: list[str],
    *,
    optimiser_message: str = "",
    boundary: dict[int, str] | None = None,
    nip_settled: bool = True,
    quadrature_error: float | None = None,
    unsettled_detail: str = "",
    log_scale: dict[int, tuple[str, float]] | None = None,
) -> Convergence:
    """Check the estimate and warn about each problem.

    Parameters
    ----------
    gradient, hessian : ndarray
        Of the log-likelihood at the estimate, on the optimised scale.
    names : list of str
        A name per optimised parameter (for messages).
    optimiser_message : str
        What the optimiser said when it stopped.
    boundary : dict of int to str, optional
        Optimised parameters at the boundary (position -> the reported
        parameter, e.g. ``sd[patient]``), excluded from the checks.
    nip_settled, quadrature_error : bool, float or None
        From the ``nip`` schedule (:class:`glpp.fitting.nip.ScheduleOutcome`).
    unsettled_detail : str
        The change and the parameters the last refit moved, for the warning.
    log_scale : dict of int to (str, float), optional
        Optimised parameters that are logs of SDs or dispersions (position ->
        the reported parameter's name and value), checked for a runaway along a flat ridge
        (:data:`WEAK_LOG_SE`).
    """
    boundary = boundary or {}
    keep = np.array([k for k in range(gradient.size) if k not in boundary], dtype=np.int64)
    gradient_kept = gradient[keep] if gradient.size else gradient
    information = -hessian[np.ix_(keep, keep)] if hessian.size else np.zeros((0, 0))
    max_gradient = float(np.max(np.abs(gradient_kept), initial=0.0))
    eigenvalues = np.linalg.eigvalsh(information) if information.size else np.array([1.0])
    problems: list[str] = []
    if not nip_settled:
        problems.append(f"nip='auto' reached its largest rule without settling{unsettled_detail}")
        warn_user(
            f"the quadrature did not settle: nip='auto' reached its largest rule and the log-likelihood at "
            f"the estimate still changes with the number of points{unsettled_detail}. A model the data do "
            "not identify (a ridge along which a loading or variance runs away) does this; check the "
            "model's identification, or fix nip and compare",
            ConvergenceWarning,
        )
    stationary = max_gradient < GRADIENT_TOLERANCE
    flat = _flat_direction(information, [names[k] for k in keep]) if stationary else None
    if flat is None and stationary:
        flat = _weak_log_parameters(information, keep, log_scale or {})
    if flat is not None:
        problems.append(flat)
        warn_user(flat, IdentificationWarning)
    elif not (stationary and bool(np.all(eigenvalues > 0))):
        message = (
            f"the fit may not have converged: max |gradient| = {max_gradient:.2g}, smallest eigenvalue of "
            f"the information = {eigenvalues.min():.3g} ({optimiser_message})"
        )
        problems.append(message)
        warn_user(message, ConvergenceWarning)
    return Convergence(
        max_gradient=max_gradient,
        smallest_eigenvalue=float(eigenvalues.min()),
        nip_settled=nip_settled,
        quadrature_error=quadrature_error,
        at_boundary=tuple(dict.fromkeys(boundary.values())),
        problems=tuple(problems),
    )


def _flat_direction(information: np.ndarray, names: list[str]) -> str | None:
    """A direction of (numerically) zero curvature on the correlation scale: the parameters it moves."""
    diagonal = np.diag(information)
    if not information.size or not np.all(diagonal > 0):
        return None
    scale = 1.0 / np.sqrt(diagonal)
    values, vectors = np.linalg.eigh(information * scale[:, None] * scale[None, :])
    if abs(values[0]) >= IDENTIFICATION_TOLERANCE:
        return None
    direction = np.abs(vectors[:, 0])
    involved = [names[int(k)] for k in np.argsort(-direction) if direction[k] > 0.1]
    return (
        f"the model may not be identified: the information matrix is singular (smallest eigenvalue "
        f"{values[0]:.2g} on the correlation scale) in a direction that moves {', '.join(involved)}; the "
        "data cannot tell these parameters apart, so their estimates are arbitrary and their standard "
        "errors meaningless. Fix one of them, or drop a path or loading that duplicates another"
    )


def _weak_log_parameters(
    information: np.ndarray, keep: np.ndarray, log_scale: dict[int, tuple[str, float]]
) -> str | None:
    """Log-scale parameters whose standard error exceeds :data:`WEAK_LOG_SE`: a flat ridge."""
    if not information.size or not log_scale:
        return None
    covariance = np.linalg.pinv(information)
    standard_errors = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    weak = [
        f"{log_scale[k][0]} = {log_scale[k][1]:.3g} (SE of its log {standard_errors[i]:.3g})"
        for i, k in enumerate(keep)
        if k in log_scale and standard_errors[i] > WEAK_LOG_SE
    ]
    if not weak:
        return None
    return (
        f"the model may not be identified: {', '.join(weak)} "
        f"{'is' if len(weak) == 1 else 'are'} not determined by the data: the likelihood is flat along a "
        "ridge on which the estimate can run away. Fix a loading or a variance (a factor with a single "
        "indicator of a family without a dispersion, e.g. a probit item, needs both), or add indicators"
    )
