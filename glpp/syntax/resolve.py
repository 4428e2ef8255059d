"""Syntax tree -> :class:`glpp.ir.Spec`.

Regression statements become formulaic right-hand sides with an explicit
intercept (``"1 + x"``, ``"0 + item"``); interactions and calls are kept as
text for formulaic to expand.  lme4 random terms are split by grouping
(``a/b`` -> ``a`` and ``a:b``).  lavaan-style statements become measurement,
structural, covariance and latent-distribution records.  A ``~`` statement
whose left side is a latent variable (named on the left of ``=~`` or given
``classes()``/``masspoints()``) is a structural regression.

``level: <name>`` lines (lavaan's level blocks) give the statements after
them a level: ``level: 1`` or ``level: within`` the units (rows of wide
data), ``level: g`` the clusters of grouping column ``g``. In a ``level: g``
block ``F =~ items`` means ``F@g =~ items``, and every item measured there
gets a between-level residual (a random intercept over the clusters of
``g``, a :class:`~glpp.ir.LevelResidual`) unless ``y ~~ 0*y`` in the block
removes it; ``y ~~ y`` in the block adds one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from glpp.errors import SpecError
from glpp.syntax.class_terms import class_term, known_argument
from glpp.syntax.side import side_formula
from glpp.ir import (
    ClassTerm,
    Covariance,
    Indicator,
    LatentDistribution,
    LatentRegression,
    LevelResidual,
    Measurement,
    RandomTerm,
    Regression,
    Response,
    Spec,
)
from glpp.syntax.parser import (
    At,
    Bar,
    BinaryOp,
    Call,
    LevelDeclaration,
    Missing,
    Name,
    Node,
    Number,
    Statement,
    UnaryOp,
    parse,
    render,
)

__all__ = ["build_spec", "resolve"]

#: Functions with a meaning in the model syntax, and where they belong.
_SPECIAL_FUNCTIONS = {
    "cbind": "only as the response of '~', e.g. cbind(successes, failures) ~ x",
    "offset": "only as a term of a regression's fixed part, e.g. y ~ x + offset(log_n)",
    "classes": "only on the right of '~~', e.g. C ~~ classes(3)",
    "masspoints": "only on the right of '~~', e.g. F ~~ masspoints(5)",
}
_DISTRIBUTIONS = ("classes", "masspoints")
_TERM_FORMS = "name, 1*name (fixed), a*name (labelled) or NA*name (free)"
#: what ``level:`` names for the units (the rows of wide data)
UNIT_LEVELS = ("1", "within")


def build_spec(
    source: str,
    family: str = "gaussian",
    link: str = "identity",
    *,
    thresholds: str | None = None,
    dispersion: str | None = None,
) -> Spec:
    """Parse and resolve a model string.

    Parameters
    ----------
    source : str
        The model string.
    family, link : str
        Passed through to the Spec (validated elsewhere).
    thresholds, dispersion : str, optional
        One-sided formulas (``"~ z"``) of threshold covariates and of the log
        dispersion (:func:`glpp.syntax.side.side_formula`).

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        If the model string is not a valid model, with the offending position.

    Examples
    --------
    >>> spec = build_spec("y ~ x + (1 | g)")
    >>> spec.regressions[0].fixed, spec.regressions[0].random[0].group
    ('1 + x', ('g',))
    """
    spec = resolve(parse(source), family, link, source)
    return replace(
        spec,
        thresholds=side_formula(thresholds, "thresholds"),
        dispersion=side_formula(dispersion, "dispersion"),
    )


def resolve(
    ast: tuple[Statement | LevelDeclaration, ...], family: str, link: str, source: str
) -> Spec:
    """Turn parsed statements into a :class:`~glpp.ir.Spec`.

    Parameters
    ----------
    ast : tuple of Statement or LevelDeclaration
        The output of :func:`glpp.syntax.parser.parse`.
    family, link : str
        Passed through unchanged.
    source : str
        The model string the statements were parsed from (for messages).

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        For statements that parse but mean nothing: two responses, a term
        that does not belong where it is, a latent defined twice or
        regressed on itself, a bad random-effect grouping, a level declared
        twice, ...

    Examples
    --------
    >>> spec = resolve(parse("F =~ y1 + y2"), "gaussian", "identity", "F =~ y1 + y2")
    >>> spec.measurements[0].latent
    'F'
    >>> source = "level: 1; fw =~ y1 + y2 + y3; level: school; fb =~ y1 + y2 + y3"
    >>> spec = resolve(parse(source), "gaussian", "identity", source)
    >>> spec.measurements[1].level, [r.item for r in spec.level_residuals]
    ('school', ['y1', 'y2', 'y3'])
    """
    latents = _latent_names(ast, source)
    class_latents = {d.latent: d.n_points for d in _all_distributions(ast, source) if d.kind == "classes"}
    regressions, measurements, latent_regressions = [], [], []
    covariances, distributions = [], []
    blocks = _LevelBlocks(source)
    for statement in ast:
        if isinstance(statement, LevelDeclaration):
            blocks.declare(statement)
            continue
        lhs = statement.lhs
        if statement.operator == "=~":
            measurement = blocks.place(_measurement(statement, source), statement)
            measurements.append(measurement)
        elif statement.operator == "~~":
            for record in _covariances(statement, source):
                if isinstance(record, LatentDistribution):
                    distributions.append(record)
                elif not blocks.takes_residual(record, latents, statement):
                    covariances.append(record)
        elif isinstance(lhs, Name) and lhs.name in latents:
            latent_regressions.append(_latent_regression(lhs.name, statement.rhs, source))
        else:
            regressions.append(_regression(statement, source, class_latents))
    return Spec(
        regressions=tuple(regressions),
        measurements=tuple(measurements),
        latent_regressions=tuple(latent_regressions),
        covariances=tuple(covariances),
        distributions=tuple(distributions),
        level_residuals=blocks.residuals(),
        declared_levels=blocks.grouping_levels(),
        family=family,
        link=link,
        source=source,
    )


class _LevelBlocks:
    """The ``level:`` blocks of a model string, as its statements are read in order."""

    def __init__(self, source: str):
        self.source = source
        self.declared: dict[str | None, LevelDeclaration] = {}  # None: the units
        self.in_block = False
        self.current: str | None = None
        # per grouping column: measured items, and items with an explicit y ~~ y / y ~~ 0*y
        self.measured: dict[str, list[str]] = {}
        self.explicit: dict[str, dict[str, bool]] = {}

    def declare(self, declaration: LevelDeclaration) -> None:
        node = declaration.level
        text = node.text if isinstance(node, Number) else node.name
        if isinstance(node, Number) and text not in UNIT_LEVELS:
            raise SpecError(
                f"'level: {text}': glpp names a level by its grouping column, e.g. 'level: school' "
                "(lavaan's 'level: 2' with cluster = \"school\"); 'level: 1' or 'level: within' is the units",
                self.source,
                node.start,
            )
        level = None if text in UNIT_LEVELS and not (isinstance(node, Name) and node.quoted) else text
        if level in self.declared:
            earlier = self.declared[level]
            line = self.source.count("\n", 0, earlier.start) + 1
            raise SpecError(
                f"level '{text}' is already declared on line {line} "
                f"('{self.source[earlier.start : earlier.end]}'); put all statements of a level in one block",
                self.source,
                node.start,
            )
        self.declared[level] = declaration
        self.in_block = True
        self.current = level
        if level is not None:
            self.measured[level] = []
            self.explicit[level] = {}

    def place(self, measurement: Measurement, statement: Statement) -> Measurement:
        """The measurement with its block's level; its items are measured at that level."""
        if not self.in_block:
            return measurement
        block = "level: 1" if self.current is None else f"level: {self.current}"
        if measurement.level is not None and measurement.level != self.current:
            raise SpecError(
                f"'{measurement.latent}@{measurement.level} =~ ...' is in the '{block}' block: inside a block a "
                f"latent varies at the block's level; drop '@{measurement.level}' or move the statement to a "
                f"'level: {measurement.level}' block",
                self.source,
                statement.lhs.start,
            )
        if self.current is None:
            return measurement
        for indicator in measurement.indicators:
            if indicator.name not in self.measured[self.current]:
                self.measured[self.current].append(indicator.name)
        return Measurement(measurement.latent, measurement.indicators, self.current)

    def takes_residual(self, covariance: Covariance, latents: set[str], statement: Statement) -> bool:
        """Whether ``covariance`` is ``y ~~ y`` or ``y ~~ 0*y`` of an item in a grouping block (consumed here)."""
        if self.current is None or covariance.left in latents or covariance.right in latents:
            return False
        term = _text(statement.lhs, self.source) + " ~~ " + _text(statement.rhs, self.source)
        if covariance.left != covariance.right:
            raise SpecError(
                f"'{term}' in the 'level: {self.current}' block: between-level residual covariances of items are "
                f"not supported; the items' random intercepts over '{self.current}' are independent given the "
                "level's factors",
                self.source,
                statement.lhs.start,
            )
        if covariance.label is not None or covariance.fixed not in (None, 0.0):
            raise SpecError(
                f"'{term}' in the 'level: {self.current}' block: a between-level residual variance is free "
                f"('{covariance.left} ~~ {covariance.left}') or removed ('{covariance.left} ~~ 0*{covariance.left}')",
                self.source,
                statement.lhs.start,
            )
        self.explicit[self.current][covariance.left] = covariance.fixed is None
        return True

    def residuals(self) -> tuple[LevelResidual, ...]:
        records = []
        for level, items in self.measured.items():
            explicit = self.explicit[level]
            chosen = items + [item for item, include in explicit.items() if include and item not in items]
            records += [LevelResidual(item, level) for item in chosen if explicit.get(item, True)]
        return tuple(records)

    def grouping_levels(self) -> tuple[str, ...]:
        return tuple(level for level in self.declared if level is not None)


