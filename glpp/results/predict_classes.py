"""New rows of a regression with a discrete latent on long data: mixtures over its points.

A regression with class terms (``y ~ x + C + C1:z``, ``C ~~ classes(k)``, optionally
``C@id`` and ``C ~ v``) or an NPML random intercept (``(1 | g)`` with ``g ~~ masspoints(k)``)
gives row ``r`` in class (point) ``c`` the linear predictor ``eta_rc``
(:class:`glpp.results.predict_rows.ClassRowMeans`, the same compiled graph). New rows are
coded as the fitted ones (:func:`glpp.design.prediction.build_prediction_rows` for the fixed
part and the random term's covariate; the class columns and the membership covariates of
``C ~ v`` from the new rows, as :mod:`glpp.design.class_regression` codes them).

- ``kind="marginal"``: ``sum_c pi_c(v_r) g^{-1}(eta_rc)``, the class sizes from the
  membership model at the row's own membership covariates.
- ``kind="conditional"``: a row of a fitted unit (its ``g`` or ``id`` among the fitted
  units) is mixed by that unit's posterior class probabilities (``fit.posterior``); a row of
  a new unit, or of classes that vary over the rows (``C ~~ classes(k)`` with no level: every
  new row is a new unit), by the class sizes as above (``new_cluster``). ``known=`` columns of
  the new rows are not used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from glpp.design.class_regression import code_class_columns, class_regression_statement
from glpp.design.columns import check_columns, formula_columns
from glpp.design.prediction import cluster_positions, build_prediction_rows
from glpp.errors import DataError
from glpp.results.predict_rows import ClassRowMeans

__all__ = ["NewClassRowMeans"]


def _class_inputs(spec, distribution) -> tuple[dict[str, set[str]], list[str]]:
    """The columns of the class terms by term, and the membership covariates of ``C ~ v``."""
    terms = {}
    for term in spec.regressions[0].class_terms:
        if term.latent == distribution.latent and term.expression != "1":
            label = f"class term '{term.label}'"
            terms[label] = formula_columns(term.expression, label)
    membership = [predictor.name for regression in spec.latent_regressions if regression.latent == distribution.latent
                  for predictor in regression.predictors]
    return terms, membership


class NewClassRowMeans(ClassRowMeans):
    """Row means of new rows of a regression with a discrete latent (module docstring).

    Parameters
    ----------
    model : Model
    data : DataFrame
        The rows to predict; rows with a missing value in a used column are left out (``index``).
    posterior : ndarray or None
        The fitted units' posterior class probabilities (conditional predictions); ``None``: marginal.
    """

    def __init__(self, model, data: pd.DataFrame, posterior: np.ndarray | None):
        spec, design, discrete = model.spec, model.design, model.design.discrete
        distribution = spec.distributions[0]
        class_terms, membership_columns = _class_inputs(spec, distribution)
        for term, columns in class_terms.items():
            check_columns(columns, data, term)
        check_columns(set(membership_columns), data, f"'{distribution.latent} ~ ...'")
        unit_group = (distribution.level,) if distribution.level is not None else None
        conditional = posterior is not None
        if unit_group is not None and conditional:
            check_columns(set(unit_group), data, class_regression_statement(distribution))
        used = sorted(set().union(set(membership_columns), *class_terms.values()))
        data = data.loc[data[used].notna().all(axis=1)] if used else data
        rows = build_prediction_rows(spec, design, model.data, data, clusters=conditional and design.levels != ())
        frame = data.loc[rows.index]
        super().__init__(model, None)
        n_rows = len(rows.index)
        covariate = rows.covariates[0][:, 0] if discrete.kind == "masspoints" else np.zeros(n_rows)
        membership = np.column_stack([np.ones(n_rows)] + [frame[column].to_numpy(dtype=float) for column in membership_columns])
        self.arguments = [
            rows.fixed[:, list(discrete.fixed_columns)], rows.offset, membership,
            np.zeros(n_rows, dtype=np.int64), covariate.astype(float),
        ]
        if discrete.class_columns is not None:
            statement = class_regression_statement(distribution)
            columns, names, _ = code_class_columns(spec, distribution, frame, statement)
            if names != discrete.class_column_names:
                raise DataError(f"{statement}: the new rows code the class terms as {list(names)}, the fit as "
                                f"{list(discrete.class_column_names)}; give rows whose columns code as the fitted ones")
            self.arguments += [columns.astype(float), np.flatnonzero(discrete.class_mask.ravel()).astype(np.int64)]
        if not conditional:
            units = np.full(n_rows, -1, dtype=np.int64)
        elif discrete.kind == "masspoints":
            units = rows.clusters[0]
        elif unit_group is not None:
            units = cluster_positions(frame, unit_group, discrete.unit_labels)
        else:
            units = np.full(n_rows, -1, dtype=np.int64)  # classes over the rows: every new row is a new unit
        self.fitted_posterior, self.units, self.n_rows, self.index = posterior, units, n_rows, rows.index

    @property
    def new_cluster(self) -> np.ndarray:
        return self.units < 0

    def response(self, theta: np.ndarray) -> np.ndarray:
        """``sum_c w_rc g^{-1}(eta_rc)``: a fitted unit's posterior, else the row's class sizes."""
        eta, log_weights = self.function(np.asarray(theta, dtype=float), self.layout.sizes, *self.arguments)
        weights = np.exp(log_weights)
        if self.fitted_posterior is not None:
            known = self.units >= 0
            weights[known] = self.fitted_posterior[self.units[known]]
        return np.sum(weights * self.links.inverse(eta), axis=1)
