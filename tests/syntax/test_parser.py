"""Tests of glpp.syntax.parser: tree shapes, precedence, rendering, syntax errors."""

from __future__ import annotations

import pytest

from glpp.errors import SpecError
from glpp.syntax.parser import (
    Argument,
    At,
    Bar,
    BinaryOp,
    Call,
    LevelDeclaration,
    Missing,
    Name,
    Number,
    Statement,
    UnaryOp,
    parse,
    render,
)


def rhs(source: str):
    (statement,) = parse(source)
    return statement.rhs


def shape(node) -> object:
    """The tree without spans: nested tuples, for readable comparisons."""
    match node:
        case Name(name=name):
            return name
        case Number(text=text):
            return text
        case Missing():
            return "NA"
        case Call(function=function, arguments=arguments):
            return (function, tuple(argument.text for argument in arguments))
        case At(latent=latent, level=level):
            return ("@", latent.name, level.name)
        case UnaryOp(operand=operand):
            return ("neg", shape(operand))
        case BinaryOp(operator=operator, left=left, right=right):
            return (operator, shape(left), shape(right))
        case Bar(expression=expression, group=group):
            return ("|", shape(expression), shape(group))


def test_statements_split_on_newlines_and_semicolons_and_skip_blank_lines():
    statements = parse("\n# comment\ny ~ x; F =~ a + b\n\nF ~~ G\n")
    assert [s.operator for s in statements] == ["~", "=~", "~~"]
    assert [render(s.lhs) for s in statements] == ["y", "F", "F"]
    assert statements[1].operator_start == "\n# comment\ny ~ x; F =~ a + b".index("=~")


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("a + b - c", ("-", ("+", "a", "b"), "c")),
        ("a + b * c", ("+", "a", ("*", "b", "c"))),
        ("a * b / c", ("*", "a", ("/", "b", "c"))),
        ("a / b : c", ("/", "a", (":", "b", "c"))),
        ("a : b ^ 2", (":", "a", ("^", "b", "2"))),
        ("a:b:c", (":", (":", "a", "b"), "c")),
        ("(a + b):c", (":", ("+", "a", "b"), "c")),
        ("-1 + x", ("+", ("neg", "1"), "x")),
        ("-1*y", ("*", ("neg", "1"), "y")),
        ("- a:b", ("neg", (":", "a", "b"))),
        ("x - 1", ("-", "x", "1")),
    ],
)
def test_operator_precedence_and_associativity(formula, expected):
    assert shape(rhs(f"y ~ {formula}")) == expected


def test_bar_has_lowest_precedence_inside_parentheses():
    node = rhs("y ~ x + (1 + x | a/b)")
    assert shape(node) == ("+", "x", ("|", ("+", "1", "x"), ("/", "a", "b")))
    bar = node.right
    assert (bar.start, bar.end, bar.bar_start) == (8, 21, 15)


def test_doubly_parenthesized_bar_is_still_a_bar():
    assert shape(rhs("y ~ ((1 | g))")) == ("|", "1", "g")


def test_at_binds_a_latent_to_a_level():
    (statement,) = parse("F@school =~ item")
    assert statement.lhs == At(Name("F", 0, 1), Name("school", 2, 8), 0, 8)


def test_call_arguments_are_kept_as_source_text():
    node = rhs('y ~ C(x, levels=["a", "b"]) + I(x**2) + f()')
    assert shape(node) == (
        "+",
        ("+", ("C", ("x", 'levels=["a", "b"]')), ("I", ("x**2",))),
        ("f", ()),
    )


def test_operator_spans_include_parenthesized_operands():
    source = "y ~ (a + b):(c - d) + -(e)"
    node = rhs(source)
    interaction = node.left
    assert source[interaction.start : interaction.end] == "(a + b):(c - d)"
    assert interaction.operator_start == source.index(":")
    assert source[node.right.start : node.right.end] == "-(e)"


def test_call_argument_spans_and_nested_commas():
    (statement,) = parse("cbind(s, g(n, 2) - s) ~ x")
    call = statement.lhs
    assert call == Call("cbind", (Argument("s", 6, 7), Argument("g(n, 2) - s", 9, 20)), 0, 21)


def test_na_number_and_quoted_name_nodes():
    node = rhs("F =~ NA*y1 + 0.5*`y 2`")
    assert isinstance(node.left.left, Missing)
    assert node.right.left == Number(0.5, "0.5", 13, 16)
    assert node.right.right == Name("y 2", 17, 22, quoted=True)


@pytest.mark.parametrize(
    "formula",
    [
        "1 + x1 + x2",
        "a * b - a:b",
        "(a + b):c",
        "a/b:c",
        "(a + b)^2",
        "-(a + b)",
        "log(x) + I(x^2)",
        "x + (1 + x | school/class)",
        "a - (b - c)",
        "`my x` + 1",
    ],
)
def test_render_round_trips(formula):
    node = rhs(f"y ~ {formula}")
    assert render(node) == formula
    assert shape(rhs(f"y ~ {render(node)}")) == shape(node)


