"""Tokens -> syntax tree, by recursive descent.

Grammar (lowest precedence first, binary operators left-associative)::

    model      := (statement | declaration) (separator (statement | declaration))*
    declaration:= "level" ":" (NAME | NUMBER)
    statement  := expression ("~" | "=~" | "~~") expression
    expression := product (("+" | "-") product)*
    product    := negation ("*" negation)*
    negation   := "-" negation | nesting
    nesting    := interaction ("/" interaction)*
    interaction:= power (":" power)*
    power      := primary ("^" primary)*
    primary    := NAME ["@" NAME] | NAME "(" arguments ")" | NUMBER | NA
                | "(" expression ["|" expression] ")"

As in R formulas, ``|`` is allowed only inside parentheses, where it has the
lowest precedence: ``(1 + x | g)``.  A call's arguments are kept as source
text (so ``I(x**2)`` or ``C(x, levels=[1, 2])`` pass through to formulaic);
the name must touch its ``(``.  :func:`render` turns a tree back into text.

A line ``level: <name>`` (lavaan's level blocks; no statement operator on the
line) is a :class:`LevelDeclaration`: the statements after it, up to the next
declaration, belong to that level.  What the level means is the resolver's
business (:mod:`glpp.syntax.resolve`).
"""

from __future__ import annotations

from dataclasses import dataclass

from glpp.errors import SpecError
from glpp.syntax.lexer import Token, tokenize

__all__ = [
    "STATEMENT_OPERATORS",
    "Argument",
    "At",
    "Bar",
    "BinaryOp",
    "LevelDeclaration",
    "Call",
    "Missing",
    "Name",
    "Node",
    "Number",
    "Statement",
    "UnaryOp",
    "parse",
    "render",
]

STATEMENT_OPERATORS = ("~", "=~", "~~")
_BINARY_LEVELS = (("+", "-"), ("*",), ("/",), (":",), ("^",))
_NEGATION_LEVEL = 2  # unary minus binds tighter than "*", looser than "/"
_PRECEDENCE = {op: level for level, ops in enumerate(_BINARY_LEVELS) for op in ops}
_RIGHT_SIDE_EXAMPLES = {"~": "y ~ 1 + x", "=~": "F =~ y1 + y2 + y3", "~~": "F ~~ G"}
_ENDS = ("separator", "end")


@dataclass(frozen=True, slots=True)
class Name:
    """A column or latent name; ``quoted`` if written in backticks."""

    name: str
    start: int
    end: int
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric literal; ``text`` is as written."""

    value: float
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Missing:
    """The keyword ``NA`` (``NA*y`` frees a loading)."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Argument:
    """One argument of a call, as its source text."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Call:
    """``function(argument, ...)``."""

    function: str
    arguments: tuple[Argument, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class At:
    """``latent@level``: a latent variable varying over grouping column ``level``."""

    latent: Name
    level: Name
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class UnaryOp:
    """``-operand``."""

    operator: str
    operand: Node
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class BinaryOp:
    """``left operator right``; ``operator_start`` is the operator's offset."""

    operator: str
    left: Node
    right: Node
    start: int
    end: int
    operator_start: int


@dataclass(frozen=True, slots=True)
class Bar:
    """A random term ``(expression | group)``, spanning its parentheses."""

    expression: Node
    group: Node
    start: int
    end: int
    bar_start: int


Node = Name | Number | Missing | Call | At | UnaryOp | BinaryOp | Bar


@dataclass(frozen=True, slots=True)
class Statement:
    """``lhs operator rhs`` with ``operator`` one of ``~``, ``=~``, ``~~``."""

    lhs: Node
    operator: str
    rhs: Node
    operator_start: int


@dataclass(frozen=True, slots=True)
class LevelDeclaration:
    """``level: name`` (or ``level: 1``): the statements that follow belong to this level.

    Attributes
    ----------
    level : Name or Number
        What follows ``level:``, as written.
    start, end : int
        Span of the whole declaration.
    """

    level: Name | Number
    start: int
    end: int


