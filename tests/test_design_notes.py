"""Defaults a user should know are stated, not silent: a first loading freed by a fixed variance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import glpp

DATA = Path(__file__).resolve().parents[1] / "model_library" / "data"


@pytest.fixture(scope="module")
def holzinger() -> pd.DataFrame:
    return pd.read_csv(DATA / "holzinger.csv")


def test_a_fixed_variance_frees_the_first_loading_and_says_so(holzinger):
    model = glpp.Model("F =~ x1 + x2 + x3\nF ~~ 1*F", holzinger)
    assert "lambda[F,x1]" in model.layout.names("loading")
    assert model.design.notes == (
        "lambda[F,x1] is free: 'F ~~ 1*F' fixes F's scale instead; write 'F =~ 1*x1 + ...' to fix the "
        "loading as well",
    )


@pytest.mark.parametrize(
    "source, std_lv",
    [("F =~ 1*x1 + x2 + x3\nF ~~ 1*F", False), ("F =~ x1 + x2 + x3", False), ("F =~ x1 + x2 + x3", True)],
)
def test_no_note_where_nothing_was_left_to_a_default(holzinger, source, std_lv):
    assert glpp.Model(source, holzinger, std_lv=std_lv).design.notes == ()


def test_an_explicit_marker_with_a_fixed_variance_keeps_both(holzinger):
    model = glpp.Model("F =~ 1*x1 + x2 + x3\nF ~~ 1*F", holzinger)
    assert "lambda[F,x1]" not in model.layout.names("loading")
