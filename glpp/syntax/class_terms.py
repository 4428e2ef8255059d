"""Regression terms with a latent class variable, and the ``known=`` argument of ``classes()``.

``y ~ x + C + C1:z`` with ``C ~~ classes(2)``: ``C`` is an intercept per class, ``C:x`` a
slope of ``x`` per class, ``C1`` and ``C1:x`` a coefficient in class 1 only (0 in the
others). These terms are taken out of the fixed part (formulaic never sees ``C``) as
:class:`glpp.ir.ClassTerm` records. A name ``C1`` is class 1 of ``C`` whenever ``C`` is a
class variable, also where the data have a column ``C1``.
"""

from __future__ import annotations

import re

from glpp.errors import SpecError
from glpp.ir import ClassTerm
from glpp.syntax.parser import BinaryOp, Call, Name, Node, UnaryOp, render

__all__ = ["class_term", "known_argument"]


def _text(node, source: str) -> str:
    return source[node.start : node.end]


def _class_name(node: Node, class_latents: dict[str, int], source: str) -> tuple[str, int | None] | None:
    """``C`` -> ``("C", None)``, ``C2`` -> ``("C", 2)`` for a class variable ``C``; else ``None``."""
    if not isinstance(node, Name):
        return None
    if node.name in class_latents:
        return node.name, None
    stem = node.name.rstrip("0123456789")
    if stem not in class_latents or stem == node.name:
        return None
    number, n_classes = int(node.name[len(stem):]), class_latents[stem]
    if not 1 <= number <= n_classes:
        raise SpecError(
            f"'{node.name}': {stem} has {n_classes} classes ({stem} ~~ classes({n_classes})); "
            f"name a class {stem}1 to {stem}{n_classes}",
            source,
            node.start,
        )
    return stem, number


def _interaction_factors(node: Node) -> list[Node]:
    if isinstance(node, BinaryOp) and node.operator == ":":
        return _interaction_factors(node.left) + _interaction_factors(node.right)
    return [node]


def _mentioned_names(node: Node) -> set[str]:
    match node:
        case Name(name=name):
            return {name}
        case BinaryOp(left=left, right=right):
            return _mentioned_names(left) | _mentioned_names(right)
        case UnaryOp(operand=operand):
            return _mentioned_names(operand)
        case Call(arguments=arguments):
            return {word for argument in arguments for word in re.findall(r"[A-Za-z_][A-Za-z_0-9.]*", argument.text)}
    return set()


def class_term(term: Node, class_latents: dict[str, int], source: str) -> ClassTerm | None:
    """A regression term with a latent class variable (``C``, ``C1``, ``C:x``, ``x:C2``), else ``None``.

    Raises
    ------
    SpecError
        The class variable used otherwise (``C*x``, ``log(C)``), or a class number beyond ``k``.
    """
    if not class_latents:
        return None
    factors = _interaction_factors(term)
    named = [(k, _class_name(factor, class_latents, source)) for k, factor in enumerate(factors)]
    classes = [(k, found) for k, found in named if found is not None]
    if len(classes) == 1:
        position, (latent, number) = classes[0]
        rest = [render(factor) for k, factor in enumerate(factors) if k != position]
        others = set().union(*(_mentioned_names(f) for k, f in enumerate(factors) if k != position))
        if not _mentions_class(others, class_latents):
            return ClassTerm(latent, number, ":".join(rest) if rest else "1")
    if classes or _mentions_class(_mentioned_names(term), class_latents):
        latent = next(iter(class_latents))
        raise SpecError(
            f"'{_text(term, source)}': a latent class variable enters a regression as {latent} "
            f"(an intercept per class), {latent}:x (a slope per class), {latent}1 or {latent}1:x "
            f"(class 1 only); write e.g. {latent} + {latent}:x instead of {latent}*x",
            source,
            term.start,
        )
    return None


def _mentions_class(names: set[str], class_latents: dict[str, int]) -> bool:
    return any(name.rstrip("0123456789") in class_latents for name in names)


def known_argument(latent: str, call: Call, source: str) -> str | None:
    """The column of ``classes(k, known = col)`` (``None`` without it).

    Raises
    ------
    SpecError
        A keyword other than ``known``, ``known`` of mass points, or no column name.
    """
    keywords = [argument for argument in call.arguments if "=" in argument.text]
    if not keywords:
        return None
    argument = keywords[0]
    keyword, _, value = (part.strip() for part in argument.text.partition("="))
    statement = f"'{latent} ~~ {_text(call, source)}'"
    if keyword != "known" or call.function != "classes" or argument is not call.arguments[-1]:
        raise SpecError(
            f"{statement}: the only keyword is known= of classes(), last, e.g. "
            f"classes(2, known = compliance) (a column holding each unit's class where it is known)",
            source,
            argument.start,
        )
    if not re.fullmatch(r"[A-Za-z_][A-Za-z_0-9.]*|`[^`]+`", value):
        raise SpecError(
            f"{statement}: known= takes a column name, e.g. known = compliance; got '{value}'", source, argument.start
        )
    return value.strip("`")
