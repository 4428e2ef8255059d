"""The model-string front end: text -> tokens -> syntax tree -> :class:`glpp.ir.Spec`.

Each stage is a pure function usable alone: :func:`tokenize`, :func:`parse`,
:func:`resolve`; :func:`build_spec` chains the last two.
"""

from glpp.syntax.lexer import tokenize
from glpp.syntax.parser import parse
from glpp.syntax.resolve import build_spec, resolve

__all__ = ["build_spec", "parse", "resolve", "tokenize"]
