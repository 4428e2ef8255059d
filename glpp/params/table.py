"""The rows of the parameter table, built from a design (see :mod:`glpp.params`)."""

from __future__ import annotations

from dataclasses import dataclass

from glpp.design import Design, LevelDesign
from glpp.errors import SpecError
from glpp.families import Family

__all__ = [
    "KIND_ORDER",
    "TRANSFORMS",
    "Parameter",
    "CholeskyEntry",
    "LatentBlock",
    "TableRows",
    "table_rows",
]

#: kinds of parameters, in the order their free rows take in ``theta``
KIND_ORDER: tuple[str, ...] = (
    "fixed",
    "sd",
    "cor",
    "loading",
    "path",
    "residual_covariance",
    "aux",
    "threshold",
    "threshold_slope",
    "dispersion",
)
#: each kind's transform to the unconstrained scale
TRANSFORMS: dict[str, str] = {
    "fixed": "identity",
    "sd": "cholesky",
    "cor": "cholesky",
    "loading": "identity",
    "path": "identity",
    "residual_covariance": "identity",
    "aux": "log",
    # within a threshold set: the first as it is, then log increments (monotone)
    "threshold": "ordered",
    "threshold_slope": "identity",
    "dispersion": "identity",
}


@dataclass(frozen=True, slots=True)
class Parameter:
    """One row of the parameter table.

    Attributes
    ----------
    kind : str
        One of :data:`KIND_ORDER`.
    name : str
        The reported name (``beta[x1]``, ``sd[patient]``, ``lambda[F,y2]``, ...).
    level : int or None
        Latent level (``Design.levels`` position) of an ``sd``/``cor`` row or of
        a path's dependent latent.
    block : int or None
        Position of an ``sd``/``cor`` row's block in :attr:`ParameterLayout.blocks`.
    row, column : int or None
        Latent positions within the level: ``sd`` (row), ``cor`` (row, column);
        for a path the dependent latent (row) and the predictor (column: a
        latent of ``predictor_level``, or an observed covariate).
    predictor_level : int or None
        Level of a path's latent predictor (``None`` for a covariate).
    free : bool
        Estimated (in ``theta``) or fixed at ``value``.
    value : float or None
        The value of a fixed row.
    label : str or None
        Equality label: design entries with the same label share the row.
    transform : str
        ``"identity"``, ``"log"``, ``"cholesky"`` or ``"ordered"`` (see the module docstring).
    """

    kind: str
    name: str
    level: int | None = None
    block: int | None = None
    row: int | None = None
    column: int | None = None
    predictor_level: int | None = None
    free: bool = True
    value: float | None = None
    label: str | None = None
    transform: str = "identity"


@dataclass(frozen=True)
class CholeskyEntry:
    """One free element of a level's Cholesky factor."""

    level: int
    row: int
    column: int


@dataclass(frozen=True)
class LatentBlock:
    """Latents of one level that are correlated among themselves only."""

    level: int
    positions: tuple[int, ...]
    unit_variance: bool = False

    @property
    def cholesky_entries(self) -> tuple[CholeskyEntry, ...]:
        """The free elements of the block's Cholesky factor, row by row (theta order)."""
        return tuple(
            CholeskyEntry(self.level, row, column)
            for a, row in enumerate(self.positions)
            for column in self.positions[: a + 1]
            if not (self.unit_variance and row == column)
        )


def _row(kind: str, name: str, **fields) -> Parameter:
    return Parameter(kind, name, transform=TRANSFORMS[kind], **fields)


def _covariance_rows(design: Design) -> tuple[list[Parameter], list[LatentBlock]]:
    rows: list[Parameter] = []
    blocks: list[LatentBlock] = []
    for level_number, level in enumerate(design.levels):
        for block in level.blocks:
            block_number = len(blocks)
            blocks.append(LatentBlock(level_number, block.latent_positions, block.unit_variance))
            for kind, name, i, j in _block_names(level, block.latent_positions, block.unit_variance):
                rows.append(_row(kind, name, level=level_number, block=block_number, row=i, column=j))
    return rows, blocks


def _loading_rows(design: Design) -> tuple[list[Parameter], list[int]]:
    """Loading rows (free ones shared by name or label, fixed ones one per entry) and each entry's row."""
    rows: list[Parameter] = []
    free_rows: dict[str, int] = {}
    entry_rows: list[int] = []
    for entry in design.loadings:
        name = f"lambda[{entry.label}]" if entry.label else f"lambda[{entry.latent},{entry.indicator}]"
        if entry.fixed is not None:
            entry_rows.append(len(rows))
            rows.append(_row("loading", name, free=False, value=float(entry.fixed), label=entry.label))
            continue
        if name not in free_rows:
            free_rows[name] = len(rows)
            rows.append(_row("loading", name, label=entry.label))
        entry_rows.append(free_rows[name])
    return rows, entry_rows


def _path_rows(design: Design) -> list[Parameter]:
    return [
        _row(
            "path",
            f"path[{path.latent}~{path.predictor}]",
            level=path.level,
            row=path.latent_position,
            column=path.predictor_position,
            predictor_level=(path.level if path.predictor_level is None else path.predictor_level)
            if path.kind == "latent"
            else None,
            label=path.label,
        )
        for path in design.paths
    ]