def _text(node: Node, source: str) -> str:
    return source[node.start : node.end]


def _latent_names(statements: tuple[Statement | LevelDeclaration, ...], source: str) -> set[str]:
    """Latents named on the left of ``=~`` or given a discrete distribution."""
    defined: dict[str, int] = {}
    latents = set()
    for statement in statements:
        if isinstance(statement, LevelDeclaration):
            continue
        if statement.operator == "=~":
            latent, _ = _measurement_lhs(statement.lhs, source)
            if latent in defined:
                line = source.count("\n", 0, defined[latent]) + 1
                raise SpecError(
                    f"latent '{latent}' is already defined by '=~' on line {line}; "
                    "list all its indicators in one statement",
                    source,
                    statement.lhs.start,
                )
            defined[latent] = statement.lhs.start
            latents.add(latent)
        elif statement.operator == "~~" and isinstance(statement.lhs, Name | At):
            terms = _terms(statement.rhs)
            if any(isinstance(t, Call) and t.function in _DISTRIBUTIONS for _, t in terms):
                lhs = statement.lhs
                latents.add(lhs.name if isinstance(lhs, Name) else lhs.latent.name)
    return latents



def _all_distributions(statements, source: str) -> list[LatentDistribution]:
    """The ``classes()``/``masspoints()`` records of the model string."""
    tilde = [s for s in statements if not isinstance(s, LevelDeclaration) and s.operator == "~~"]
    records = [r for s in tilde if isinstance(s.lhs, Name | At) for r in _covariances(s, source)]
    return [record for record in records if isinstance(record, LatentDistribution)]


