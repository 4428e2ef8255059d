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
    tables = []
    shown = {kind for _, kind in TABLES} | {"sd", "cor"}
    kinds = list(dict.fromkeys(result.parameter_kinds.reindex(result.params.index).dropna()))
    for title, kind in list(TABLES) + [(kind.replace("_", " ").capitalize(), kind) for kind in kinds if kind not in shown]:
        table = result.coefficient_table(kind)
        if len(table):
            tables.append((title, table))
    footer: list[str] = []
    if result.notes:
        footer += ["", "Notes:"] + [f" {note}" for note in result.notes]
    if result.convergence is not None:
        footer += [""] + result.convergence.describe()
    elif not result.converged:
        footer.append("\nNOT CONVERGED (see the warnings of the fit)")
    return Summary(_Sections(header, _random_effects(result), tables, footer))


def _random_effects(result) -> list[str]:
    """lme4's ``VarCorr`` table (correlations under the latent they pair with), then the SDs' SEs."""
    components = result.variance_components
    if not components and not result.n_clusters:  # a GLM
        lines = [f"No latent variables (a generalized linear model). Number of obs: {result.n_obs}"]
        return lines + ([f"Rows dropped for missing values: {result.n_dropped}"] if result.n_dropped else [])
    lines = ["Random effects:"]
    if components:
        width = max(len(c.group) for c in components) + 1
        name_width = max(len(c.name) for c in components) + 1
        lines.append(f" {'Groups':<{width}} {'Name':<{name_width}} {'Variance':>10} {'Std.Dev.':>10}  Corr")
        for component in components:
            correlations = " ".join("      " if value is None else f"{value:6.3f}" for value in component.correlations)
            lines.append(
                f" {component.group:<{width}} {component.name:<{name_width}} "
                f"{component.variance:10.4g} {component.sd:10.4g}  {correlations}".rstrip()
            )
    clusters = ", ".join(f"{group}, {count}" for group, count in result.n_clusters.items())
    rows = f"{result.n_obs}" if result.n_units in (0, result.n_obs) else f"{result.n_obs} rows of {result.n_units} units"
    lines.append(f"Number of obs: {rows}, groups:  {clusters}")
    if result.n_dropped:
        lines.append(f"Rows dropped for missing values: {result.n_dropped}")
    variance = pd.concat([result.coefficient_table("sd"), result.coefficient_table("cor")])
    if len(variance):
        lines += ["", "Variance components (SDs and correlations; SEs by the delta method):"]
        lines.append(variance.to_string(float_format=lambda v: f"{v:.5g}"))
    return lines
