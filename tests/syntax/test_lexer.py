"""Tests of glpp.syntax.lexer: tokens, spans and lexical errors."""

from __future__ import annotations

import pytest

from glpp.errors import SpecError
from glpp.syntax.lexer import Token, tokenize


def kinds_and_texts(source: str) -> list[tuple[str, str]]:
    return [(token.kind, token.text) for token in tokenize(source)]


def test_regression_tokens_and_spans():
    source = "y ~ x1 + (1 | g)"
    tokens = tokenize(source)
    assert [(t.kind, t.text) for t in tokens] == [
        ("name", "y"),
        ("operator", "~"),
        ("name", "x1"),
        ("operator", "+"),
        ("operator", "("),
        ("number", "1"),
        ("operator", "|"),
        ("name", "g"),
        ("operator", ")"),
        ("end", ""),
    ]
    for token in tokens[:-1]:
        assert source[token.start : token.end] == token.text
    assert tokens[-1].start == len(source)


@pytest.mark.parametrize("operator", ["=~", "~~", "~", "+", "-", "*", ":", "/", "^", "@", ","])
def test_each_operator_is_one_token(operator):
    assert kinds_and_texts(f"a {operator} b")[1] == ("operator", operator)


def test_two_character_operators_win_over_one_character():
    assert kinds_and_texts("F=~y1")[:3] == [("name", "F"), ("operator", "=~"), ("name", "y1")]
    assert kinds_and_texts("F~~G")[1] == ("operator", "~~")


@pytest.mark.parametrize("text", ["0", "12", "2.", "0.5", ".5", "1e-3", "2.5E+10"])
def test_numbers(text):
    assert kinds_and_texts(f"x ~ {text}")[2] == ("number", text)


@pytest.mark.parametrize("text", ["x", "x1", "x_1", "x.1", ".x", "contr.treatment", "größe"])
def test_names_with_digits_dots_and_letters(text):
    assert kinds_and_texts(text)[0] == ("name", text)


def test_na_is_a_keyword_but_not_inside_longer_names():
    assert kinds_and_texts("NA*y")[0] == ("na", "NA")
    assert kinds_and_texts("NAME")[0] == ("name", "NAME")


def test_backtick_name_is_unquoted_and_flagged():
    source = "`my y` ~ x"
    token = tokenize(source)[0]
    assert token == Token("name", "my y", 0, 6, quoted=True)
    assert not tokenize(source)[2].quoted


def test_newlines_and_semicolons_separate_statements():
    assert [t.kind for t in tokenize("a ~ b\nc ~ d; e ~ f")].count("separator") == 2


def test_newline_inside_parentheses_continues_the_statement():
    tokens = tokenize("y ~ x + (1 +\n  z | g)\nw ~ v")
    assert [t.text for t in tokens if t.kind == "separator"] == ["\n"]
    assert tokens[[t.text for t in tokens].index("z")].start == 15


def test_comment_runs_to_end_of_line_but_not_further():
    tokens = tokenize("y ~ x # the ~ model (with a paren\nz ~ w")
    assert [t.text for t in tokens] == ["y", "~", "x", "\n", "z", "~", "w", ""]


def test_strings_and_other_characters_become_tokens_for_call_arguments():
    tokens = tokenize('C(x, levels=["a", "b)"])')
    assert ("string", '"b)"') in [(t.kind, t.text) for t in tokens]
    assert ("other", "=") in [(t.kind, t.text) for t in tokens]
    assert ("other", "[") in [(t.kind, t.text) for t in tokens]


def test_hash_inside_a_string_is_not_a_comment():
    assert [t.text for t in tokenize("y ~ f('#') + z")][-2] == "z"


def error_of(source: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        tokenize(source)
    return caught.value


def test_double_bar_is_rejected_with_the_workaround():
    error = error_of("y ~ (1 + x || g)")
    assert error.position == 11
    assert "'||'" in error.message and "(1 | g) + (0 + x | g)" in error.message


def test_unmatched_closing_parenthesis():
    error = error_of("y ~ x)")
    assert error.position == 5 and "unmatched ')'" in error.message


def test_unclosed_parenthesis_points_at_the_innermost_open_one():
    source = "y ~ log((x) + (1 | g\nz ~ w"
    error = error_of(source)
    assert error.position == source.index("(1")
    assert "never closed" in error.message


def test_unterminated_backtick_name():
    error = error_of("y ~ `x y\nz ~ w")
    assert error.position == 4 and "unterminated name" in error.message


def test_empty_backtick_name():
    error = error_of("y ~ ``")
    assert error.position == 4 and "empty name" in error.message


def test_unterminated_string():
    error = error_of("y ~ f('x)")
    assert error.position == 6 and "unterminated string" in error.message


def test_name_starting_with_digit_is_rejected():
    error = error_of("y ~ 1 + 2x")
    assert error.position == 8
    assert "'2x'" in error.message and "`2x`" in error.message


def test_error_message_renders_caret_under_the_position():
    rendered = str(error_of("a ~ b\ny ~ (x || g)"))
    assert "(line 2, column 8)" in rendered
    assert rendered.splitlines()[1:] == ["    y ~ (x || g)", "           ^"]