def test_render_parenthesizes_product_and_nesting_for_formulaic():
    # our '/' binds tighter than '*'; formulaic gives them equal precedence
    assert render(rhs("y ~ a * b / c")) == "a * (b/c)"
    assert render(rhs("y ~ (a * b) / c")) == "(a * b)/c"


def error_of(source: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        parse(source)
    return caught.value


@pytest.mark.parametrize("source", ["", "   \n", "# only a comment\n;"])
def test_empty_model(source):
    error = error_of(source)
    assert "empty" in error.message and error.position == 0


def test_statement_without_operator_names_the_statement():
    error = error_of("y ~ x\ny + x")
    assert "'y + x' has no operator" in error.message
    assert error.position == 6


def test_two_terms_without_operator():
    error = error_of("y x ~ z")
    assert error.position == 2 and "before 'x'" in error.message


def test_missing_right_hand_side():
    error = error_of("y ~ x\nz ~   # nothing\nw ~ v")
    assert error.position == 8
    assert "'~' needs a right-hand side" in error.message


def test_missing_left_hand_side():
    error = error_of("~ x")
    assert error.position == 0 and "expected a term before '~'" in error.message


@pytest.mark.parametrize(
    ("source", "position", "operator"),
    [("y ~ x +", 6, "+"), ("y ~ a:\nz ~ w", 5, ":"), ("F =~ y1 + 1*; G =~ y2", 11, "*")],
)
def test_trailing_operator_points_at_the_operator(source, position, operator):
    error = error_of(source)
    assert error.position == position
    assert error.message == f"expected a term after '{operator}'"


def test_second_statement_operator_in_one_statement():
    error = error_of("y ~ x ~ z")
    assert error.position == 6 and "one '~', '=~' or '~~'" in error.message


def test_bar_outside_parentheses():
    error = error_of("y ~ x + 1 | g")
    assert error.position == 10 and "only allowed inside parentheses" in error.message


def test_random_term_with_empty_expression():
    error = error_of("y ~ ( | g)")
    assert error.position == 6 and "expected a term before '|'" in error.message


def test_second_bar_in_one_term():
    error = error_of("y ~ (1 | g | h)")
    assert error.position == 11 and "a random term has one '|'" in error.message


def test_missing_operator_inside_parentheses():
    error = error_of("y ~ (a b)")
    assert error.position == 7 and "expected ')' or an operator" in error.message


def test_name_and_parenthesis_apart_is_not_a_call():
    error = error_of("y ~ x (1 | g)")
    assert error.position == 6 and "before '('" in error.message


def test_at_needs_a_level_name():
    error = error_of("F@1 =~ y")
    assert error.position == 2 and "after '@'" in error.message


def test_at_after_something_other_than_a_name():
    error = error_of("(F)@g =~ y")
    assert error.position == 3 and "'@' must directly follow a latent name" in error.message


def test_stray_character_outside_a_call():
    error = error_of("y ~ x = z")
    assert error.position == 6 and "unexpected character '='" in error.message


def test_string_outside_a_call():
    error = error_of("y ~ 'x'")
    assert error.position == 4 and "backticks" in error.message


@pytest.mark.parametrize(("source", "position"), [("y ~ f(a,)", 8), ("y ~ f(, a)", 6)])
def test_empty_call_argument(source, position):
    error = error_of(source)
    assert error.position == position and "empty argument in 'f(...)'" in error.message


def test_statement_separator_inside_a_call():
    error = error_of("y ~ f(a; b)")
    assert error.position == 5 and "expected ')' to close 'f('" in error.message


def test_lexer_errors_propagate_from_parse():
    error = error_of("y ~ x + (1 | g")
    assert error.position == 8


# --- level declarations ---------------------------------------------------------


def test_level_declarations_are_statements_of_their_own():
    source = "level: 1\nfw =~ y1 + y2\nlevel: school; fb =~ y1 + y2"
    parsed = parse(source)
    assert [type(item) for item in parsed] == [LevelDeclaration, Statement, LevelDeclaration, Statement]
    first, third = parsed[0], parsed[2]
    assert first.level == Number(1.0, "1", 7, 8) and (first.start, first.end) == (0, 8)
    assert third.level == Name("school", source.index("school"), source.index("school") + 6)


def test_level_interaction_with_a_statement_operator_is_an_ordinary_statement():
    (statement,) = parse("level:x ~ z")
    assert isinstance(statement, Statement) and shape(statement.lhs) == (":", "level", "x")


@pytest.mark.parametrize(
    ("source", "position", "fragment"),
    [
        ("level:\nF =~ y", 5, "'level:' needs a level"),
        ("level: school class\nF =~ y", 14, "names one grouping column and ends the line"),
        ("level: (a)\nF =~ y", 7, "expected a grouping column name or 1 after 'level:'"),
    ],
)
def test_bad_level_declarations(source, position, fragment):
    error = error_of(source)
    assert error.position == position and fragment in error.message


def test_only_level_declarations_is_an_empty_model():
    assert "empty" in error_of("level: 1").message
