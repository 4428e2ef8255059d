"""Properties of the model-string front end, checked on generated input (hypothesis).

- Any text either parses or raises :class:`glpp.SpecError`: never another exception.
- A parsed Spec printed with :func:`glpp.syntax.to_model_string` parses to the same Spec.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glpp.errors import SpecError
from glpp.syntax import build_spec, to_model_string

EXAMPLES = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: the characters of model strings, with some that have no meaning there
ALPHABET = "yxFGabg0123456789 \n;#~=@*+-/:|()`'\"._,^!NAclassesmpointoffsetcbind"

LATENTS = ("F", "G", "H")
ITEMS = ("y1", "y2", "y3", "y4", "`my item`")
COVARIATES = ("x1", "x2", "age.c")
GROUPS = ("g", "school", "class")


def _indicator(names):
    prefix = st.sampled_from(["", "", "1*", "0.5*", "-2*", "a*", "b*", "NA*"])
    return st.builds(lambda p, n: p + n, prefix, st.sampled_from(names))


def _sum(terms, min_size=1, max_size=4):
    return st.lists(terms, min_size=min_size, max_size=max_size).map(" + ".join)


_fixed = _sum(st.sampled_from(["1", "0", "x1", "x2", "x1:x2", "C(x2)", "np.log(x1)", "I(x1 ** 2)"]))
_grouping = st.sampled_from(["g", "school", "school/class", "school:class", "`my group`"])
_random = st.builds(lambda e, g: f"({e} | {g})", st.sampled_from(["1", "1 + x1", "0 + x2", "x1"]), _grouping)
_regression = st.builds(
    lambda response, fixed, offset, random: f"{response} ~ {fixed}{offset}{random}",
    st.sampled_from(["y", "cbind(s, n - s)", "log(y)"]),
    _fixed,
    st.sampled_from(["", " + offset(log(t))"]),
    st.lists(_random, max_size=2).map(lambda terms: "".join(" + " + term for term in terms)),
)
_measurement = st.builds(
    lambda latent, level, items: f"{latent}{level} =~ {items}",
    st.sampled_from(LATENTS),
    st.sampled_from(["", "", "@school"]),
    _sum(_indicator(ITEMS)),
)
_structural = st.builds(
    lambda latent, predictors: f"{latent} ~ {predictors}",
    st.sampled_from(LATENTS),
    _sum(_indicator(LATENTS + COVARIATES), max_size=3),
)
_covariance = st.builds(
    lambda left, right: f"{left} ~~ {right}",
    st.sampled_from(LATENTS + ITEMS[:2]),
    st.one_of(_indicator(LATENTS + ITEMS[:2]), st.sampled_from(["classes(3)", "masspoints(4)"])),
)
_level = st.sampled_from(["level: 1", "level: school", "level: within"])
_statement = st.one_of(_regression, _measurement, _measurement, _structural, _covariance, _level)
_model = st.lists(_statement, min_size=1, max_size=6).flatmap(
    lambda statements: st.sampled_from(["\n", "; "]).map(lambda separator: separator.join(statements))
)


@EXAMPLES
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_any_text_parses_or_raises_a_spec_error(text):
    try:
        build_spec(text)
    except SpecError:
        pass


@EXAMPLES
@given(_model)
def test_any_generated_model_parses_or_raises_a_spec_error(source):
    try:
        build_spec(source)
    except SpecError:
        pass


@EXAMPLES
@given(_model)
def test_a_printed_spec_parses_to_the_same_spec(source):
    try:
        spec = build_spec(source)
    except SpecError:
        return
    if "level:" in source and "@school" in source:
        # known limitation: 'G@school =~ ...' outside a 'level: school' block is printed inside it,
        # which changes the order of the block's item residuals (not their set)
        return
    printed = to_model_string(spec)
    assert build_spec(printed) == spec, printed


def test_printing_makes_defaults_explicit():
    spec = build_spec("y ~ x + (1 | a/b)\nF =~ y1 + NA*y2 + 0.5*y3\nF ~~ 1*F")
    assert to_model_string(spec) == (
        "y ~ 1 + x + (1 | a) + (1 | a:b)\nF ~~ 1*F\nF =~ y1 + NA*y2 + 0.5*y3"
    )
