"""Hand-derived MAML meta-gradients for a linear model with a mean-squared-error loss.

For ``f(x) = w·x + b`` write ``θ = (w, b)`` and ``A = [x, 1]``. The loss on a set
``(A, y)`` of ``n`` points is ``L(θ) = ||Aθ − y||² / n``, its gradient
``∇L(θ) = 2 Aᵀ(Aθ − y) / n`` and its Hessian ``H = 2 AᵀA / n`` (constant). With the step
``θ_{j+1} = θ_j − D ∇L_s(θ_j)`` (``D = diag(α)``):

* ``dθ_k/dθ_0 = (I − D H_s)^k``, so the second-order meta-gradient is
  ``((I − D H_s)^k)ᵀ ∇L_q(θ_k)`` and the first-order one is ``∇L_q(θ_k)``;
* ``dθ_{j+1}/dα = (I − D H_s) dθ_j/dα − diag(∇L_s(θ_j))`` (the first-order version drops
  ``D H_s``), and the meta-gradient in ``α`` is ``(dθ_k/dα)ᵀ ∇L_q(θ_k)``.

Written in numpy, independent of the library.
"""

from __future__ import annotations

import numpy as np


def design(x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((x.shape[0], 1))])


def gradient(theta: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 2.0 * a.T @ (a @ theta - y) / a.shape[0]


def loss(theta: np.ndarray, a: np.ndarray, y: np.ndarray) -> float:
    residual = a @ theta - y
    return float(residual @ residual / a.shape[0])


def task_meta_gradient(
    theta0: np.ndarray,
    support: tuple[np.ndarray, np.ndarray],
    query: tuple[np.ndarray, np.ndarray],
    alpha: np.ndarray,
    steps: int,
    first_order: bool,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Query loss after ``steps`` steps, its gradient in θ_0 and in the step sizes α."""
    a_s, y_s = design(support[0]), support[1]
    a_q, y_q = design(query[0]), query[1]
    dim = theta0.size
    hessian = 2.0 * a_s.T @ a_s / a_s.shape[0]
    jacobian = np.eye(dim) - np.diag(alpha) @ hessian
    theta = theta0.copy()
    d_theta_d_theta0 = np.eye(dim)
    d_theta_d_alpha = np.zeros((dim, dim))
    for _ in range(steps):
        g = gradient(theta, a_s, y_s)
        if first_order:
            d_theta_d_alpha = d_theta_d_alpha - np.diag(g)
        else:
            d_theta_d_theta0 = jacobian @ d_theta_d_theta0
            d_theta_d_alpha = jacobian @ d_theta_d_alpha - np.diag(g)
        theta = theta - alpha * g
    g_q = gradient(theta, a_q, y_q)
    return loss(theta, a_q, y_q), d_theta_d_theta0.T @ g_q, d_theta_d_alpha.T @ g_q


def meta_gradient(theta0, tasks, alpha, steps, first_order):  # type: ignore[no-untyped-def]
    """Mean over tasks of :func:`task_meta_gradient`."""
    results = [task_meta_gradient(theta0, s, q, alpha, steps, first_order) for s, q in tasks]
    return (
        float(np.mean([r[0] for r in results])),
        np.mean([r[1] for r in results], axis=0),
        np.mean([r[2] for r in results], axis=0),
    )
