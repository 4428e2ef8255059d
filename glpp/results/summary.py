"""The summary of a fit: text as lme4 and lavaan print it, HTML for Jupyter.

:class:`Summary` is a ``str`` (so ``print(fit.summary())`` and ``"x" in
fit.summary()`` work as before) that renders as HTML tables in a notebook
(``_repr_html_``). Both renderings come from the same sections: a header,
the random-effects table, the coefficient tables by kind, notes and the
convergence report.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

__all__ = ["Summary", "summarise"]

#: coefficient tables of the summary, by parameter kind (title, kind); other kinds a family
#: or latent distribution adds are shown under their kind's name
TABLES: tuple[tuple[str, str], ...] = (
    ("Fixed effects", "fixed"),
    ("Loadings", "loading"),
    ("Structural paths", "path"),
    ("Residual covariances", "residual_covariance"),
    ("Thresholds", "threshold"),
    ("Threshold covariates", "threshold_slope"),
    ("Dispersion model (log scale)", "dispersion"),
    ("Dispersion", "aux"),
)


#: the title of the Wald table of the SDs and correlations
VARIANCE_TITLE = "Variance components (SDs and correlations; SEs by the delta method)"


@dataclass(frozen=True)
class _Sections:
    header: list[str]
    random_effects: list[str]
    tables: list[tuple[str, pd.DataFrame]]
    footer: list[str]


class Summary(str):
    """The printed summary (a ``str``) that a notebook shows as HTML tables."""

    sections: _Sections

    def __new__(cls, sections: _Sections) -> "Summary":
        text = "\n".join(
            sections.header
            + [""]
            + sections.random_effects
            + [
                line
                for title, table in sections.tables
                for line in ("", f"{title}:", table.to_string(float_format=lambda v: f"{v:.5g}"))
            ]
            + sections.footer
        )
        summary = super().__new__(cls, text)
        summary.sections = sections
        return summary

    def _repr_html_(self) -> str:
        sections = self.sections
        parts = [f"<pre>{html.escape(chr(10).join(sections.header))}</pre>"]
        parts.append(f"<pre>{html.escape(chr(10).join(sections.random_effects))}</pre>")
        for title, table in sections.tables:
            parts.append(f"<h4>{html.escape(title)}</h4>")
            parts.append(table.to_html(float_format=lambda v: f"{v:.5g}", border=0))
        if any(sections.footer):
            parts.append(f"<pre>{html.escape(chr(10).join(line for line in sections.footer))}</pre>")
        return "<div class='glpp-summary'>" + "\n".join(parts) + "</div>"


def summarise(result) -> Summary:
    """The summary of ``result`` (an :class:`~glpp.results.ml.MLResult`; see :class:`Summary`)."""
    how = "maximum likelihood" if result.method == "ml" else "maximum a posteriori (MAP)"
    header = [
        f"Generalized linear latent and mixed model fit by {how} ({result.quadrature})",
        f" Family: {result.family} ( {result.link} )" if not result.family_rows else f" Families {result.family_rows}",
        f"Formula: {result.formula}",
        "",
        f"{'AIC':>10} {'BIC':>10} {'logLik':>11} {'df':>4}",
        f"{result.aic:10.1f} {result.bic:10.1f} {result.loglik:11.4f} {result.n_params:4d}",
    ]
    if result.n_units and result.n_units != result.n_obs:
        header.append(f"BIC counts {result.n_units} units (one row per unit of wide data), as lavaan does")
    if result.se_method != "model":
        header.append(f"Standard errors: {result.se_method}")
    if result.method == "map":
        header += [f"log-prior {result.log_prior:.4f}; priors (SEs from the log-posterior's curvature):"]
        header += [f"  {line}" for line in result.priors]
    tables = [(VARIANCE_TITLE, _variance_table(result))]
    shown = {kind for _, kind in TABLES} | {"sd", "cor"}
    kinds = list(dict.fromkeys(result.parameter_kinds.reindex(result.params.index).dropna()))
    for title, kind in list(TABLES) + [(kind.replace("_", " ").capitalize(), kind) for kind in kinds if kind not in shown]:
        tables.append((title, result.coefficient_table(kind)))
    tables = [(title, table) for title, table in tables if len(table)]
    footer: list[str] = []
    if result.notes:
        footer += ["", "Notes:"] + [f" {note}" for note in result.notes]
    if result.convergence is not None:
        footer += [""] + result.convergence.describe()
    elif not result.converged:
        footer.append("\nNOT CONVERGED (see the warnings of the fit)")
    return Summary(_Sections(header, _random_effects(result), tables, footer))


def _random_effects(result) -> list[str]:
    """lme4's ``VarCorr`` table with the SDs' SEs, then each level's correlations as a labelled matrix."""
    components = result.variance_components
    if not components and not result.n_clusters:  # a GLM
        lines = [f"No latent variables (a generalized linear model). Number of obs: {result.n_obs}"]
        return lines + ([f"Rows dropped for missing values: {result.n_dropped}"] if result.n_dropped else [])
    lines = ["Random effects:"]
    if components:
        labels = [_component_label(c) for c in components]
        width = max([len("Groups")] + [len(c.group) for c in components])
        name_width = max([len("Name")] + [len(label) for label in labels])
        lines.append(f" {'Groups':<{width}} {'Name':<{name_width}} {'Variance':>10} {'Std.Dev.':>10} {'Std.Err.':>10}")
        for component, label in zip(components, labels):
            lines.append(
                f" {component.group:<{width}} {label:<{name_width}} "
                f"{component.variance:10.4g} {component.sd:10.4g} {_se_text(result, component.sd_name):>10}"
            )
        for group in dict.fromkeys(c.group for c in components):
            lines += _correlation_matrix(result, [c for c in components if c.group == group])
        if any(c.disturbance for c in components):
            lines.append(" (residual): the variance and SD of a regressed latent's disturbance")
    clusters = ", ".join(f"{group}, {count}" for group, count in result.n_clusters.items())
    rows = f"{result.n_obs}" if result.n_units in (0, result.n_obs) else f"{result.n_obs} rows of {result.n_units} units"
    lines.append(f"Number of obs: {rows}, groups:  {clusters}")
    if result.n_dropped:
        lines.append(f"Rows dropped for missing values: {result.n_dropped}")
    return lines


