"""Tests of glpp.syntax.resolve: every statement kind and every meaning error."""

from __future__ import annotations

import pytest

from glpp.errors import SpecError
from glpp.ir import (
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
from glpp.syntax import build_spec, parse, resolve


def regression(source: str) -> Regression:
    (only,) = build_spec(source).regressions
    return only


def error_of(source: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        build_spec(source)
    return caught.value


def assert_error(source: str, fragment: str, marker: str, occurrence: int = 1) -> None:
    """The error names ``fragment`` and its caret is at the ``occurrence``-th ``marker``."""
    error = error_of(source)
    assert fragment in error.message
    position = -1
    for _ in range(occurrence):
        position = source.index(marker, position + 1)
    assert error.position == position, (error.position, position, str(error))


# --- regressions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "fixed"),
    [
        ("x1 + x2", "1 + x1 + x2"),
        ("1 + x1", "1 + x1"),
        ("x1 + 1", "1 + x1"),
        ("0 + item", "0 + item"),
        ("item - 1", "0 + item"),
        ("item -1", "0 + item"),
        ("-1 + item", "0 + item"),
        ("1", "1"),
        ("a*b - a:b", "1 + a * b - a:b"),
        ("a:b + C(x) + I(x^2) + log(t)", "1 + a:b + C(x) + I(x^2) + log(t)"),
        ("(a + b)^2", "1 + (a + b)^2"),
        ("C(x, levels=[1, 2])", "1 + C(x, levels=[1, 2])"),
        ("`my x`", "1 + `my x`"),
    ],
)
def test_fixed_part_has_explicit_intercept(formula, fixed):
    assert regression(f"y ~ {formula}").fixed == fixed


def test_full_regression_statement():
    spec = build_spec("y ~ x1 + offset(log(n)) + (1 + x1 | g) + (1 | a/b)")
    assert spec.regressions == (
        Regression(
            response=Response("y"),
            fixed="1 + x1",
            offsets=("log(n)",),
            random=(
                RandomTerm("1 + x1", ("g",)),
                RandomTerm("1", ("a",)),
                RandomTerm("1", ("a", "b")),
            ),
        ),
    )


def test_only_random_terms_leaves_intercept():
    assert regression("y ~ (1 | g)").fixed == "1"
    assert regression("y ~ 0 + (1 | g)").fixed == "0"


def test_several_offsets_in_order():
    assert regression("y ~ offset(a) + x + offset(log(b + 1))").offsets == ("a", "log(b + 1)")


@pytest.mark.parametrize(
    ("term", "expression", "groups"),
    [
        ("(1 | g)", "1", [("g",)]),
        ("(x | g)", "1 + x", [("g",)]),
        ("(0 + x | g)", "0 + x", [("g",)]),
        ("(x - 1 | g)", "0 + x", [("g",)]),
        ("(1 + x + z | g)", "1 + x + z", [("g",)]),
        ("(1 | a:b)", "1", [("a", "b")]),
        ("(x | a/b)", "1 + x", [("a",), ("a", "b")]),
        ("(1 | a/b/c)", "1", [("a",), ("a", "b"), ("a", "b", "c")]),
        ("(1 | a/(b/c))", "1", [("a",), ("a", "b"), ("a", "b", "c")]),
        ("(1 | a:b/c)", "1", [("a", "b"), ("a", "b", "c")]),
        ("(1 | `my g`)", "1", [("my g",)]),
        ("(1 +\n x | g)", "1 + x", [("g",)]),
    ],
)
def test_random_terms(term, expression, groups):
    random = regression(f"y ~ x + {term}").random
    assert random == tuple(RandomTerm(expression, group) for group in groups)


@pytest.mark.parametrize(
    ("lhs", "response"),
    [
        ("y", Response("y")),
        ("log(y)", Response("log(y)")),
        ("`my y`", Response("`my y`")),
        ("cbind(s, n - s)", Response("s", failures="n - s")),
        ("cbind(s, f)", Response("s", failures="f")),
    ],
)
def test_response(lhs, response):
    assert regression(f"{lhs} ~ x").response == response


# --- latent-variable statements ----------------------------------------------


def test_measurement_with_fixed_labelled_and_free_loadings():
    spec = build_spec("F =~ y1 + 1*y2 + a*y3 + NA*y4 + -0.5*y5")
    assert spec.measurements == (
        Measurement(
            latent="F",
            indicators=(
                Indicator("y1"),
                Indicator("y2", fixed=1.0),
                Indicator("y3", label="a"),
                Indicator("y4", force_free=True),
                Indicator("y5", fixed=-0.5),
            ),
            level=None,
        ),
    )
    assert spec.regressions == ()


def test_measurement_at_a_level():
    (measurement,) = build_spec("F@school =~ item").measurements
    assert measurement == Measurement("F", (Indicator("item"),), level="school")


def test_latent_regression_on_covariates_and_latents():
    spec = build_spec("F =~ y1 + y2\nG =~ y3 + y4\nF ~ x + b*G + 1*z")
    assert spec.latent_regressions == (
        LatentRegression(
            "F", (Indicator("x"), Indicator("G", label="b"), Indicator("z", fixed=1.0))
        ),
    )
    assert spec.regressions == ()


def test_regression_of_a_latent_defined_later_is_still_structural():
    spec = build_spec("F ~ x\nF@g =~ item")
    assert spec.latent_regressions == (LatentRegression("F", (Indicator("x"),)),)


def test_regression_of_an_observed_variable_stays_a_regression():
    spec = build_spec("F =~ y1 + y2\ny3 ~ x")
    assert spec.latent_regressions == ()
    assert spec.regressions == (Regression(Response("y3"), "1 + x"),)


def test_class_model_makes_its_latent_structural():
    spec = build_spec("C ~~ classes(3)\nC ~ v1 + v2\nu ~ 1 + (1 | g)")
    assert spec.distributions == (LatentDistribution("C", "classes", 3),)
    assert spec.latent_regressions == (LatentRegression("C", (Indicator("v1"), Indicator("v2"))),)
    assert len(spec.regressions) == 1


def test_covariances_and_fixed_variances():
    spec = build_spec("F ~~ G; F ~~ 1*F; G ~~ c*H + NA*K")
    assert spec.covariances == (
        Covariance("F", "G"),
        Covariance("F", "F", fixed=1.0),
        Covariance("G", "H", label="c"),
        Covariance("G", "K"),
    )


def test_masspoints():
    spec = build_spec("F =~ y1 + y2\nF ~~ masspoints(5)")
    assert spec.distributions == (LatentDistribution("F", "masspoints", 5),)
    assert spec.covariances == ()


def test_combined_model_family_link_and_source():
    source = "y ~ x + (1 | g)  # GLMM\nF =~ a + b; F ~ x"
    spec = build_spec(source, family="binomial", link="probit")
    assert (spec.family, spec.link, spec.source) == ("binomial", "probit", source)
    assert (len(spec.regressions), len(spec.measurements), len(spec.latent_regressions)) == (
        1,
        1,
        1,
    )


def test_resolve_is_build_spec_in_two_steps():
    source = "cbind(s, f) ~ x + (1 | g)"
    spec = resolve(parse(source), "binomial", "logit", source)
    assert isinstance(spec, Spec)
    assert spec == build_spec(source, "binomial", "logit")
    assert spec.regressions[0].response.failures == "f"


# --- errors --------------------------------------------------------------------


def test_two_responses():
    assert_error("y1 + y2 ~ x", "'y1 + y2' has more than one response", "+")


def test_cbind_needs_two_arguments():
    assert_error("y ~ x\ncbind(s, f, t) ~ x", "cbind() takes two arguments", "cbind")
    assert_error("cbind(s) ~ x", "got 1", "cbind")


@pytest.mark.parametrize(
    ("source", "function", "marker"),
    [
        ("y ~ x + classes(3)", "classes()", "classes"),
        ("y ~ x:masspoints(2)", "masspoints()", "masspoints"),
        ("y ~ cbind(a, b)", "cbind()", "cbind"),
        ("offset(o) ~ x", "offset()", "offset"),
        ("classes(2) ~ x", "classes()", "classes"),
        ("F =~ y1 + classes(2)", "classes()", "classes"),
        ("F =~ y1\nF ~ offset(o)", "offset()", "offset"),
    ],
)
def test_special_function_out_of_place(source, function, marker):
    error = error_of(source)
    assert error.message.startswith(f"{function} is allowed only")
    assert error.position == source.index(marker)


def test_offset_inside_random_term():
    assert_error(
        "y ~ x + (1 + offset(o) | g)", "'offset(o)' cannot appear inside the random term", "offset"
    )


def test_offset_needs_one_argument():
    assert_error("y ~ offset(a, b)", "offset() takes one expression", "offset")


@pytest.mark.parametrize(
    ("source", "marker"), [("y ~ x - offset(o)", "offset"), ("y ~ x - (1 | g)", "(")]
)
def test_offset_and_random_term_cannot_be_removed(source, marker):
    assert_error(source, "cannot be removed with '-'", marker)


def test_random_term_inside_another_term():
    assert_error("y ~ x:(1 | g)", "random term '(1 | g)' must be a term of its own", "(")


def test_random_term_nested_in_random_term():
    assert_error("y ~ (1 + (1 | h) | g)", "'(1 | h)' cannot appear inside the random term", "(", 2)


@pytest.mark.parametrize("term", ["(0 | g)", "(-1 | g)", "(1 - 1 | g)"])
def test_random_term_without_variables(term):
    source = f"y ~ x + {term}"
    error = error_of(source)
    assert f"random term '{term}' has no intercept and no variables" in error.message
    assert error.position == source.index(term) + 1


@pytest.mark.parametrize(
    ("group", "bad"),
    [("g + h", "g + h"), ("g*h", "g*h"), ("log(g)", "log(g)"), ("1", "1"), ("a:(b/c)", "a:(b/c)")],
)
def test_random_term_group_must_be_names(group, bad):
    source = f"y ~ (1 | {group})"
    error = error_of(source)
    assert f"'{bad}' is not a grouping" in error.message
    assert error.position == source.index("|") + 2


def test_bad_group_inside_nesting_points_at_the_bad_part():
    assert_error("y ~ (1 | a/log(b))", "'log(b)' is not a grouping", "log")


@pytest.mark.parametrize(
    ("source", "fragment", "marker"),
    [
        ("y ~ 2 + x", "number '2' is not a term", "2"),
        ("y ~ 1*x", "number '1' is not a term", "1"),
        ("y ~ x + NA", "NA is allowed only as NA*name", "NA"),
        ("y ~ F@g", "'F@g': '@' gives a latent its level", "F@g"),
        ("F@g ~ x", "'F@g': '@' gives a latent its level", "F@g"),
        ("y ~ x:(-z)", "'-z': '-' can only remove a whole term", "-"),
    ],
)
def test_formula_terms_that_formulaic_would_misread(source, fragment, marker):
    assert_error(source, fragment, marker)


@pytest.mark.parametrize(
    ("source", "term", "marker"),
    [
        ("F =~ y1 + f(y2)", "'f(y2)'", "f("),
        ("F =~ y1 + y2:y3", "'y2:y3'", "y2:"),
        ("F =~ y1 + (1 | g)", "'(1 | g)'", "("),
        ("F =~ y1 + 2", "'2'", "2"),
        ("F =~ y1 - y2", "'-y2'", "y2"),
        ("F =~ y1 + a*b*y2", "'a*b*y2'", "a*"),
        ("F =~ y1 + x*2", "'x*2'", "x*"),
    ],
)
def test_measurement_right_side_must_be_loading_terms(source, term, marker):
    error = error_of(source)
    assert f"{term} is not a valid term on the right of '=~'" in error.message
    assert "1*name (fixed), a*name (labelled) or NA*name (free)" in error.message
    assert error.position == source.index(marker)


@pytest.mark.parametrize("lhs", ["log(F)", "F + G", "1", "NA", "(F | g)"])
def test_measurement_left_side_must_be_a_latent(lhs):
    error = error_of(f"{lhs} =~ y1")
    assert f"'{lhs}' cannot be defined by '=~'" in error.message
    assert error.position == 0


def test_measurement_left_side_error_names_the_term():
    assert_error("y ~ x\nF + G =~ y1", "'F + G' cannot be defined by '=~'", "F")


def test_latent_defined_twice():
    source = "F =~ y1 + y2\ny ~ x\nF =~ y3"
    error = error_of(source)
    assert "latent 'F' is already defined by '=~' on line 1" in error.message
    assert error.position == source.rindex("F")


def test_latent_defined_twice_across_levels():
    assert_error("F =~ y1\nF@g =~ item", "latent 'F' is already defined", "F@g")


@pytest.mark.parametrize("source", ["F =~ y1\nF ~ x + F", "F =~ y1\nF ~ b*F"])
def test_latent_regressed_on_itself(source):
    assert_error(source, "latent 'F' is regressed on itself", "F", occurrence=3)


def test_latent_regression_terms_must_be_names():
    source = "F =~ y1\nF ~ x + (1 | g)"
    error = error_of(source)
    assert (
        "'(1 | g)' is not a valid term on the right of 'F ~' (F is a latent variable)"
        in error.message
    )
    assert error.position == source.index("(")


def test_covariance_left_side_must_be_a_name():
    assert_error("F@g ~~ G", "'F@g' cannot be on the left of '~~'", "F")


def test_unknown_distribution():
    assert_error("C ~~ clusters(3)", "unknown distribution 'clusters()'", "clusters")


@pytest.mark.parametrize("argument", ["2.5", "1", "0", "x", "3, 4"])
def test_classes_needs_a_whole_number_of_at_least_two(argument):
    source = f"C ~~ classes({argument})"
    error = error_of(source)
    assert (
        f"classes() takes one whole number of at least 2, e.g. classes(3); got '{argument}'"
        in error.message
    )
    expected = source.index("classes") if "," in argument else source.index("(") + 1
    assert error.position == expected


def test_masspoints_without_argument():
    assert_error("F ~~ masspoints()", "masspoints() takes one whole number", "masspoints")


def test_syntax_errors_come_through_build_spec():
    assert_error("y ~ x +", "expected a term after '+'", "+")
    assert_error("", "empty", "")


# --- level blocks ----------------------------------------------------------------
TWO_LEVEL = "level: 1\nfw =~ y1 + y2 + y3\nlevel: school\nfb =~ y1 + y2 + y3"


def test_level_blocks_give_latents_their_level_and_items_between_residuals():
    spec = build_spec(TWO_LEVEL)
    assert [(m.latent, m.level) for m in spec.measurements] == [("fw", None), ("fb", "school")]
    assert spec.level_residuals == tuple(LevelResidual(item, "school") for item in ("y1", "y2", "y3"))
    assert spec.declared_levels == ("school",)
    assert spec.covariances == ()


def test_level_within_is_the_units_and_at_outside_blocks_adds_no_residuals():
    assert build_spec(TWO_LEVEL.replace("level: 1", "level: within")).measurements == build_spec(TWO_LEVEL).measurements
    spec = build_spec("fw =~ y1 + y2 + y3\nfb@school =~ y1 + y2 + y3")
    assert spec.measurements[1].level == "school" and spec.level_residuals == () and spec.declared_levels == ()


def test_between_residuals_removed_and_added_in_the_block():
    spec = build_spec(TWO_LEVEL + "\ny2 ~~ 0*y2\ny4 ~~ y4\nfb ~~ 1*fb")
    assert [r.item for r in spec.level_residuals] == ["y1", "y3", "y4"]
    # statements about latents stay latent statements
    assert spec.covariances == (Covariance("fb", "fb", fixed=1.0),)


def test_unit_block_covariances_stay_residual_covariances():
    spec = build_spec("level: 1\nfw =~ y1 + y2 + y3\ny1 ~~ y2\nlevel: school\nfb =~ y1 + y2")
    assert spec.covariances == (Covariance("y1", "y2"),)


def test_level_declared_twice():
    source = TWO_LEVEL + "\nlevel: school\nfc =~ y4 + y5"
    assert_error(source, "level 'school' is already declared on line 3 ('level: school')", "school", occurrence=2)
    assert_error("level: 1\nF =~ y1\nlevel: within\nG =~ y2", "level 'within' is already declared on line 1", "within")


def test_level_by_number_other_than_one():
    assert_error("level: 1\nF =~ y1\nlevel: 2\nG =~ y1", "glpp names a level by its grouping column", "2")


def test_latent_at_another_level_inside_a_block():
    assert_error("level: school\nF@class =~ y1", "'F@class =~ ...' is in the 'level: school' block", "F@")
    assert_error("level: 1\nF@class =~ y1", "is in the 'level: 1' block", "F@")


@pytest.mark.parametrize(
    ("statement", "fragment"),
    [
        ("y1 ~~ y2", "between-level residual covariances of items are not supported"),
        ("y1 ~~ 2*y1", "a between-level residual variance is free"),
        ("y1 ~~ a*y1", "a between-level residual variance is free"),
    ],
)
def test_between_residual_statements_that_mean_nothing(statement, fragment):
    assert_error(TWO_LEVEL + "\n" + statement, fragment, statement)
