"""The parameter table: one row per parameter, and the map between ``theta`` and the reported values.

As in lavaan's partable, every parameter of a model is a row of one table
(:class:`Parameter`): its kind, its reported name, where it acts (level,
covariance block, latent positions), whether it is free or fixed at a value,
its equality label and its transform to the unconstrained scale. Names, the
free-parameter count, the theta <-> natural map, the summary's grouping and the
PyMC variables are all queries on the table; a new kind of parameter is new
rows, not new fields.

The optimiser works on ``theta``, the free rows in table order, each on its
unconstrained scale:

- ``fixed``: fixed effects (``beta[x1]``, item intercepts ``nu[y1]``), as they are;
- ``sd``, ``cor``: the latent SDs and correlations of each covariance block;
  jointly, the block's rows hold the lower triangle of its Cholesky factor,
  row by row, with the diagonal on the log scale (transform ``"cholesky"``);
- ``loading`` (``lambda[F,y2]``), ``path`` (``path[F~G]``, ``path[F~x]``),
  ``residual_covariance`` (``cov[y1,y5]``), as they are;
- ``aux``: the family's auxiliary parameter (``sigma``, ``shape``, ``size``,
  per item ``sigma[y1]``), on the log scale.

Fixed loadings (``1*y1``) are rows with ``free=False``: they are in the table,
not in ``theta``. :class:`ParameterLayout` holds the table and the structure the
likelihood graphs need (latents per level, covariance blocks, which row each
design loading uses), unpacks a symbolic ``theta`` into the pieces of the
likelihood, and maps estimates to reported values with their names.
"""

from glpp.params.layout import ParameterLayout
from glpp.params.table import KIND_ORDER, CholeskyEntry, LatentBlock, Parameter

__all__ = ["Parameter", "ParameterLayout", "CholeskyEntry", "LatentBlock", "KIND_ORDER"]
