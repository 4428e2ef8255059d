"""The Spec IR: a validated, frozen description of a model.

A :class:`Spec` is what the model string (plus the ``family``/``link``
keywords) means, independent of any data set.  It is produced by
:func:`glpp.syntax.resolve.resolve` and consumed by :mod:`glpp.design.build`.
Expressions of observed variables are kept as formula strings (formulaic
syntax) so that categorical expansion, interactions and transformations are
done by one well-kept library when the design matrices are built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Response",
    "RandomTerm",
    "ClassTerm",
    "Regression",
    "Indicator",
    "Measurement",
    "LatentRegression",
    "Covariance",
    "LatentDistribution",
    "LevelResidual",
    "Spec",
]


@dataclass(frozen=True)
class Response:
    """The left-hand side of a regression.

    Attributes
    ----------
    expression : str
        Column name or expression of the response (the successes for a
        binomial response given as ``cbind(successes, failures)``).
    failures : str or None
        Expression of the failures in ``cbind(successes, failures)``; the
        number of trials is ``successes + failures``.
    """

    expression: str
    failures: str | None = None

    @property
    def label(self) -> str:
        if self.failures is None:
            return self.expression
        return f"cbind({self.expression}, {self.failures})"


@dataclass(frozen=True)
class RandomTerm:
    """One lme4-style term ``(expression | group)``.

    The latent variables of one term (an intercept and slopes) vary over the
    clusters defined by the combination of the ``group`` columns and have an
    unstructured covariance matrix; latents of different terms are
    independent.

    Attributes
    ----------
    expression : str
        Formulaic right-hand side whose model-matrix columns are the latent
        variables' covariates ("1", "1 + days", "0 + x").
    group : tuple of str
        Columns whose combination of values identifies a cluster, outermost
        first: ``("school", "class")`` for ``school:class``.
    """

    expression: str
    group: tuple[str, ...]

    @property
    def group_label(self) -> str:
        return ":".join(self.group)


@dataclass(frozen=True)
class ClassTerm:
    """A class-specific term of a regression with a latent class variable ``C ~~ classes(k)``.

    ``C`` (class-specific intercepts, replacing the fixed intercept), ``C:x`` (a slope of
    ``x`` per class), ``C1`` (an intercept shift in class 1 only) and ``C1:x`` (an effect
    of ``x`` in class 1 only, 0 in the others).

    Attributes
    ----------
    latent : str
        The class variable ``C``.
    class_number : int or None
        ``1..k`` for ``C1``/``C1:x``; ``None``: every class has its own coefficient.
    expression : str
        ``"1"`` for an intercept, else the formulaic expression of the covariate (``"x"``).
    """

    latent: str
    class_number: int | None
    expression: str

    @property
    def label(self) -> str:
        name = self.latent if self.class_number is None else f"{self.latent}{self.class_number}"
        return name if self.expression == "1" else f"{name}:{self.expression}"


@dataclass(frozen=True)
class Regression:
    """A regression statement ``y ~ fixed + offset(o) + (... | g)``.

    Attributes
    ----------
    response : Response
    fixed : str
        Formulaic right-hand side of the fixed part, with the intercept made
        explicit ("1 + x1 + x2" or "0 + item").
    offsets : tuple of str
        Expressions inside ``offset(...)``, added to the linear predictor.
    random : tuple of RandomTerm
    class_terms : tuple of ClassTerm
        Terms with a latent class variable (``C``, ``C1:z``), kept out of ``fixed``.
    """

    response: Response
    fixed: str
    offsets: tuple[str, ...] = ()
    random: tuple[RandomTerm, ...] = ()
    class_terms: tuple[ClassTerm, ...] = ()


@dataclass(frozen=True)
class Indicator:
    """One right-hand term of a measurement statement ``F =~ 1*y1 + a*y2``.

    Attributes
    ----------
    name : str
        Observed variable (wide data) or, for ``F@id =~ item``, the
        categorical column whose levels each get a loading.
    fixed : float or None
        Fixed loading (``1*y1``); ``None`` when the loading is free.
    label : str or None
        Parameter label (``a*y2``); equal labels mean equal parameters.
    force_free : bool
        ``NA*y1``: free even where the default would fix it.
    """

    name: str
    fixed: float | None = None
    label: str | None = None
    force_free: bool = False


@dataclass(frozen=True)
class Measurement:
    """``F =~ y1 + y2`` or ``F@g =~ ...`` (also ``F =~ ...`` in a ``level: g`` block).

    Attributes
    ----------
    latent : str
    indicators : tuple of Indicator
    level : str or None
        Grouping column over whose clusters ``F`` varies; ``None``: over
        units (rows of wide data).
    """

    latent: str
    indicators: tuple[Indicator, ...]
    level: str | None = None


@dataclass(frozen=True)
class LatentRegression:
    """Structural regression ``F ~ x + G`` of a latent variable."""

    latent: str
    predictors: tuple[Indicator, ...]


@dataclass(frozen=True)
class Covariance:
    """``F ~~ G`` (free covariance) or ``F ~~ 1*F`` (fixed variance)."""

    left: str
    right: str
    fixed: float | None = None
    label: str | None = None


@dataclass(frozen=True)
class LatentDistribution:
    """``C ~~ classes(3)`` or ``F ~~ masspoints(5)`` (``masspoints("auto")``: ``n_points`` 0).

    Attributes
    ----------
    latent : str
    kind : {"classes", "masspoints"}
    n_points : int
    level : str or None
        ``C@id ~~ classes(2)``: the classes vary over the clusters of grouping column ``id``
        (``None``: over the units of the latent's own level, or the rows).
    known : str or None
        ``classes(2, known = col)``: column holding each unit's class where it is observed
        (``1..k``; missing where it is not).
    """

    latent: str
    kind: str  # "classes" | "masspoints"
    n_points: int
    level: str | None = None
    known: str | None = None


@dataclass(frozen=True)
class LevelResidual:
    """A between-level residual of an item: its random intercept over the clusters of ``level``.

    In a ``level: g`` block every item measured by a factor of the block
    gets one (as in lavaan's two-level models) unless ``y ~~ 0*y`` in the
    block removes it; ``y ~~ y`` in the block adds one.

    Attributes
    ----------
    item : str
    level : str
        The grouping column.
    """

    item: str
    level: str


@dataclass(frozen=True)
class Spec:
    """A complete, validated model specification.

    Attributes
    ----------
    regressions : tuple of Regression
        Observed-response regressions (the GLMM part).
    measurements, latent_regressions, covariances, distributions
        The latent-variable (lavaan-style) statements.
    level_residuals : tuple of LevelResidual
        Random item intercepts of ``level:`` blocks.
    declared_levels : tuple of str
        Grouping columns declared by ``level: g`` lines, in order.
    family, link : str
        Response family and link, already validated as a pair.
    thresholds : str or None
        Formulaic right-hand side of the threshold covariates (``thresholds="~ z"``):
        each threshold gets its own coefficient on each column.
    dispersion : str or None
        Formulaic right-hand side of the log-linear dispersion (or scale) regression
        (``dispersion="~ z"``).
    source : str
        The model string, for messages.
    """

    regressions: tuple[Regression, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    latent_regressions: tuple[LatentRegression, ...] = ()
    covariances: tuple[Covariance, ...] = ()
    distributions: tuple[LatentDistribution, ...] = ()
    level_residuals: tuple[LevelResidual, ...] = ()
    declared_levels: tuple[str, ...] = ()
    family: str = "gaussian"
    link: str = "identity"
    thresholds: str | None = None
    dispersion: str | None = None
    source: str = field(default="", compare=False)