def _terms(node: Node, sign: str = "+") -> list[tuple[str, Node]]:
    """Split a sum into ``(sign, term)`` pairs: ``a - b`` -> ``[("+", a), ("-", b)]``."""
    flipped = "-" if sign == "+" else "+"
    match node:
        case BinaryOp(operator="+" | "-" as operator, left=left, right=right):
            return _terms(left, sign) + _terms(right, flipped if operator == "-" else sign)
        case UnaryOp(operand=operand):
            return _terms(operand, flipped)
    return [(sign, node)]


@dataclass
class _Formula:
    """A right-hand side split into intercept, formula terms, offsets and random terms."""

    intercept: bool = True
    terms: list[str] = field(default_factory=list)
    offsets: list[Call] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    class_terms: list[ClassTerm] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(["1" if self.intercept else "0", *self.terms])


def _formula(node: Node, source: str, class_latents: dict[str, int] | None = None) -> _Formula:
    formula = _Formula()
    for sign, term in _terms(node):
        found = class_term(term, class_latents or {}, source)
        if found is not None:
            if sign == "-":
                raise SpecError(f"'{_text(term, source)}' cannot be removed with '-'", source, term.start)
            formula.class_terms.append(found)
        elif isinstance(term, Number) and term.value in (0.0, 1.0):
            formula.intercept = (term.value == 1.0) == (sign == "+")
        elif sign == "-" and _is_special_term(term):
            raise SpecError(
                f"'{_text(term, source)}' cannot be removed with '-'", source, term.start
            )
        elif isinstance(term, Bar):
            formula.bars.append(term)
        elif isinstance(term, Call) and term.function == "offset":
            if len(term.arguments) != 1:
                raise SpecError(
                    "offset() takes one expression, e.g. offset(log(n))", source, term.start
                )
            formula.offsets.append(term)
        else:
            _check_formula_term(term, source)
            formula.terms.append(f"{sign} {render(term)}")
    return formula


