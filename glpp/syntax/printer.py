"""A Spec written back as a model string: ``build_spec(to_model_string(spec))`` gives ``spec`` again.

Used to show users what glpp understood (statements are printed in a fixed
order, with the defaults made explicit: ``y ~ 1 + x``, nested groupings as
one term per grouping) and by the tests that check the parser round trip.
"""

from __future__ import annotations

import re

from glpp.ir import Covariance, Indicator, LatentDistribution, LatentRegression, Measurement, Regression, Spec

__all__ = ["to_model_string"]

_IDENTIFIER = re.compile(r"[A-Za-z_.][\w.]*")


def to_model_string(spec: Spec) -> str:
    """The model string of ``spec``, one statement per line.

    Regressions, structural regressions, covariances and distributions come
    first; measurements follow, inside ``level:`` blocks when the Spec has
    declared levels (with the blocks' residual statements).

    Examples
    --------
    >>> from glpp.syntax import build_spec
    >>> print(to_model_string(build_spec("y ~ x + (1 | a/b)")))
    y ~ 1 + x + (1 | a) + (1 | a:b)
    """
    lines = [_regression(regression) for regression in spec.regressions]
    lines += [_latent_regression(regression) for regression in spec.latent_regressions]
    lines += [_covariance(covariance) for covariance in spec.covariances]
    lines += [_distribution(distribution) for distribution in spec.distributions]
    if not spec.declared_levels:
        lines += [_measurement(measurement, inside_block=False) for measurement in spec.measurements]
    else:
        lines += _level_blocks(spec)
    return "\n".join(lines)


def _name(name: str) -> str:
    """A name as the lexer reads it: backticks unless it is a plain identifier (``NA`` is a keyword)."""
    return name if _IDENTIFIER.fullmatch(name) and name != "NA" else f"`{name}`"


def _number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _term(indicator: Indicator) -> str:
    name = _name(indicator.name)
    if indicator.fixed is not None:
        return f"{_number(indicator.fixed)}*{name}"
    if indicator.label is not None:
        return f"{_name(indicator.label)}*{name}"
    if indicator.force_free:
        return f"NA*{name}"
    return name


def _terms(indicators: tuple[Indicator, ...]) -> str:
    return " + ".join(_term(indicator) for indicator in indicators)


def _regression(regression: Regression) -> str:
    response = regression.response
    left = response.expression if response.failures is None else f"cbind({response.expression}, {response.failures})"
    parts = [regression.fixed] + [term.label for term in regression.class_terms]
    parts += [f"offset({expression})" for expression in regression.offsets]
    parts += [f"({term.expression} | {':'.join(map(_name, term.group))})" for term in regression.random]
    return f"{left} ~ {' + '.join(parts)}"


def _latent_regression(regression: LatentRegression) -> str:
    return f"{_name(regression.latent)} ~ {_terms(regression.predictors)}"


def _covariance(covariance: Covariance) -> str:
    right = Indicator(covariance.right, fixed=covariance.fixed, label=covariance.label)
    return f"{_name(covariance.left)} ~~ {_terms((right,))}"


def _distribution(distribution: LatentDistribution) -> str:
    points = distribution.n_points
    argument = '"auto"' if points == 0 else f'"{points}"' if isinstance(points, str) else str(points)
    if distribution.known is not None:
        argument += f", known = {_name(distribution.known)}"
    latent = _name(distribution.latent)
    if distribution.level is not None:
        latent += f"@{_name(distribution.level)}"
    return f"{latent} ~~ {distribution.kind}({argument})"


def _measurement(measurement: Measurement, inside_block: bool) -> str:
    left = _name(measurement.latent)
    if measurement.level is not None and not inside_block:
        left += f"@{_name(measurement.level)}"
    return f"{left} =~ {_terms(measurement.indicators)}"


def _level_blocks(spec: Spec) -> list[str]:
    """``level:`` blocks in the order their measurements come, each with its residual statements."""
    order: list[str | None] = []
    for measurement in spec.measurements:
        if measurement.level not in order:
            order.append(measurement.level)
    order += [level for level in spec.declared_levels if level not in order]
    lines: list[str] = []
    for level in order:
        lines.append(f"level: {'1' if level is None else _name(level)}")
        block = [m for m in spec.measurements if m.level == level]
        lines += [_measurement(measurement, inside_block=True) for measurement in block]
        if level is None:
            continue
        measured = list(dict.fromkeys(indicator.name for m in block for indicator in m.indicators))
        residuals = [residual.item for residual in spec.level_residuals if residual.level == level]
        lines += [f"{_name(item)} ~~ 0*{_name(item)}" for item in measured if item not in residuals]
        lines += [f"{_name(item)} ~~ {_name(item)}" for item in residuals if item not in measured]
    return lines
