"""The documentation site: every model string on its pages parses, every Python example of the
language reference builds its model on the library's data (nothing is fitted), the pages
generated from the model library build their models, and ``mkdocs build --strict`` succeeds."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import glpp
import model_library
from glpp.syntax import build_spec

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^( *)```(\w+)\n(.*?)^\1```$", flags=re.MULTILINE | re.DOTALL)
#: the data frames the language reference's Python examples use: their name there -> a library
#: model on that data
EXAMPLE_DATA = {
    "toenail": "toenail", "holzinger": "holzinger_cfa", "exam": "exam", "wine": "wine",
    "endogenous_treatment": "endogenous_treatment",
}
HOOKS = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")


def code_blocks(language: str, pages: list[Path]) -> list[tuple[str, str]]:
    """(page: line, code) of every fenced block of ``language`` (indented fences included)."""
    blocks = []
    for page in pages:
        text = page.read_text()
        for match in FENCE.finditer(text):
            if match.group(2) == language:
                indent = len(match.group(1))
                code = "\n".join(line[indent:] for line in match.group(3).splitlines())
                blocks.append((f"{page.relative_to(ROOT)}:{text[: match.start()].count(chr(10)) + 1}", code))
    return blocks


MODEL_STRINGS = code_blocks("glpp", sorted(DOCS.rglob("*.md")))
LANGUAGE_EXAMPLES = code_blocks("python", [DOCS / "language.md"])


def test_the_language_reference_has_examples():
    assert len(MODEL_STRINGS) >= 20 and len(LANGUAGE_EXAMPLES) >= 6


@pytest.mark.parametrize(("where", "model_string"), MODEL_STRINGS, ids=[where for where, _ in MODEL_STRINGS])
def test_model_string_in_the_docs_parses(where, model_string):
    spec = build_spec(model_string)
    assert spec is not None, where


@pytest.mark.parametrize(("where", "code"), LANGUAGE_EXAMPLES, ids=[where for where, _ in LANGUAGE_EXAMPLES])
def test_python_example_of_the_language_reference_builds(where, code):
    assert ".fit(" not in code and ".sample(" not in code, f"{where}: examples here are not fitted"
    data = {name: model_library.read_data(model) for name, model in EXAMPLE_DATA.items()}
    namespace = {"glpp": glpp, "pd": pd, **data}
    exec(compile(code, where, "exec"), namespace)  # noqa: S102 - the documentation's own examples


@pytest.mark.parametrize("name", list(model_library.MODELS))
def test_generated_library_example_builds_the_library_model(name, monkeypatch):
    hooks = importlib.util.module_from_spec(HOOKS)
    HOOKS.loader.exec_module(hooks)
    code = hooks.glpp_call(name)
    monkeypatch.chdir(ROOT)
    namespace = {"glpp": glpp, "pd": pd}
    exec(code[: code.index("fit = ")], namespace)  # noqa: S102 - the generated page's example
    built, library = namespace["model"], model_library.load(name)
    assert (built.spec, built.layout.n_theta) == (library.spec, library.layout.n_theta)


def test_readme_commands_are_on_the_getting_started_page():
    hooks = importlib.util.module_from_spec(HOOKS)
    HOOKS.loader.exec_module(hooks)
    assert "<!-- readme: commands -->" in (DOCS / "getting-started.md").read_text()
    assert "python -m model_library toenail" in hooks.readme_commands()


def test_mkdocs_builds_strictly(tmp_path):
    if any(importlib.util.find_spec(name) is None for name in ("mkdocs", "mkdocstrings", "mkdocs_jupyter")):
        pytest.skip('mkdocs is not installed (pip install -e ".[docs]")')
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", **_environment()},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "families" / "glmm" / "index.html").exists()
    assert "glpp.Model.fit" in (tmp_path / "site" / "api" / "index.html").read_text()


def _environment() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_readme_compares_features_and_links_the_docs():
    readme = (ROOT / "README.md").read_text()
    assert "](docs/index.md)" in readme
    header = "| feature | glpp | lme4 | glmmTMB | lavaan | mirt | gllamm | bambi |"
    table = readme[readme.index(header):].split("\n\n")[0].splitlines()[2:]
    assert len(table) >= 10
    for row in table:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 8 and all(re.fullmatch(r"[YN]( \[\d\])?", cell) for cell in cells[1:]), row


# ------------------------------------------------------------------ numbers in the README and docs
# Each number quoted in README.md or docs/ below is recomputed here, so that the text cannot drift
# from what the code gives.


def test_readme_sleepstudy_likelihood_ratio_statistic_is_the_computed_one():
    sleep = model_library.read_data("sleepstudy.csv")
    intercept = glpp.Model("reaction ~ days + (1 | subject)", data=sleep).fit()
    test = glpp.lrtest(intercept, model_library.load("sleepstudy").fit())
    assert f"statistic {test.statistic:.3f} on {test.df} df" in (ROOT / "README.md").read_text()


def test_readme_mimic_summary_excerpt_is_the_printed_summary():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```\nRandom effects:\n") + len("```\n")
    excerpt = readme[start : readme.index("```", start)].splitlines()
    printed = [line.rstrip() for line in str(model_library.load("holzinger_mimic").fit().summary()).splitlines()]
    first = printed.index(excerpt[0].rstrip())
    assert [line.rstrip() for line in excerpt] == printed[first : first + len(excerpt)]


@pytest.mark.slow
def test_documented_guimmun_points_are_where_nip_auto_settles():
    fit = model_library.load("guimmun").fit(nip="auto")
    assert f"`fit.nip == {fit.nip}`" in (ROOT / "README.md").read_text()
    assert f"e.g. `{fit.nip}` for\n  mothers" in (DOCS / "user-guide.md").read_text()


@pytest.mark.slow
def test_documented_marginal_points_are_what_choose_nip_picks():
    from glpp.bayes import choose_nip

    two_pl = glpp.Model("F =~ i1 + i2 + i3 + i4 + i5 + i6", data=model_library.read_data("verbagg_wide.csv"),
                        family="binomial")
    points = [choose_nip(model) for model in (model_library.load("toenail"), two_pl, model_library.load("sleepstudy"))]
    guide = " ".join((DOCS / "user-guide.md").read_text().split())
    expected = "toenail needs {}, a 2PL on six VerbAgg items {}, gaussian models {}".format(*points)
    assert expected in guide


@pytest.mark.slow
def test_user_guide_latent_class_log_likelihoods_are_the_fitted_ones():
    guide = " ".join((DOCS / "user-guide.md").read_text().split())
    two, three = (model_library.load(name).fit() for name in ("verbagg_lca2", "verbagg_lca3"))
    assert (f"log-likelihood {two.loglik:.4f} (2 classes, {two.n_params} parameters) and "
            f"{three.loglik:.4f} (3 classes, {three.n_params})") in guide
    cace = model_library.load("cace").fit()
    assert (f"gives log-likelihood {cace.loglik:.4f} and `beta[C1:z]` {cace.params['beta[C1:z]']:.3f} "
            f"(SE {cace.se['beta[C1:z]']:.3f};") in guide
    growth = model_library.load("growth_mixture").fit()
    assert f"this gives {growth.loglik:.4f} with every estimate" in guide