def parse(source: str) -> tuple[Statement | LevelDeclaration, ...]:
    """Parse a model string into statements and level declarations.

    Parameters
    ----------
    source : str
        The model string: statements separated by newlines or ``;``.

    Returns
    -------
    tuple of Statement or LevelDeclaration
        In source order.

    Raises
    ------
    SpecError
        On any syntax error, with the position of the offending token.

    Examples
    --------
    >>> (statement,) = parse("y ~ x + (1 | g)")
    >>> statement.operator, render(statement.rhs)
    ('~', 'x + (1 | g)')
    """
    return _Parser(source).model()


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    @property
    def previous(self) -> Token:
        return self.tokens[max(self.index - 1, 0)]

    def advance(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def at_operator(self, *operators: str) -> bool:
        return self.current.kind == "operator" and self.current.text in operators

    def error(self, message: str, position: int) -> SpecError:
        return SpecError(message, self.source, position)

    def model(self) -> tuple[Statement | LevelDeclaration, ...]:
        statements: list[Statement | LevelDeclaration] = []
        while True:
            while self.current.kind == "separator":
                self.advance()
            if self.current.kind == "end":
                break
            statements.append(self.declaration() if self.at_declaration() else self.statement())
        if not any(isinstance(statement, Statement) for statement in statements):
            raise self.error("the model string is empty: write a statement such as 'y ~ x'", 0)
        return tuple(statements)

    def at_declaration(self) -> bool:
        """``level :`` at the start of a statement with no statement operator after it."""
        token, following = self.current, self.tokens[self.index + 1]
        if token.kind != "name" or token.quoted or token.text != "level":
            return False
        if following.kind != "operator" or following.text != ":":
            return False
        for later in self.tokens[self.index + 2 :]:
            if later.kind in _ENDS:
                return True
            if later.kind == "operator" and later.text in STATEMENT_OPERATORS:
                return False
        return True  # pragma: no cover - the token list ends with an "end" token

    def declaration(self) -> LevelDeclaration:
        keyword = self.advance()
        colon = self.advance()
        token = self.current
        if token.kind in _ENDS:
            raise self.error(
                "'level:' needs a level: 'level: 1' (or 'level: within') for the units (rows), "
                "or a grouping column, e.g. 'level: school'",
                colon.start,
            )
        if token.kind not in ("name", "number"):
            raise self.error(
                f"expected a grouping column name or 1 after 'level:', not '{token.text}'", token.start
            )
        self.advance()
        if self.current.kind not in _ENDS:
            raise self.error(
                "a level declaration names one grouping column and ends the line, e.g. 'level: school'; "
                "put the level's statements on the following lines",
                self.current.start,
            )
        if token.kind == "name":
            level: Name | Number = Name(token.text, token.start, token.end, token.quoted)
        else:
            level = Number(float(token.text), token.text, token.start, token.end)
        return LevelDeclaration(level, keyword.start, token.end)

    def statement(self) -> Statement:
        lhs = self.expression()
        operator = self.current
        if not self.at_operator(*STATEMENT_OPERATORS):
            if operator.kind in _ENDS:
                text = self.source[lhs.start : lhs.end]
                raise self.error(
                    f"statement '{text}' has no operator: expected '~', '=~' or '~~'", lhs.start
                )
            raise self.unexpected(operator)
        self.advance()
        if self.current.kind in _ENDS:
            example = _RIGHT_SIDE_EXAMPLES[operator.text]
            raise self.error(
                f"'{operator.text}' needs a right-hand side, e.g. '{example}'", operator.start
            )
        rhs = self.expression()
        if self.current.kind not in _ENDS:
            raise self.unexpected(self.current)
        return Statement(lhs, operator.text, rhs, operator.start)

    def expression(self, level: int = 0) -> Node:
        if level == len(_BINARY_LEVELS):
            return self.primary()
        start = self.current.start  # spans cover parentheses around operands
        if level == _NEGATION_LEVEL and self.at_operator("-"):
            self.advance()
            operand = self.expression(level)
            node: Node = UnaryOp("-", operand, start, self.previous.end)
        else:
            node = self.expression(level + 1)
        while self.at_operator(*_BINARY_LEVELS[level]):
            operator = self.advance()
            right = self.expression(level + 1)
            node = BinaryOp(operator.text, node, right, start, self.previous.end, operator.start)
        return node

    def primary(self) -> Node:
        token = self.current
        if token.kind == "name":
            self.advance()
            name = Name(token.text, token.start, token.end, token.quoted)
            if self.at_operator("(") and self.current.start == token.end:
                return self.call(name)
            if self.at_operator("@"):
                self.advance()
                level = self.current
                if level.kind != "name":
                    raise self.error("expected a grouping column name after '@'", level.start)
                self.advance()
                level_name = Name(level.text, level.start, level.end, level.quoted)
                return At(name, level_name, name.start, level.end)
            return name
        if token.kind == "number":
            self.advance()
            return Number(float(token.text), token.text, token.start, token.end)
        if token.kind == "na":
            self.advance()
            return Missing(token.start, token.end)
        if self.at_operator("("):
            return self.parenthesized()
        raise self.expected_term(token)

    def parenthesized(self) -> Node:
        opening = self.advance()
        inner = self.expression()
        bar = self.current if self.at_operator("|") else None
        if bar is not None:
            self.advance()
            group = self.expression()
        if not self.at_operator(")"):
            raise self.unexpected(self.current, inside_parentheses=True)
        closing = self.advance()
        if bar is None:
            return inner
        return Bar(inner, group, opening.start, closing.end, bar.start)

    def call(self, function: Name) -> Call:
        opening = self.advance()
        arguments: list[Argument] = []
        pending: list[Token] = []
        depth = 0
        while True:
            token = self.advance()
            if token.kind in _ENDS:
                raise self.error(f"expected ')' to close '{function.name}('", opening.start)
            closes = token.text in (")", "]", "}") and token.kind != "string"
            if depth == 0 and (token.text == "," or token.text == ")") and token.kind == "operator":
                if pending:
                    first, last = pending[0], pending[-1]
                    text = self.source[first.start : last.end]
                    arguments.append(Argument(text, first.start, last.end))
                elif token.text == "," or arguments:
                    raise self.error(f"empty argument in '{function.name}(...)'", token.start)
                pending = []
                if token.text == ")":
                    return Call(function.name, tuple(arguments), function.start, token.end)
                continue
            if token.text in ("(", "[", "{") and token.kind != "string":
                depth += 1
            elif closes:
                depth -= 1
            pending.append(token)

    def expected_term(self, token: Token) -> SpecError:
        if token.kind in _ENDS:
            return self.error(f"expected a term after '{self.previous.text}'", self.previous.start)
        if token.kind == "other":
            return self.error(f"unexpected character '{token.text}'", token.start)
        if token.kind == "string":
            return self.error(
                f"unexpected string {token.text}: write names with spaces in backticks",
                token.start,
            )
        return self.error(f"expected a term before '{token.text}'", token.start)

    def unexpected(self, token: Token, inside_parentheses: bool = False) -> SpecError:
        text = self.source[token.start : token.end]
        if token.kind == "other":
            message = f"unexpected character '{text}'"
        elif token.text == "|" and inside_parentheses:
            message = "a random term has one '|', as in (1 + x | g)"
        elif token.text == "|" and token.kind == "operator":
            message = "'|' is only allowed inside parentheses: (1 + x | g)"
        elif token.text in STATEMENT_OPERATORS and token.kind == "operator":
            message = (
                f"unexpected '{text}': a statement has one '~', '=~' or '~~'; "
                "separate statements with a newline or ';'"
            )
        elif token.text == "@" and token.kind == "operator":
            message = "'@' must directly follow a latent name, as in 'F@g'"
        elif inside_parentheses:
            message = f"expected ')' or an operator such as '+' before '{text}'"
        else:
            message = (
                f"expected an operator such as '+' or the end of the statement before '{text}'"
            )
        return self.error(message, token.start)


def render(node: Node) -> str:
    """Write a syntax tree back as model-string text.

    Spacing is normalised (``a + b``, ``a:b``) and parentheses are added
    wherever precedence needs them, so that the text reads the same in
    formulaic, where ``*`` and ``/`` have equal precedence.

    Parameters
    ----------
    node : Node

    Returns
    -------
    str

    Examples
    --------
    >>> render(parse("y ~ (a + b):c")[0].rhs)
    '(a + b):c'
    """
    match node:
        case Name(name=name, quoted=quoted):
            return f"`{name}`" if quoted else name
        case Number(text=text):
            return text
        case Missing():
            return "NA"
        case Call(function=function, arguments=arguments):
            return f"{function}({', '.join(argument.text for argument in arguments)})"
        case At(latent=latent, level=level):
            return f"{render(latent)}@{render(level)}"
        case UnaryOp(operand=operand):
            inner = render(operand)
            return (
                f"-({inner})"
                if _needs_parentheses(operand, _NEGATION_LEVEL, False)
                else f"-{inner}"
            )
        case BinaryOp(operator=operator, left=left, right=right):
            level = _PRECEDENCE[operator]
            parts = []
            for child, is_right in ((left, False), (right, True)):
                text = render(child)
                if _needs_parentheses(child, level, is_right, operator):
                    text = f"({text})"
                parts.append(text)
            separator = operator if operator in ":/^" else f" {operator} "
            return separator.join(parts)
        case Bar(expression=expression, group=group):
            return f"({render(expression)} | {render(group)})"
    raise TypeError(f"not a syntax node: {node!r}")


def _needs_parentheses(child: Node, level: int, is_right: bool, operator: str = "-") -> bool:
    if isinstance(child, UnaryOp):
        return level > _NEGATION_LEVEL
    if not isinstance(child, BinaryOp):
        return False
    child_level = _PRECEDENCE[child.operator]
    mixes_product_and_nesting = {child.operator, operator} == {"*", "/"}
    return child_level < level or (child_level == level and is_right) or mixes_product_and_nesting