def _residual_covariance_rows(design: Design) -> tuple[list[Parameter], list[tuple[int, int, int]]]:
    rows: list[Parameter] = []
    sources: list[tuple[int, int, int]] = []
    names: list[str] = []
    for covariance in design.residual_covariances:
        name = f"cov[{covariance.label}]" if covariance.label else f"cov[{covariance.left},{covariance.right}]"
        if name not in names:
            names.append(name)
            rows.append(_row("residual_covariance", name, label=covariance.label))
        sources.append((covariance.left_position, covariance.right_position, names.index(name)))
    return rows, sources


def _auxiliary_rows(design: Design) -> list[Parameter]:
    """Thresholds (``block``: the set, ``row``: position in it), their covariates' slopes
    (``row``: flat threshold, ``column``: covariate) and dispersion-regression coefficients."""
    auxiliary = design.auxiliary
    if auxiliary is None:
        return []
    rows: list[Parameter] = []
    names = iter(auxiliary.threshold_names)
    for set_number, threshold_set in enumerate(auxiliary.threshold_sets):
        for k in range(threshold_set.n_thresholds):
            rows.append(_row("threshold", next(names), block=set_number, row=k))
    n_covariates = len(auxiliary.threshold_covariate_names)
    for k, name in enumerate(auxiliary.threshold_slope_names):
        rows.append(_row("threshold_slope", name, row=k // n_covariates, column=k % n_covariates))
    rows += [_row("dispersion", name, row=k) for k, name in enumerate(auxiliary.dispersion_names)]
    return rows


def _aux_names(design: Design, family: Family) -> tuple[str, ...]:
    if design.auxiliary is not None and design.auxiliary.dispersion_names:
        return ()  # a dispersion regression takes the auxiliary parameter's place
    if design.dispersion_labels:
        return design.dispersion_labels
    if family.dispersion is None:
        return ()
    if design.dispersion_names:
        return tuple(f"{family.dispersion}[{name}]" for name in design.dispersion_names)
    return (family.dispersion,)


def _block_names(
    level: LevelDesign, positions: tuple[int, ...], unit_variance: bool = False
) -> list[tuple[str, str, int, int | None]]:
    """``(kind, name, i, j)`` of a block's sd rows, then its cor rows."""
    names: list[tuple[str, str, int, int | None]] = []
    only_intercept = len(positions) == 1 and level.latent_names[positions[0]] == "(Intercept)"
    # latents of factor models are named by themselves; random effects by term and grouping
    is_factor = all(level.latent_names[i] in level.factors for i in positions)
    if not unit_variance:
        for i in positions:
            if is_factor:
                label = level.latent_names[i]
            else:
                label = level.name if only_intercept else f"{level.latent_names[i]}|{level.name}"
            names.append(("sd", f"sd[{label}]", i, None))
    for a, i in enumerate(positions):
        for j in positions[a + 1 :]:
            suffix = "" if is_factor else f"|{level.name}"
            names.append(("cor", f"cor[{level.latent_names[i]},{level.latent_names[j]}{suffix}]", i, j))
    return names


def _check_labels(rows: list[Parameter]) -> None:
    """Equal labels are one parameter among loadings and among residual covariances; refuse the rest,
    which would otherwise be parsed and silently not applied."""
    kinds: dict[str, set[str]] = {}
    names: dict[str, list[str]] = {}
    for row in rows:
        if row.label is not None:
            kinds.setdefault(row.label, set()).add(row.kind)
            names.setdefault(row.label, []).append(row.name)
    for label, label_kinds in kinds.items():
        if len(label_kinds) > 1:
            raise SpecError(
                f"label {label!r} is given to parameters of different kinds ({', '.join(names[label])}); "
                "equality constraints hold between loadings or between residual covariances only: "
                "use different labels"
            )
        if label_kinds == {"path"} and len(names[label]) > 1:
            raise SpecError(
                f"label {label!r} is given to the structural paths {', '.join(names[label])}; equal paths "
                "are not supported yet: use different labels (or none)"
            )


@dataclass(frozen=True)
class TableRows:
    """What :func:`table_rows` builds from a design: the rows and where the design's entries point."""

    rows: tuple[Parameter, ...]
    blocks: tuple[LatentBlock, ...]
    loading_rows: tuple[int, ...]
    residual_covariance_sources: tuple[tuple[int, int, int], ...]
    aux_names: tuple[str, ...]


def table_rows(design: Design, family: Family) -> TableRows:
    """Every parameter of ``design`` as a row, free rows in theta order (kinds in :data:`KIND_ORDER`).

    Within a covariance block the ``sd`` rows come before its ``cor`` rows, as
    reported; theta holds the block's Cholesky entries in that range.
    """
    prefix = design.fixed_prefix
    fixed_names = design.fixed_parameter_names or tuple(f"{prefix}[{name}]" for name in design.fixed_names)
    covariance_rows, blocks = _covariance_rows(design)
    loading_rows, entry_rows = _loading_rows(design)
    residual_rows, residual_sources = _residual_covariance_rows(design)
    aux_names = _aux_names(design, family)
    _check_labels(loading_rows + _path_rows(design) + residual_rows)
    head = [_row("fixed", name) for name in fixed_names] + covariance_rows
    rows = head + loading_rows + _path_rows(design) + residual_rows + [_row("aux", name) for name in aux_names]
    rows += _auxiliary_rows(design)
    return TableRows(
        rows=tuple(rows),
        blocks=tuple(blocks),
        loading_rows=tuple(len(head) + row for row in entry_rows),
        residual_covariance_sources=tuple(residual_sources),
        aux_names=aux_names,
    )
