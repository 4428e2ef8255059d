"""Spec + DataFrame -> Design: the numpy arrays every likelihood reads."""

from glpp.design.build import (
    CovarianceBlock,
    Design,
    LevelDesign,
    LoadingEntry,
    PathEntry,
    ResidualCovariance,
    build_design,
)

__all__ = [
    "CovarianceBlock",
    "Design",
    "LevelDesign",
    "LoadingEntry",
    "PathEntry",
    "ResidualCovariance",
    "build_design",
]
