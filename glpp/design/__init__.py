"""Spec + DataFrame -> Design: the numpy arrays every likelihood reads.

Modules: :mod:`~glpp.design.arrays` (the Design dataclasses),
:mod:`~glpp.design.build` (:func:`build_design`: long or wide data),
:mod:`~glpp.design.long` (one regression, ``F@id =~ item``),
:mod:`~glpp.design.wide` and :mod:`~glpp.design.wide_levels` (measurement
models on wide data), :mod:`~glpp.design.structure` (latent blocks, paths,
residual covariances), :mod:`~glpp.design.columns` and
:mod:`~glpp.design.clusters` (columns and grouping clusters of the data).
"""

from glpp.design.arrays import CovarianceBlock, Design, LevelDesign, LoadingEntry, PathEntry, ResidualCovariance
from glpp.design.build import build_design

__all__ = [
    "CovarianceBlock", "Design", "LevelDesign", "LoadingEntry", "PathEntry", "ResidualCovariance", "build_design",
]
