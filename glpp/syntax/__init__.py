"""The model-string front end: text -> tokens -> syntax tree -> :class:`glpp.ir.Spec`.

Each stage is a pure function usable alone: :func:`tokenize`, :func:`parse`,
:func:`resolve`; :func:`build_spec` chains the last two; :func:`to_model_string`
writes a Spec back.
"""

from glpp.syntax.lexer import tokenize
from glpp.syntax.parser import parse
from glpp.syntax.printer import to_model_string
from glpp.syntax.resolve import build_spec, resolve

__all__ = ["build_spec", "parse", "resolve", "to_model_string", "tokenize"]
