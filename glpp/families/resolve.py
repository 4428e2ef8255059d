"""The ``family=`` and ``link=`` arguments -> the model's family: one, one per item, or one per row.

:func:`resolve_families` is the stage that reads the user's arguments (and,
for a family per row, the data columns they name) before the model string is
resolved:

- ``family="poisson"`` (a family name): one family, ``link`` its link or the default.
- ``family={"y1": "gaussian", "d": ("binomial", "probit")}``: a family per item of
  a measurement model on wide data (:func:`glpp.families.mixed.mixed_family`).
- ``family="fam"`` where ``fam`` is a column of the data and not a family name:
  each row's family is named in that column (long data mixing response types,
  e.g. a probit treatment equation and a gaussian outcome sharing a latent).
  ``link`` is then ``None`` (each family's default link), one link name (for
  every row; it must suit every family in the column) or a column of link names.
  A link column with one family name (``family="binomial", link="lnk"``) gives
  that family a link per row.

A name that is both a family (or link) and a column of the data is ambiguous
and raises :class:`~glpp.SpecError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from glpp.errors import DataError, SpecError
from glpp.families.base import FAMILIES, Family, get_family, resolve_family_link
from glpp.families.links import LINK_ALIASES, LINKS, Link
from glpp.families.mixed import MixedFamily, mixed_family

__all__ = ["FamilyChoice", "resolve_families"]


@dataclass(frozen=True)
class FamilyChoice:
    """What :func:`resolve_families` made of ``family=`` and ``link=``.

    Attributes
    ----------
    family : Family or MixedFamily
    link : Link
        The link (identity for a mixed family: each component has its own).
    item_families : dict of str to int or None
        A family per item (wide data): each item's component of ``family``.
    row_families : ndarray of int or None, shape (n_data_rows,)
        A family per row (long data): each row of the data's component of ``family``.
    """

    family: Family | MixedFamily
    link: Link
    item_families: dict[str, int] | None = None
    row_families: np.ndarray | None = None


def resolve_families(
    family: str | dict[str, str | tuple[str, str]], link: str | None, data: pd.DataFrame
) -> FamilyChoice:
    """Resolve ``family=`` and ``link=`` (see the module docstring).

    Parameters
    ----------
    family : str or dict
        A family name, a dict item -> family (or (family, link)), or a column
        of ``data`` holding each row's family name.
    link : str, optional
        A link name, or (with a family per row) a column of link names.
    data : DataFrame

    Raises
    ------
    SpecError
        Unknown family or link, a link not available for its family, a name
        that is both a family (link) and a column.
    DataError
        A family or link column with missing values, an unknown family name or
        a link that its row's family does not allow (the message names the
        column and lists the valid names).

    Examples
    --------
    >>> data = pd.DataFrame({"y": [0.0, 1.2], "fam": ["binomial", "gaussian"],
    ...                      "lnk": ["probit", "identity"]})
    >>> choice = resolve_families("fam", "lnk", data)
    >>> choice.family.name, choice.row_families.tolist()
    ('mixed(binomial/probit, gaussian/identity)', [0, 1])
    """
    if isinstance(family, dict):
        if link is not None:
            raise SpecError("with a family per item (a dict), give each item's link in the dict, not link=")
        mixed, identity, item_families = mixed_family(family)
        return FamilyChoice(mixed, identity, item_families=item_families)
    family_column = _column_name(family, data, _is_family_name, "family")
    link_column = _column_name(link, data, _is_link_name, "link") if link is not None else None
    if family_column is None and link_column is None:
        _check_name(family, _is_family_name, "family", sorted(FAMILIES))
        return FamilyChoice(*resolve_family_link(family, link))
    if family_column is None:
        _check_name(family, _is_family_name, "family", sorted(FAMILIES))
    families = _column_values(data, family_column, "family") if family_column else np.full(len(data), family)
    links = _column_values(data, link_column, "link") if link_column else np.full(len(data), link, dtype=object)
    return _row_families(families, links, family_column, link_column)


def _is_family_name(name: str) -> bool:
    try:
        get_family(name)
    except SpecError:
        return False
    return True


def _is_link_name(name: str) -> bool:
    return LINK_ALIASES.get(name.lower(), name.lower()) in LINKS


def _check_name(name: str, is_name, what: str, valid: list[str]) -> None:
    """A {what} name that is not one: say so, and that a column of the data would do."""
    if not is_name(name):
        raise SpecError(
            f"unknown {what} {name!r}; choose one of {valid}, or name a column of the data that holds each "
            f"row's {what}"
        )


def _column_name(name: str, data: pd.DataFrame, is_name, what: str) -> str | None:
    """``name`` if it is a column of ``data`` (and not also a {what} name), else ``None``.

    A {what} name that is also the name of a column holding {what} names is ambiguous (an
    error); a column of other values that shares the name is not a {what} column."""
    if not isinstance(name, str):
        raise SpecError(f"{what}= must be a string (a {what} name or a column of the data), not {name!r}")
    if name not in data.columns:
        return None
    if is_name(name):
        values = data[name].dropna()
        if not all(isinstance(value, str) and is_name(value) for value in values.unique()):
            return None  # a column that only shares the name (e.g. a ranking id called 'ranking')
        raise SpecError(
            f"{what}={name!r} is both a {what} name and a column of the data; rename the column to use it "
            f"as each row's {what}"
        )
    return name


def _column_values(data: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """The names in a family or link column, as strings; missing values raise."""
    values = data[column]
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"the {what} column {column!r} has {int(missing.sum())} missing values (first at row "
            f"{int(np.flatnonzero(missing)[0])}); every row needs its {what} name"
        )
    return values.astype(str).to_numpy(dtype=object)


def _row_families(
    families: np.ndarray, links: np.ndarray, family_column: str | None, link_column: str | None
) -> FamilyChoice:
    """The mixed family of the rows' (family, link) pairs and each row's component."""
    pairs = {}
    for family_name, link_name in sorted(set(zip(families, links, strict=True)), key=str):
        pairs[(family_name, link_name)] = _resolve_pair(family_name, link_name, family_column, link_column)
    components: list[tuple[Family, Link]] = []
    for pair in pairs.values():
        if pair not in components:
            components.append(pair)
    components.sort(key=lambda pair: (pair[0].name, pair[1].name))
    code = {key: components.index(pair) for key, pair in pairs.items()}
    row_families = np.array([code[key] for key in zip(families, links, strict=True)], dtype=np.int64)
    label = "mixed(" + ", ".join(f"{member.name}/{member_link.name}" for member, member_link in components) + ")"
    mixed = MixedFamily(tuple(components), name=label, column=family_column or link_column)
    return FamilyChoice(mixed, LINKS["identity"], row_families=row_families)


def _resolve_pair(
    family_name: str, link_name: str | None, family_column: str | None, link_column: str | None
) -> tuple[Family, Link]:
    """One row's (family, link); errors name the columns the names came from."""
    where = f" in column {family_column!r}" if family_column else ""
    if not _is_family_name(family_name):
        raise DataError(
            f"family {family_name!r}{where} is not a family; valid family names: {sorted(FAMILIES)}"
        )
    try:
        return resolve_family_link(family_name, None if link_name is None else str(link_name))
    except SpecError as error:
        link_where = f" (column {link_column!r})" if link_column else ""
        raise DataError(
            f"family {family_name!r}{where} with link {link_name!r}{link_where}: {error.message}"
        ) from None
