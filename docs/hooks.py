"""mkdocs hook: pages take what they show of the model library and the README from the source.

A page line ``<!-- library: CATEGORY -->`` becomes one section per library model of that
category (title, description, equation, the glpp call, the R call of its reference or its
simulated truth); ``<!-- library: table -->`` the table of every model; ``<!-- readme:
commands -->`` the README's first code block (its two commands). So the documented model
strings are the library's, which the tests fit, and no number on these pages is typed by hand.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import model_library  # noqa: E402

MARKER = re.compile(r"^<!-- (library|readme): (\w+) -->$", flags=re.MULTILINE)


def readme_commands() -> str:
    """The README's first fenced code block, fence included."""
    match = re.search(r"^```bash\n.*?^```$", (ROOT / "README.md").read_text(), flags=re.MULTILINE | re.DOTALL)
    return match.group(0)


def python_literal(value: object) -> str:
    """A value as Python source, strings in double quotes (triple for several lines)."""
    if isinstance(value, str):
        return f'"""\n{value}\n"""' if "\n" in value else json.dumps(value)
    return repr(value)


def glpp_call(name: str) -> str:
    """The Python that builds and fits a library model."""
    entry = model_library.MODELS[name]
    arguments = [python_literal(entry.formula), f'pd.read_csv("model_library/data/{entry.data}")']
    keywords = {"family": entry.family, "link": entry.link, **entry.options}
    if entry.family == "gaussian":
        del keywords["family"]
    arguments += [f"{key}={python_literal(value)}" for key, value in keywords.items() if value is not None]
    fit_arguments = "" if entry.nip == "auto" else f"nip={entry.nip!r}"
    indented = "".join(f"    {argument},\n" for argument in arguments)
    return (
        f"model = glpp.Model(\n{indented})\n"
        f"fit = model.fit({fit_arguments})\n"
        f"# the same: model_library.load({python_literal(name)}).fit({fit_arguments})"
    )


def reference_section(name: str) -> str:
    entry = model_library.MODELS[name]
    if entry.truth is not None:
        rows = "\n".join(f"| `{parameter}` | {value} |" for parameter, value in entry.truth.items())
        return (
            "Simulated data (`model_library/simulate.py`); the true values:\n\n"
            f"| parameter | truth |\n| --- | --- |\n{rows}\n"
        )
    case = model_library.reference_case(name)
    version = f" {case['package_version']}" if "package_version" in case else ""
    language = case.get("language", "R")  # a reference not fitted in R names its language
    return (
        f"The same model in {language} ({case['package']}{version}; reference case "
        f"`{entry.reference}` of `tests/reference/{entry.reference_file}`):\n\n"
        f"```{language.lower()}\n{case['call']}\n```\n"
    )


def library_section(name: str) -> str:
    entry = model_library.MODELS[name]
    return (
        f"## {entry.title} {{#{name}}}\n\n`{name}`: {entry.description}\n\n"
        f"```text\n{entry.equation}\n```\n\n```python\n{glpp_call(name)}\n```\n\n"
        f"{reference_section(name)}\n"
    )


def library_table() -> str:
    lines = ["| model | type | data | rows | reference |", "| --- | --- | --- | --- | --- |"]
    for name, entry in model_library.MODELS.items():
        label, _ = model_library.CATEGORIES[entry.category]
        rows = len(model_library.read_data(name))
        page = f"families/{entry.category}.md#{name}"
        lines.append(
            f"| [`{name}`]({page}) | {label} | `{entry.data}` | {rows} | {model_library.reference_label(name)} |"
        )
    return "\n".join(lines) + "\n"


def expand(marker: re.Match) -> str:
    kind, argument = marker.groups()
    if kind == "readme":
        return readme_commands()
    if argument == "table":
        return library_table()
    if argument not in model_library.CATEGORIES:
        raise ValueError(f"unknown library category {argument!r}; choose one of {list(model_library.CATEGORIES)}")
    names = [name for name, entry in model_library.MODELS.items() if entry.category == argument]
    return "\n".join(library_section(name) for name in names)


def on_page_markdown(markdown: str, **_) -> str:
    """mkdocs event: expand the markers of a page."""
    return MARKER.sub(expand, markdown)
