"""Reference fit of the two-parameter logistic (2PL) model on the VerbAgg items, in numpy/scipy.

Run from the repo root:  python tests/reference/make_2pl.py

No R package here fits a 2PL by maximum likelihood with quadrature (mirt and ltm are not
installed), so this script is the reference, written independently of glpp (it does not import
it): the marginal log-likelihood of

    P(y_ij = 1 | F_j) = logit^-1(nu_i + lambda_i F_j),   F_j ~ N(0, 1)   (item i, person j)

by plain (non-adaptive) Gauss-Hermite quadrature, its analytic gradient, and scipy's BFGS. The
maximum is found with 101 and with 201 points; the two agree within 1e-6 (``settled`` in the
JSON, which also gives the log-likelihood at the estimate by rules of 41 to 201 points: 61
points are still 3e-4 off), and the 101-point fit is the reference. Standard errors: the
inverse of the Hessian obtained by central differences of the analytic gradient. Reads
model_library/data/verbagg_wide.csv and writes tests/reference/irt_2pl.json.
"""

from __future__ import annotations

import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
from scipy import optimize, special

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "model_library" / "data" / "verbagg_wide.csv"
OUTPUT = ROOT / "tests" / "reference" / "irt_2pl.json"
ITEMS = [f"i{number}" for number in range(1, 25)]
#: quadrature points of the reference fit, and of the fit that shows it is settled
N_NODES, N_NODES_CHECK = 101, 201
#: rules at which the log-likelihood is evaluated at the estimate, to show it converging
N_NODES_SERIES = (41, 61, 81, 101, 151, 201)
#: step of the central differences of the gradient (the Hessian for the standard errors)
HESSIAN_STEP = 1e-5


