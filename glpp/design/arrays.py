"""The Design: numeric arrays (responses, covariates, cluster and item indices) a likelihood reads.

Frozen dataclasses, built by :func:`glpp.design.build_design` and never
mutated: a :class:`Design` holds the response and fixed part of every row
and one :class:`LevelDesign` per level of latent variables, with the
loadings, structural paths and residual covariances that tie them together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glpp.design.auxiliary import AuxiliaryDesign

__all__ = [
    "CovarianceBlock",
    "Design",
    "DiscreteDesign",
    "LevelDesign",
    "LoadingEntry",
    "PathEntry",
    "ResidualCovariance",
]


@dataclass(frozen=True)
class CovarianceBlock:
    """Latents of one random term: correlated among themselves only.

    Attributes
    ----------
    term : str
        The term as written, e.g. ``"(1 + days | subject)"``.
    latent_positions : tuple of int
        Positions of the block's latents among its level's latents.
    unit_variance : bool
        The latents' variances are fixed at 1 (``F ~~ 1*F`` or ``std_lv``).
    """

    term: str
    latent_positions: tuple[int, ...]
    unit_variance: bool = False


@dataclass(frozen=True)
class LoadingEntry:
    """A factor loading: free (a parameter, shared by equal labels) or fixed.

    Attributes
    ----------
    latent : str
    indicator : str
        Item (wide data) or level of the item column (long data).
    fixed : float or None
    label : str or None
        Loadings with the same label are one parameter.
    """

    latent: str
    indicator: str
    fixed: float | None = None
    label: str | None = None


@dataclass(frozen=True)
class PathEntry:
    """A structural regression coefficient ``latent ~ predictor``.

    Attributes
    ----------
    latent : str
        The dependent latent.
    predictor : str
    kind : {"latent", "covariate"}
    latent_position : int
        Position of the dependent latent among its level's latents.
    predictor_position : int
        Position of the predictor among the level's latents or among the
        columns of ``Design.latent_covariates``.
    label : str or None
    level : int
        The level (position in ``Design.levels``) of the dependent latent.
    predictor_level : int or None
        The level of a latent predictor of a higher level than the dependent
        (``predictor_position`` is then among that level's latents); ``None``
        for a predictor of the same level or a covariate.
    """

    latent: str
    predictor: str
    kind: str
    latent_position: int
    predictor_position: int
    label: str | None = None
    level: int = 0
    predictor_level: int | None = None


@dataclass(frozen=True)
class ResidualCovariance:
    """A residual covariance ``y1 ~~ y5`` of two items (wide data, gaussian items).

    Attributes
    ----------
    left, right : str
        The items, in design order.
    left_position, right_position : int
        Their positions in ``Design.item_names``.
    label : str or None
        Covariances with the same label are one parameter.
    """

    left: str
    right: str
    left_position: int
    right_position: int
    label: str | None = None


@dataclass(frozen=True)
class LevelDesign:
    """The latent variables that vary over the clusters of one grouping.

    Attributes
    ----------
    name : str
        Grouping label (``"patient"``, ``"school:class"``).
    cluster_index : ndarray of int, shape (n_rows,)
        Cluster (0..n_clusters-1) of each row.
    cluster_labels : list
        The grouping value(s) of each cluster.
    parent_index : ndarray of int or None, shape (n_clusters,)
        For each cluster, its cluster at the next level up.
    covariates : ndarray, shape (n_rows, n_latents)
        Each row's covariate multiplying each latent (1 for intercepts).
    latent_names : tuple of str
        Model-matrix column names of the latents (``"(Intercept)"``, ``"days"``).
    blocks : tuple of CovarianceBlock
    loading_index : ndarray of int or None, shape (n_rows, n_latents)
        Each row's loading of each latent (position in ``Design.loadings``),
        ``-1`` where the loading is fixed at 1 or absent; ``None`` for a
        level without factors.
    factors : tuple of str
        The level's latents of measurement statements.
    """

    name: str
    cluster_index: np.ndarray
    cluster_labels: list
    parent_index: np.ndarray | None
    covariates: np.ndarray
    latent_names: tuple[str, ...]
    blocks: tuple[CovarianceBlock, ...]
    loading_index: np.ndarray | None = None
    factors: tuple[str, ...] = ()

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_labels)

    @property
    def n_latents(self) -> int:
        return self.covariates.shape[1]

    @property
    def full_loading_index(self) -> np.ndarray:
        """``loading_index``, or all ``-1`` (no free or fixed loading) for a level without factors."""
        if self.loading_index is None:
            return np.full(self.covariates.shape, -1, dtype=np.int64)
        return self.loading_index


@dataclass(frozen=True)
class DiscreteDesign:
    """One discrete latent of a design.

    Attributes
    ----------
    kind : {"classes", "masspoints"}
    latent : str
        Its name in the model string (``C``; the grouping for an lme4 term).
    n_points : int
        Number of classes or mass points (``0``: ``masspoints("auto")``, chosen by the fit).
    unit_index : ndarray of int, shape (n_rows,)
        Each row's unit (the level over which the latent varies).
    unit_labels : list
        The units' identifiers.
    item_index : ndarray of int or None, shape (n_rows,)
        Classes: each row's item (a class-specific intercept per item and class).
    item_names : tuple of str
    shift_covariate : ndarray or None, shape (n_rows,)
        Mass points: the covariate multiplying the latent on each row (1 for a random intercept).
    fixed_columns : tuple of int
        Columns of ``Design.fixed`` that stay class-invariant (all but the item
        intercepts of a class model).
    membership : ndarray, shape (n_units, n_membership)
        Class membership covariates per unit, a constant first.
    membership_names : tuple of str
    class_columns : ndarray or None, shape (n_rows, n_class_columns)
        A regression with class terms (``y ~ C + C1:z``, :mod:`glpp.design.class_regression`):
        the covariates whose coefficients depend on the class (ones for ``C``).
    class_column_names : tuple of str
        ``"(Intercept)"`` for ``C``/``C1``, else the covariate's column name.
    class_mask : ndarray of bool or None, shape (n_class_columns, n_points)
        Which class has a coefficient of each column (``C1:z``: class 1 only; the others 0).
    known_class : ndarray of int or None, shape (n_units,)
        ``classes(k, known = col)``: each unit's class (0-based) where it is known, -1 elsewhere.
    random_covariate : ndarray or None, shape (n_rows,)
        A growth mixture (``C@id ~~ classes(k)`` with ``(1 | id)``): the covariate of the
        normal random effect within class (1 for a random intercept).
    random_name : str
        Its standard deviation's name (``sd[id]``).
    """

    kind: str
    latent: str
    n_points: int
    unit_index: np.ndarray
    unit_labels: list
    item_index: np.ndarray | None
    item_names: tuple[str, ...]
    shift_covariate: np.ndarray | None
    fixed_columns: tuple[int, ...]
    membership: np.ndarray
    membership_names: tuple[str, ...]
    class_columns: np.ndarray | None = None
    class_column_names: tuple[str, ...] = ()
    class_mask: np.ndarray | None = None
    known_class: np.ndarray | None = None
    random_covariate: np.ndarray | None = None
    random_name: str = ""

    @property
    def n_units(self) -> int:
        return len(self.unit_labels)


@dataclass(frozen=True)
class Design:
    """Numeric arrays for one regression with nested random effects.

    Attributes
    ----------
    response : ndarray, shape (n_rows,)
    trials : ndarray or None
        Binomial trials (ones for 0/1 responses); ``None`` for other families.
    fixed : ndarray, shape (n_rows, n_fixed)
    fixed_names : tuple of str
    offset : ndarray, shape (n_rows,)
    levels : tuple of LevelDesign
        Lowest level (level 2) first; each nested in the next.
    n_dropped : int
        Rows dropped for missing values in used columns.
    response_label : str
    loadings : tuple of LoadingEntry
    paths : tuple of PathEntry
    latent_covariates : ndarray or None, shape (n_rows, n_covariates)
        Observed predictors of latents in structural regressions.
    latent_covariate_names : tuple of str
    dispersion_index : ndarray of int or None, shape (n_rows,)
        Each row's dispersion parameter (items with their own dispersion).
    dispersion_names, dispersion_labels : tuple of str
        The items with a dispersion parameter, and the parameters' names.
    fixed_prefix : str
        Prefix of the fixed part's parameter names (``beta``, or ``nu`` for
        item intercepts).
    fixed_parameter_names : tuple of str
        The fixed part's parameter names where they are not
        ``{fixed_prefix}[{name}]`` (wide data).
    family_index : ndarray of int or None, shape (n_rows,)
        Each row's component of a family per item.
    item_names : tuple of str
        Items of a measurement model on wide data, in the order of
        ``item_index`` (empty otherwise).
    item_index : ndarray of int or None, shape (n_rows,)
        Item (position in ``item_names``) of each row, for wide data.
    residual_covariances : tuple of ResidualCovariance
    jointly_normal : bool
        Wide data whose items are all gaussian with identity link: a unit's
        items are multivariate normal, so the marginal likelihood has a
        closed form (:mod:`glpp.likelihood.gaussian`).
    two_level_normal : bool
        The same with latents at the units and at one grouping level above
        them (a two-level factor model): a cluster's items of all its units
        are multivariate normal, with a closed form too.
    discrete : DiscreteDesign or None
        The model's discrete latent (latent classes, NPML mass points;
        :mod:`glpp.design.discrete`).
    n_moments : int or None
        Means, variances and covariances of the items (and slopes on observed
        covariates) that a model of gaussian items can identify parameters
        from (:mod:`glpp.identification`); ``None`` for other models.
    notes : tuple of str
        What the model string left to a default that a user should know
        (shown by ``summary()``), e.g. a first loading freed by a fixed variance.
    choice_start : ndarray of int or None, shape (n_rows,)
        Choice families (:mod:`glpp.design.choice`): 1 on the first row of each
        choice set (the rows of a set are contiguous), else 0.
    choice_rows : ndarray of int or None, shape (n_rows,)
        Choice families: each row's position in the model's data (the alternative it is; a
        ranking's alternative appears once in each stage that still holds it).
    choice_situation : ndarray of int or None, shape (n_rows,)
        Choice families: each row's choice situation, numbered by first appearance of its
        ``choice_set`` value (for rankings shared by the ranking's stages, which are contiguous
        sets, first stage first).
    """

    response: np.ndarray
    trials: np.ndarray | None
    fixed: np.ndarray
    fixed_names: tuple[str, ...]
    offset: np.ndarray
    levels: tuple[LevelDesign, ...]
    n_dropped: int
    response_label: str
    loadings: tuple[LoadingEntry, ...] = ()
    paths: tuple[PathEntry, ...] = ()
    latent_covariates: np.ndarray | None = None
    latent_covariate_names: tuple[str, ...] = ()
    dispersion_index: np.ndarray | None = None
    dispersion_names: tuple[str, ...] = ()
    fixed_prefix: str = "beta"
    fixed_parameter_names: tuple[str, ...] = ()
    family_index: np.ndarray | None = None
    dispersion_labels: tuple[str, ...] = ()
    item_names: tuple[str, ...] = ()
    item_index: np.ndarray | None = None
    residual_covariances: tuple[ResidualCovariance, ...] = ()
    jointly_normal: bool = False
    two_level_normal: bool = False
    n_moments: int | None = None
    notes: tuple[str, ...] = ()
    discrete: DiscreteDesign | None = None
    auxiliary: AuxiliaryDesign | None = None
    choice_start: np.ndarray | None = None
    choice_rows: np.ndarray | None = None
    choice_situation: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        return self.response.shape[0]