def _variance_table(result) -> pd.DataFrame:
    """The Wald table of the SDs and correlations, by their full names (``sd[...]``, ``cor[...]``)."""
    table = result.to_dataframe()
    return table[table["kind"].isin(["sd", "cor"])].drop(columns="kind")


def _component_label(component) -> str:
    return f"{component.name} (residual)" if component.disturbance else component.name


def _se_text(result, name: str | None) -> str:
    """The SE of parameter ``name`` (blank for a fixed one)."""
    value = result.se.get(name) if name is not None else None
    return "" if value is None else f"{value:.4g}"


def _bracketed_se(result, name: str | None) -> str:
    value = result.se.get(name) if name is not None else None
    return "" if value is None else f" ({value:.3f})"


def _correlation_matrix(result, components: list) -> list[str]:
    """One level's correlations, each in the row and column of the two latents it pairs, with its SE.

    Rows are the latents with a correlation, columns the earlier latents they pair with; ``.``
    marks two latents the model keeps uncorrelated.
    """
    rows = [c for c in components if c.correlations]
    if not rows:
        return []
    columns = sorted({j for c in rows for j, value in enumerate(c.correlations) if value is not None})
    cells = {
        (c.name, j): "." if j >= len(c.correlations) or c.correlations[j] is None
        else f"{c.correlations[j]:.3f}" + _bracketed_se(result, c.correlation_names[j])
        for c in rows
        for j in columns
    }
    headers = [components[j].name for j in columns]
    width = max(len(text) for text in list(cells.values()) + headers) + 2
    row_width = max(len(c.name) for c in rows) + 2
    lines = [f" Correlations of the {components[0].group} latents (SE):"]
    lines.append(" " * (row_width + 1) + "".join(f"{header:>{width}}" for header in headers))
    for c in rows:
        lines.append(f" {c.name:<{row_width}}" + "".join(f"{cells[(c.name, j)]:>{width}}" for j in columns))
    return lines
