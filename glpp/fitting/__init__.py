"""Objective -> estimates, as exported stages (lme4's ``mkGlmerDevfun -> optimizeGlmer -> mkMerMod``).

>>> objective = make_objective(model.design, model.layout, model.family, model.link, nip="auto")
>>> estimate = maximise_likelihood(objective)        # start, warm start, nip schedule, Hessian
>>> fit = glpp.results.build.build_result(objective, estimate, formula=model.formula)

Modules: :mod:`~glpp.fitting.engines` (the objective: which likelihood, chosen once),
:mod:`~glpp.fitting.nip` (the one ``nip="auto"`` schedule), :mod:`~glpp.fitting.start`
(start values), :mod:`~glpp.fitting.optim` (BFGS, Hessian, convergence),
:mod:`~glpp.fitting.ml` (start -> schedule -> Hessian -> checks), :mod:`~glpp.fitting.multilevel` (the multilevel
objective), :mod:`~glpp.fitting.progress` (the progress line of long fits).
"""

from glpp.fitting.discrete_fit import fit_discrete
from glpp.fitting.engines import Objective, make_objective
from glpp.fitting.ml import MLEstimate, maximise_likelihood
from glpp.fitting.nip import AUTO_TOLERANCE, LOGLIK_AT_NIP, NipSchedule
from glpp.fitting.optim import maximise
from glpp.fitting.progress import show_progress
from glpp.fitting.start import start_values, warm_start

__all__ = [
    "AUTO_TOLERANCE",
    "LOGLIK_AT_NIP",
    "MLEstimate",
    "NipSchedule",
    "Objective",
    "fit_discrete",
    "make_objective",
    "maximise",
    "maximise_likelihood",
    "show_progress",
    "start_values",
    "warm_start",
]