def _is_special_term(term: Node) -> bool:
    return isinstance(term, Bar) or (isinstance(term, Call) and term.function == "offset")


def _check_formula_term(node: Node, source: str) -> None:
    """Reject what formulaic would misread: random terms, ``@``, ``NA``, stray numbers."""
    message = f"'{_text(node, source)}' is not a valid formula term"
    match node:
        case Name():
            return
        case Call(function=function) if function in _SPECIAL_FUNCTIONS:
            message = f"{function}() is allowed {_SPECIAL_FUNCTIONS[function]}"
        case Call():
            return
        case BinaryOp(operator="^", left=left, right=Number()):
            return _check_formula_term(left, source)
        case BinaryOp(left=left, right=right):
            _check_formula_term(left, source)
            return _check_formula_term(right, source)
        case Bar():
            message = (
                f"random term '{_text(node, source)}' must be a term of its own, added with '+'"
            )
        case At():
            message = (
                f"'{_text(node, source)}': '@' gives a latent its level, only on the left of '=~'"
            )
        case Missing():
            message = "NA is allowed only as NA*name (a free loading) on the right of '=~'"
        case UnaryOp():
            message = (
                f"'{_text(node, source)}': '-' can only remove a whole term, as in 'a*b - a:b'"
            )
        case Number():
            message = (
                f"number '{node.text}' is not a term here: a formula takes 1 or 0 (the intercept) "
                "as whole terms only; fixed values and labels (1*x, b*x) apply to latent variables"
            )
    raise SpecError(message, source, node.start)


def _regression(statement: Statement, source: str, class_latents: dict[str, int]) -> Regression:
    formula = _formula(statement.rhs, source, class_latents)
    random = tuple(term for bar in formula.bars for term in _random_terms(bar, source))
    offsets = tuple(call.arguments[0].text for call in formula.offsets)
    return Regression(_response(statement.lhs, source), formula.text, offsets, random, tuple(formula.class_terms))


def _response(lhs: Node, source: str) -> Response:
    match lhs:
        case Call(function="cbind", arguments=arguments):
            if len(arguments) != 2:
                raise SpecError(
                    "cbind() takes two arguments, cbind(successes, failures); "
                    f"got {len(arguments)}",
                    source,
                    lhs.start,
                )
            return Response(arguments[0].text, arguments[1].text)
        case BinaryOp(operator="+"):
            raise SpecError(
                f"'{_text(lhs, source)}' has more than one response; "
                "write one '~' statement per response",
                source,
                lhs.operator_start,
            )
    _check_formula_term(lhs, source)
    return Response(render(lhs))


def _random_terms(bar: Bar, source: str) -> list[RandomTerm]:
    formula = _formula(bar.expression, source)
    for node in [*formula.offsets, *formula.bars]:
        raise SpecError(
            f"'{_text(node, source)}' cannot appear inside the random term '{_text(bar, source)}'",
            source,
            node.start,
        )
    if not formula.intercept and not formula.terms:
        raise SpecError(
            f"random term '{_text(bar, source)}' has no intercept and no variables; "
            "write e.g. (1 | g) or (0 + x | g)",
            source,
            bar.expression.start,
        )
    return [RandomTerm(formula.text, group) for group in _groups(bar.group, source)]


def _groups(node: Node, source: str) -> list[tuple[str, ...]]:
    """Groupings of a random term: ``a/b`` -> ``[(a,), (a, b)]``, ``a:b`` -> ``[(a, b)]``."""
    match node:
        case Name(name=name):
            return [(name,)]
        case BinaryOp(operator=":", left=left, right=right):
            outer, inner = _groups(left, source), _groups(right, source)
            if len(outer) == len(inner) == 1:
                return [outer[0] + inner[0]]
        case BinaryOp(operator="/", left=left, right=right):
            outer, inner = _groups(left, source), _groups(right, source)
            return outer + [outer[-1] + group for group in inner]
    raise SpecError(
        f"'{_text(node, source)}' is not a grouping: write column names joined by ':' "
        "(one grouping) or '/' (nested groupings), e.g. (1 | school/class)",
        source,
        node.start,
    )


def _measurement_lhs(lhs: Node, source: str) -> tuple[str, str | None]:
    match lhs:
        case Name(name=latent):
            return latent, None
        case At(latent=Name(name=latent), level=Name(name=level)):
            return latent, level
    raise SpecError(
        f"'{_text(lhs, source)}' cannot be defined by '=~': write a latent name, "
        "optionally with its level, e.g. 'F =~ y1 + y2' or 'F@g =~ item'",
        source,
        lhs.start,
    )


