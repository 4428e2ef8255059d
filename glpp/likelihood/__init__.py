"""Design -> pytensor marginal log-likelihoods: quadrature rules, graphs, closed forms, compiled-graph cache.

Engines (chosen once, by :func:`glpp.fitting.engines.make_objective`):

- :mod:`~glpp.likelihood.gaussian`: closed forms for jointly normal items (one
  level, or units within clusters);
- :mod:`~glpp.likelihood.multilevel`: adaptive quadrature level by level, any
  number of latent levels;
- :mod:`~glpp.likelihood.two_level`: one latent level, the fast path.

The one-level path is kept because it pays: on toenail (nip=15, modes warm,
2-core machine, 2026-12-01) a log-likelihood and gradient costs 1.90 ms with
it and 2.02 ms with the multilevel graph run on one level (the same value to
1e-12, ``tests/fitting/test_engines.py``), and it alone offers non-adaptive
quadrature and sparse grids, and the per-cluster Newton step the marginal PyMC
kind uses. Both graphs are built from the same pieces: the rows' linear
predictor and log-density (:mod:`~glpp.likelihood.predictor`), the nodes of a
latent level (:mod:`~glpp.likelihood.latent`, the latent-distribution seam),
small batched matrices (:mod:`~glpp.likelihood.linalg`) and sums within
clusters (:mod:`~glpp.likelihood.segments`).
"""
