"""ODE solvers for dynamical fields (DINR): fixed-step Euler and RK4 written here, adaptive dopri5 via torchdiffeq.

Every solver integrates dy/dt = f(t, y) from t0 to t1 and also estimates the kinetic energy of the path,

    KE = 0.5 * int_{t0}^{t1} mean(f(t, y(t))^2) dt        (mean over every element of the state: batch x dim)

which DINR multiplies by its weight lambda (the paper's L_KE, the official code's ``ot_reg``). Each solver
estimates the integral as if the augmented state e' = 0.5 mean(f^2) were integrated alongside y by the same
method, so all three estimate the same number:

* Euler (official DINR): KE = 0.5 * dt * sum_k mean(v_k^2), v_k = f(t_k, y_k) the step's one evaluation
  (``lambda`` times this is exactly the official ``0.5 * ot_lambda * dt * sum_k v_k.pow(2).mean()``).
* RK4: KE = 0.5 * sum_k (dt/6) [mean(k1^2) + 2 mean(k2^2) + 2 mean(k3^2) + mean(k4^2)], all four stage
  evaluations with RK4's weights. That is RK4 applied to the augmented state, so the energy converges at
  fourth order like y; using only k1 (the step-start value, as Euler does) would leave the energy first-order
  accurate and blind to the field between step starts.
* dopri5 (adaptive): the augmented state is really integrated, KE = e(t1), with the same error control as y.

``odeint_fixed`` returns the evaluations with their quadrature weights (``Evaluation``), so the caller can
form this or any other path functional of the field without a second integration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from nstr.core.errors import NstrError
from nstr.core.lazy import lazy_import

torchdiffeq = lazy_import("torchdiffeq")  # loaded on first use: it imports scipy.integrate (0.4 s)

#: Fixed-step methods of ``odeint_fixed``; ``ADAPTIVE`` goes through torchdiffeq.
FIXED_METHODS = ("euler", "rk4")
ADAPTIVE = "dopri5"
SOLVERS = (*FIXED_METHODS, ADAPTIVE)

VectorField = Callable[[float | torch.Tensor, torch.Tensor], torch.Tensor]


class Evaluation(NamedTuple):
    """One evaluation v = f(t, y) of the vector field and its weight in the solver's quadrature of int g(v) dt."""

    weight: float
    value: torch.Tensor


def odeint_fixed(f: VectorField, y0: torch.Tensor, t0: float, t1: float, steps: int, method: str = "euler"
                 ) -> tuple[torch.Tensor, list[Evaluation]]:
    """Integrate y' = f(t, y) from t0 to t1 in ``steps`` equal steps; return y(t1) and the field evaluations.

    ``method``: "euler" (explicit Euler, order 1, one evaluation per step) or "rk4" (classic Runge-Kutta,
    order 4, four evaluations per step). ``f(t, y)`` gets t as a Python float. The result is differentiable
    (any order) in y0 and in whatever f closes over: plain autograd through the unrolled steps.
    """
    if method not in FIXED_METHODS:
        raise ValueError(f"method must be one of {', '.join(FIXED_METHODS)}, got '{method}'")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    dt = (t1 - t0) / steps
    y, evaluations = y0, []
    for k in range(steps):
        t = t0 + k * dt
        if method == "euler":
            v = f(t, y)
            evaluations.append(Evaluation(dt, v))
            y = torch.add(y, v, alpha=dt)  # one pass; y keeps its dtype when f computes in a lower one
            continue
        k1 = f(t, y)
        k2 = f(t + dt / 2, torch.add(y, k1, alpha=dt / 2))
        k3 = f(t + dt / 2, torch.add(y, k2, alpha=dt / 2))
        k4 = f(t + dt, torch.add(y, k3, alpha=dt))
        evaluations += [Evaluation(dt / 6, k1), Evaluation(dt / 3, k2), Evaluation(dt / 3, k3), Evaluation(dt / 6, k4)]
        y = torch.add(y, k1 + 2 * k2 + 2 * k3 + k4, alpha=dt / 6)
    return y, evaluations


def mean_square(v: torch.Tensor) -> torch.Tensor:
    """mean(v^2), accumulated in at least float32 (a bf16 field's velocities too).

    As ||v||^2 / n: one pass forward and one backward (v * grad / ||v||, zero at v = 0), where casting and
    squaring first takes five (measured 1.7 against 8.2 ms on a 4096 x 243 bf16 state)."""
    norm = torch.linalg.vector_norm(v, dtype=torch.promote_types(v.dtype, torch.float32))
    return norm.square() / v.numel()


def kinetic_energy(evaluations: list[Evaluation]) -> torch.Tensor:
    """0.5 * sum_k w_k mean(v_k^2): the solver's estimate of 0.5 int mean(f^2) dt (unweighted by lambda)."""
    if not evaluations:
        raise ValueError("no evaluations to form a kinetic energy from")
    return 0.5 * sum(w * mean_square(v) for w, v in evaluations)


def odeint_adaptive(f: VectorField, y0: torch.Tensor, t0: float, t1: float, rtol: float = 1e-3,
                    atol: float = 1e-4, max_steps: int = 10_000) -> tuple[torch.Tensor, torch.Tensor]:
    """Integrate y' = f(t, y) with adaptive Dormand-Prince 5(4); return y(t1) and KE = 0.5 int mean(f^2) dt.

    torchdiffeq (a well-kept, widely used neural-ODE library) provides the embedded pair, its step-size
    control and the first-step heuristic; writing those again here would buy nothing. The energy is carried
    as a second state e' = 0.5 mean(f(t, y)^2), e(t0) = 0, under the same error control as y. Gradients flow
    by autograd through the accepted steps (direct backpropagation, not the adjoint method: exact gradients
    of the computed solution at the memory cost of storing the steps). ``f`` gets t as a 0-d tensor.
    More than ``max_steps`` steps (a stiff or exploding field) raises a one-line NstrError.
    """
    if not (rtol > 0 and atol > 0):
        raise ValueError(f"rtol and atol must be positive, got {rtol} and {atol}")

    def augmented(t: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        v = f(t, state[0])
        return v, 0.5 * mean_square(v).reshape(1)

    times = torch.tensor([t0, t1], dtype=y0.dtype, device=y0.device)
    energy0 = y0.new_zeros(1)
    try:
        ys, energies = torchdiffeq.odeint(augmented, (y0, energy0), times, rtol=rtol, atol=atol, method=ADAPTIVE,
                              options={"max_num_steps": max_steps})
    except AssertionError as exc:
        if "max_num_steps" not in str(exc):
            raise
        raise NstrError(f"dopri5 needed more than {max_steps} steps (a stiff or exploding vector field); "
                        "use --solver rk4 or loosen --rtol/--atol") from None
    return ys[-1], energies[-1][0]
