"""Small batched matrices: Cholesky factors and triangular solves, unrolled.

A level has few latents (``d`` of 1 to about 5), and the likelihood needs a
``d x d`` factorisation for every cluster (and every context of its
ancestors' nodes). Here a batch of such matrices is a nested list
(:data:`Matrix`) of tensors, one tensor per entry holding that entry for every
member of the batch; a vector is a list of tensors. The factorisations unroll
over the (few) dimensions into element-wise operations on whole batches:
compiled C code, no loop over clusters, and pytensor differentiates them.

Entries broadcast against each other, so a factor whose entries have shape
``(J, 1, 1)`` (:func:`lift`) solves right-hand sides of shape ``(J, C, K)``.
"""

from __future__ import annotations

import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

__all__ = [
    "Matrix",
    "Vector",
    "cholesky",
    "entries",
    "lift",
    "log_determinant",
    "newton_step",
    "solve",
    "solve_lower",
    "solve_lower_transposed",
]

#: a batch of square matrices: ``matrix[i][j]`` is entry (i, j) of every member
#: (``None`` above the diagonal of a triangular factor)
Matrix = list[list[TensorVariable | None]]
#: a batch of vectors: ``vector[i]`` is entry i of every member
Vector = list[TensorVariable]


def entries(matrix: TensorVariable, size: int) -> Matrix:
    """The batched matrix of a tensor of shape ``(..., size, size)``."""
    return [[matrix[..., i, j] for j in range(size)] for i in range(size)]


def cholesky(matrix: Matrix) -> Matrix:
    """Lower Cholesky factor of every member of a batch of symmetric positive definite matrices.

    Reads the lower triangle of ``matrix`` only.

    Parameters
    ----------
    matrix : Matrix
        ``d x d`` entries, each a tensor over the batch.

    Returns
    -------
    Matrix
        The factor ``L`` (``L L' = matrix``), ``None`` above the diagonal.
    """
    size = len(matrix)
    factor: Matrix = [[None] * size for _ in range(size)]
    for i in range(size):
        for j in range(i + 1):
            total = matrix[i][j]
            for k in range(j):
                total = total - factor[i][k] * factor[j][k]
            factor[i][j] = pt.sqrt(total) if i == j else total / factor[j][j]
    return factor


def solve_lower(factor: Matrix, rhs: Vector) -> Vector:
    """Solve ``factor x = rhs`` by forward substitution (``factor`` lower triangular)."""
    solution: Vector = []
    for i in range(len(rhs)):
        total = rhs[i]
        for k in range(i):
            total = total - factor[i][k] * solution[k]
        solution.append(total / factor[i][i])
    return solution


def solve_lower_transposed(factor: Matrix, rhs: Vector) -> Vector:
    """Solve ``factor' x = rhs`` by back substitution (``factor`` lower triangular)."""
    size = len(rhs)
    solution: Vector = [None] * size  # type: ignore[list-item]
    for i in reversed(range(size)):
        total = rhs[i]
        for k in range(i + 1, size):
            total = total - factor[k][i] * solution[k]
        solution[i] = total / factor[i][i]
    return solution


def solve(factor: Matrix, rhs: Vector) -> Vector:
    """Solve ``(factor factor') x = rhs`` given the Cholesky factor of the matrix."""
    return solve_lower_transposed(factor, solve_lower(factor, rhs))


def lift(factor: Matrix, index: tuple) -> Matrix:
    """Index every entry of a batched matrix with ``index`` (e.g. ``(slice(None), None)`` adds an axis)."""
    return [[entry[index] if entry is not None else None for entry in row] for row in factor]


def log_determinant(factor: Matrix) -> TensorVariable:
    """``log |factor|`` of a triangular factor: the sum of the logs of its diagonal."""
    return sum(pt.log(factor[a][a]) for a in range(len(factor)))


def newton_step(modes: Vector, score: Vector, neg_hessian: Matrix) -> Vector:
    """One Newton step ``modes + (-H)^{-1} score`` of a batch of concave maximisations.

    Taken inside the likelihood graphs from modes that are inputs (constants for the
    gradient) and already converged: it does not move them, and it carries the implicit
    derivative of the modes with respect to the parameters.
    """
    return [mode + step for mode, step in zip(modes, solve(cholesky(neg_hessian), score))]
