"""Multilevel factor models."""

from __future__ import annotations

from model_library.entry import LibraryModel

__all__ = ["ENTRIES"]

ENTRIES: tuple[LibraryModel, ...] = (
    LibraryModel(
        "demo_twolevel",
        "lavaan's Demo.twolevel: two-level factor model (within and between factors)",
        "y_mij = nu_m + lambda_m fw_ij + lambda'_m fb_j + r_mj + e_mij  (unit i, cluster j;"
        " r_mj the item's between-level residual)",
        "lavaan's simulated Demo.twolevel data: units in clusters, three items measured by a "
        "within-cluster factor fw and a between-cluster factor fb, each item with a random "
        "intercept over clusters (lavaan's between-level residual). lavaan's level blocks, "
        "with the level named by its grouping column.",
        "multilevel_factor",
        "demo_twolevel.csv",
        "level: 1\nfw =~ y1 + y2 + y3\nlevel: cluster\nfb =~ y1 + y2 + y3",
        reference="demo_twolevel",
    ),
    LibraryModel(
        "crosslevel",
        "Two-level factor model with a structural path between levels",
        "fw_ij = b fb_j + zeta_ij;  y1..y3 measure fw, y4..y6 measure fb",
        "Simulated units in clusters (tests/reference/make_data.R): the units' factor fw "
        "depends on their cluster's factor fb (a latent regressed on a latent of a higher "
        "level, gllamm's structural model). lavaan fits the same model as fb loading on fw's "
        "items with constrained loadings.",
        "multilevel_factor",
        "crosslevel.csv",
        "level: 1\nfw =~ y1 + y2 + y3\nfw ~ fb\nlevel: cluster\nfb =~ y4 + y5 + y6",
        reference="crosslevel_path",
    ),
)