def standard_normal_rule(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and log-weights for an expectation over N(0, 1).

    Parameters
    ----------
    n_nodes : int
        Number of points.

    Returns
    -------
    nodes, log_weights : numpy.ndarray
        The nodes and the logarithms of their weights (which sum to 1).
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    return nodes, np.log(weights / weights.sum())


def negative_loglik_and_gradient(
    values: np.ndarray, responses: np.ndarray, nodes: np.ndarray, log_weights: np.ndarray
) -> tuple[float, np.ndarray]:
    """The 2PL's negative marginal log-likelihood and its gradient.

    Parameters
    ----------
    values : numpy.ndarray
        The intercepts ``nu`` of the items, then their loadings ``lambda``.
    responses : numpy.ndarray
        0/1 answers, one row per person and one column per item.
    nodes, log_weights : numpy.ndarray
        The quadrature rule for F ~ N(0, 1) (:func:`standard_normal_rule`).

    Returns
    -------
    value : float
        ``-sum_j log sum_q w_q prod_i p_iq^y_ji (1 - p_iq)^(1 - y_ji)``.
    gradient : numpy.ndarray
        Its derivatives by ``values``.
    """
    n_items = responses.shape[1]
    intercepts, loadings = values[:n_items], values[n_items:]
    eta = intercepts[None, :] + loadings[None, :] * nodes[:, None]  # (nodes, items)
    # log f(y_j | F = node q) for every person j and node q: (persons, nodes)
    log_conditional = responses @ eta.T - np.logaddexp(0.0, eta).sum(axis=1)[None, :]
    log_joint = log_conditional + log_weights[None, :]
    log_marginal = special.logsumexp(log_joint, axis=1)
    posterior = np.exp(log_joint - log_marginal[:, None])  # (persons, nodes)
    # d loglik / d eta_iq = sum_j posterior_jq (y_ji - p_iq)
    score_eta = posterior.T @ responses - posterior.sum(axis=0)[:, None] * special.expit(eta)
    gradient = np.concatenate([score_eta.sum(axis=0), nodes @ score_eta])
    return -float(log_marginal.sum()), -gradient


def maximise(
    responses: np.ndarray, n_nodes: int
) -> tuple[np.ndarray, float, optimize.OptimizeResult]:
    """Maximise the 2PL marginal log-likelihood with ``n_nodes`` quadrature points by BFGS.

    Starts from the logits of the items' proportions of "yes" and loadings 1; the sign of the
    loadings (F and -F give the same likelihood) is then chosen so that they sum to a positive
    number.

    Returns
    -------
    values : numpy.ndarray
        Intercepts, then loadings.
    loglik : float
        The maximised log-likelihood.
    result : scipy.optimize.OptimizeResult
        The optimiser's report.
    """
    nodes, log_weights = standard_normal_rule(n_nodes)
    n_items = responses.shape[1]
    start = np.concatenate([special.logit(responses.mean(axis=0)), np.ones(n_items)])
    result = optimize.minimize(
        negative_loglik_and_gradient, start, args=(responses, nodes, log_weights), jac=True,
        method="BFGS", options={"gtol": 1e-6, "maxiter": 10_000},
    )
    values = result.x.copy()
    if values[n_items:].sum() < 0:
        values[n_items:] *= -1
    return values, -result.fun, result


def hessian_of_loglik(values: np.ndarray, responses: np.ndarray, n_nodes: int) -> np.ndarray:
    """The log-likelihood's Hessian: central differences of the analytic gradient, symmetrised."""
    nodes, log_weights = standard_normal_rule(n_nodes)
    columns = []
    for index in range(len(values)):
        step = np.zeros_like(values)
        step[index] = HESSIAN_STEP
        _, up = negative_loglik_and_gradient(values + step, responses, nodes, log_weights)
        _, down = negative_loglik_and_gradient(values - step, responses, nodes, log_weights)
        columns.append(-(up - down) / (2 * HESSIAN_STEP))
    hessian = np.column_stack(columns)
    return (hessian + hessian.T) / 2


def parameter_names() -> list[str]:
    """The parameters' names, as the model's symbols: ``nu[i1]``, ..., ``lambda[F,i1]``, ..."""
    return [f"nu[{item}]" for item in ITEMS] + [f"lambda[F,{item}]" for item in ITEMS]


def main() -> None:
    responses = pd.read_csv(DATA)[ITEMS].to_numpy(dtype=float)
    started = time.perf_counter()
    values, loglik, result = maximise(responses, N_NODES)
    seconds = time.perf_counter() - started
    check_values, check_loglik, check_result = maximise(responses, N_NODES_CHECK)
    _, gradient = negative_loglik_and_gradient(values, responses, *standard_normal_rule(N_NODES))
    hessian = hessian_of_loglik(values, responses, N_NODES)
    eigenvalues = np.linalg.eigvalsh(-hessian)
    se = np.sqrt(np.diag(np.linalg.inv(-hessian)))
    names = parameter_names()
    reference = {
        "package": "numpy/scipy",
        "package_version": f"{np.__version__}/{scipy.__version__}",
        "language": "Python",
        "call": (
            "scipy.optimize.minimize(negative_loglik_and_gradient, start, "
            f"args=(responses, *standard_normal_rule({N_NODES})), jac=True, method=\"BFGS\", "
            "options={\"gtol\": 1e-6})  # tests/reference/make_2pl.py: the 2PL, "
            "logit P(y_ij = 1 | F_j) = nu_i + lambda_i F_j, F_j ~ N(0, 1)"
        ),
        "data": DATA.name,
        "loglik": loglik,
        "df": len(values),
        "time_s": seconds,
        "n_nodes": N_NODES,
        "converged": bool(result.success),
        "max_abs_gradient": float(np.max(np.abs(gradient))),
        "min_hessian_eigenvalue": float(eigenvalues.min()),
        "est": dict(zip(names, values.tolist())),
        "se": dict(zip(names, se.tolist())),
        "settled": {
            "n_nodes": N_NODES_CHECK,
            "loglik": check_loglik,
            "converged": bool(check_result.success),
            "loglik_difference": loglik - check_loglik,
            "max_abs_estimate_difference": float(np.max(np.abs(values - check_values))),
            "loglik_at_estimate": {
                str(n_nodes): -negative_loglik_and_gradient(
                    values, responses, *standard_normal_rule(n_nodes)
                )[0]
                for n_nodes in N_NODES_SERIES
            },
        },
    }
    output = {
        "verbagg_2pl": reference,
        "_meta": {
            "python": platform.python_version(),
            "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "machine": f"{platform.system()} {platform.machine()}",
            "note": "time_s: the 101-point maximisation only; independent of glpp (does not "
            "import it)",
        },
    }
    OUTPUT.write_text(json.dumps(output, indent=2) + "\n")
    print(
        f"wrote {OUTPUT}: loglik {loglik:.6f} ({N_NODES} points), "
        f"{check_loglik:.6f} ({N_NODES_CHECK})"
    )


if __name__ == "__main__":
    main()