def _measurement(statement: Statement, source: str) -> Measurement:
    latent, level = _measurement_lhs(statement.lhs, source)
    context = "the right of '=~'"
    indicators = tuple(
        _indicator(sign, term, context, source) for sign, term in _terms(statement.rhs)
    )
    return Measurement(latent, indicators, level)


def _indicator(sign: str, term: Node, context: str, source: str) -> Indicator:
    """``y``, ``1*y``, ``a*y`` or ``NA*y`` as an :class:`Indicator`."""
    if sign == "+":
        match term:
            case Name(name=name):
                return Indicator(name)
            case BinaryOp(operator="*", left=Number(value=value), right=Name(name=name)):
                return Indicator(name, fixed=value)
            case BinaryOp(
                operator="*", left=UnaryOp(operand=Number(value=value)), right=Name(name=name)
            ):
                return Indicator(name, fixed=-value)
            case BinaryOp(operator="*", left=Missing(), right=Name(name=name)):
                return Indicator(name, force_free=True)
            case BinaryOp(operator="*", left=Name(name=label), right=Name(name=name)):
                return Indicator(name, label=label)
            case Call(function=function) if function in _SPECIAL_FUNCTIONS:
                message = f"{function}() is allowed {_SPECIAL_FUNCTIONS[function]}"
                raise SpecError(message, source, term.start)
    text = f"-{_text(term, source)}" if sign == "-" else _text(term, source)
    raise SpecError(
        f"'{text}' is not a valid term on {context}: write {_TERM_FORMS}", source, term.start
    )


def _latent_regression(latent: str, rhs: Node, source: str) -> LatentRegression:
    context = f"the right of '{latent} ~' ({latent} is a latent variable)"
    predictors = []
    for sign, term in _terms(rhs):
        predictor = _indicator(sign, term, context, source)
        if predictor.name == latent:
            position = term.start if isinstance(term, Name) else term.right.start
            raise SpecError(f"latent '{latent}' is regressed on itself", source, position)
        predictors.append(predictor)
    return LatentRegression(latent, tuple(predictors))


def _covariances(statement: Statement, source: str) -> list[Covariance | LatentDistribution]:
    lhs = statement.lhs
    terms = _terms(statement.rhs)
    if isinstance(lhs, At) and len(terms) == 1 and isinstance(terms[0][1], Call) and terms[0][0] == "+":
        return [replace(_distribution(lhs.latent.name, terms[0][1], source), level=lhs.level.name)]
    if not isinstance(lhs, Name):
        raise SpecError(
            f"'{_text(lhs, source)}' cannot be on the left of '~~': write a variable name, e.g. F ~~ G "
            "('@' gives a discrete latent its level: C@id ~~ classes(2))",
            source,
            lhs.start,
        )
    records: list[Covariance | LatentDistribution] = []
    for sign, term in terms:
        if isinstance(term, Call) and sign == "+":
            records.append(_distribution(lhs.name, term, source))
        else:
            other = _indicator(sign, term, "the right of '~~'", source)
            records.append(Covariance(lhs.name, other.name, fixed=other.fixed, label=other.label))
    return records


def _distribution(latent: str, call: Call, source: str) -> LatentDistribution:
    if call.function not in _DISTRIBUTIONS:
        raise SpecError(
            f"unknown distribution '{call.function}()' on the right of '~~': "
            "expected classes(n) or masspoints(n)",
            source,
            call.start,
        )
    arguments = call.arguments
    known = known_argument(latent, call, source)
    if known is not None:
        arguments = arguments[:-1]
    text = arguments[0].text if len(arguments) == 1 else ""
    if call.function == "masspoints" and text.strip("'\"") == "auto":
        return LatentDistribution(latent, call.function, 0)  # the fit chooses the number
    if not (text.isascii() and text.isdigit() and int(text) >= 2):
        raise SpecError(
            f"'{latent} ~~ {_text(call, source)}': "
            f"{call.function}() takes one whole number of at least 2, e.g. {call.function}(3)"
            + (' or "auto"' if call.function == "masspoints" else "")
            + "; "
            f"got '{', '.join(argument.text for argument in arguments)}'",
            source,
            arguments[0].start if len(arguments) == 1 else call.start,
        )
    return LatentDistribution(latent, call.function, int(text), known=known)

