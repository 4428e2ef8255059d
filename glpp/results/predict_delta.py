"""Delta-method standard errors and Wald intervals of predictions, for every kind of prediction.

A prediction object (:mod:`glpp.results.predict`, :mod:`glpp.results.predict_rows`,
:mod:`glpp.results.predict_ordinal`, :mod:`glpp.results.predict_choice`) gives

- ``link_scale(theta)``: the predictions on their link scale (a probability's logit for
  ordinal category and choice probabilities) as a function of the optimised parameters;
- ``links``: a :class:`~glpp.results.predict_rows.RowLinks` whose ``inverse`` maps the link
  scale to the response scale;
- ``posterior_variance(theta)`` (conditional predictions): the variance, on the link scale,
  that the latents' EB posterior adds.

:func:`link_se` differentiates ``link_scale`` in ``theta`` by central differences and
combines the derivative with ``fit.vcov("optimised")`` (:func:`optimised_covariance`);
:func:`delta_intervals` adds the posterior variance and forms Wald intervals on the link
scale, mapped to the response scale by the inverse link (so a probability's interval stays
in [0, 1]).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

__all__ = ["DELTA_STEP", "delta_intervals", "link_se", "optimised_covariance"]

#: relative step of the central differences of the delta method
DELTA_STEP = 1e-5


def link_se(predictions, theta: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Delta-method SE of ``predictions.link_scale`` (central differences in ``theta``)."""
    jacobian = None
    for k in range(theta.size):
        step = DELTA_STEP * max(1.0, abs(theta[k]))
        shifted = theta.copy()
        shifted[k] += step
        up = predictions.link_scale(shifted)
        shifted[k] -= 2 * step
        column = (up - predictions.link_scale(shifted)) / (2 * step)
        if jacobian is None:
            jacobian = np.empty((column.size, theta.size))
        jacobian[:, k] = column
    return np.sqrt(np.maximum(np.einsum("ra,ab,rb->r", jacobian, covariance, jacobian), 0.0))


def optimised_covariance(result, layout, theta: np.ndarray) -> np.ndarray:
    """The covariance of ``theta``: the fit's, or (discrete-latent fits, whose parameters are
    transformed one by one) the natural covariance over the transforms' derivatives."""
    names = list(layout.natural_names)
    if result.covariance_optimised is not None:
        return result.covariance_optimised.loc[names, names].to_numpy()
    steps = DELTA_STEP * np.maximum(1.0, np.abs(theta))
    derivative = (layout.natural(theta + steps) - layout.natural(theta - steps)) / (2 * steps)
    return result.covariance.loc[names, names].to_numpy() / np.outer(derivative, derivative)


def delta_intervals(
    predictions, theta: np.ndarray, covariance: np.ndarray, link_values: np.ndarray, scale: str, level: float,
    conditional: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Delta-method SEs and Wald intervals: on the link scale, mapped to the response scale.

    Conditional predictions add ``predictions.posterior_variance(theta)`` on the link scale.

    Returns
    -------
    se, lower, upper : ndarray
        On the link scale (``scale="link"``) or the response scale (the SE times the inverse
        link's slope, the interval's ends mapped by the inverse link).
    """
    se = link_se(predictions, theta, covariance)
    if conditional:
        se = np.sqrt(se**2 + predictions.posterior_variance(theta))
    z = float(ndtri(0.5 + level / 2))
    lower, upper = link_values - z * se, link_values + z * se
    if scale == "link":
        return se, lower, upper
    links = predictions.links
    step = DELTA_STEP * np.maximum(1.0, np.abs(link_values))
    slope = (links.inverse(link_values + step) - links.inverse(link_values - step)) / (2 * step)
    lower, upper = links.inverse(lower), links.inverse(upper)
    return np.abs(slope) * se, np.minimum(lower, upper), np.maximum(lower, upper)
