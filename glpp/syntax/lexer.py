"""Model string -> tokens, each with its source span.

Statements are separated by newlines or ``;``; newlines inside parentheses
continue the statement.  ``#`` starts a comment that runs to the end of the
line.  Characters the model syntax does not use (``=``, ``[``, quotes, ...)
become ``"other"`` and ``"string"`` tokens so that the arguments of function
calls such as ``C(x, levels=[1, 2])`` can be kept verbatim; the parser rejects
them anywhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from glpp.errors import SpecError

__all__ = ["OPERATORS", "Token", "TokenKind", "tokenize"]

TokenKind = Literal["name", "number", "na", "string", "operator", "separator", "other", "end"]

#: Operators of the model syntax, two-character ones first.
OPERATORS = ("=~", "~~", "~", "+", "-", "*", ":", "/", "^", "|", "@", "(", ")", ",")

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"(?:[^\W\d]|\.)[\w.]*")
_NAME_CHARACTER = re.compile(r"[\w.]")


@dataclass(frozen=True, slots=True)
class Token:
    """One token of a model string.

    Attributes
    ----------
    kind : TokenKind
        ``"name"``, ``"number"``, ``"na"`` (the keyword ``NA``), ``"string"``,
        ``"operator"``, ``"separator"`` (newline or ``;``), ``"other"`` (any
        other single character) or ``"end"``.
    text : str
        The token's text; for a backtick-quoted name, the name without the
        backticks.
    start, end : int
        Zero-based source offsets: ``source[start:end]`` is the raw token.
    quoted : bool
        The name was written in backticks.
    """

    kind: TokenKind
    text: str
    start: int
    end: int
    quoted: bool = False


def tokenize(source: str) -> list[Token]:
    """Split a model string into tokens.

    Parameters
    ----------
    source : str
        The model string.

    Returns
    -------
    list of Token
        The tokens in order, ending with one ``"end"`` token.

    Raises
    ------
    SpecError
        On ``||``, an unterminated backtick name or string, a malformed
        number, or unbalanced parentheses.

    Examples
    --------
    >>> [token.text for token in tokenize("y ~ x + (1 | g)")][:4]
    ['y', '~', 'x', '+']
    """
    tokens: list[Token] = []
    open_parentheses: list[int] = []
    position = 0
    while position < len(source):
        character = source[position]
        if character == "#":
            line_end = source.find("\n", position)
            position = len(source) if line_end == -1 else line_end
        elif character in "\n;" and not (character == "\n" and open_parentheses):
            tokens.append(Token("separator", character, position, position + 1))
            position += 1
        elif character.isspace():
            position += 1
        elif character in "`'\"":
            token = _quoted(source, position)
            tokens.append(token)
            position = token.end
        elif number := _NUMBER.match(source, position):
            end = number.end()
            if end < len(source) and _NAME_CHARACTER.match(source, end):
                word = re.compile(r"[\w.]*").match(source, position).group()
                raise SpecError(
                    f"'{word}' is neither a number nor a name; "
                    f"write a name that starts with a digit in backticks: `{word}`",
                    source,
                    position,
                )
            tokens.append(Token("number", number.group(), position, end))
            position = end
        elif name := _NAME.match(source, position):
            kind: TokenKind = "na" if name.group() == "NA" else "name"
            tokens.append(Token(kind, name.group(), position, name.end()))
            position = name.end()
        elif source.startswith("||", position):
            raise SpecError(
                "'||' (uncorrelated random effects) is not supported; "
                "write one term per effect instead, e.g. (1 | g) + (0 + x | g)",
                source,
                position,
            )
        else:
            operator = next((op for op in OPERATORS if source.startswith(op, position)), None)
            if operator == "(":
                open_parentheses.append(position)
            elif operator == ")":
                if not open_parentheses:
                    raise SpecError("unmatched ')': there is no '(' before it", source, position)
                open_parentheses.pop()
            text = operator or character
            kind = "operator" if operator else "other"
            tokens.append(Token(kind, text, position, position + len(text)))
            position += len(text)
    if open_parentheses:
        raise SpecError("'(' is never closed: expected ')'", source, open_parentheses[-1])
    tokens.append(Token("end", "", len(source), len(source)))
    return tokens


def _quoted(source: str, start: int) -> Token:
    """A backtick-quoted name or a quoted string starting at ``start``."""
    quote = source[start]
    end = source.find(quote, start + 1)
    line_end = source.find("\n", start + 1)
    if end == -1 or (line_end != -1 and line_end < end):
        what = "name" if quote == "`" else "string"
        raise SpecError(f"unterminated {what}: expected a closing {quote}", source, start)
    if quote != "`":
        return Token("string", source[start : end + 1], start, end + 1)
    if end == start + 1:
        raise SpecError("empty name: write a column name between the backticks", source, start)
    return Token("name", source[start + 1 : end], start, end + 1, quoted=True)
