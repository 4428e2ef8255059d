"""Design -> pytensor marginal log-likelihoods: quadrature rules, graphs, closed forms, compiled-graph cache."""
