"""View directions as real spherical harmonics, and the density activation of Instant-NGP."""

from __future__ import annotations

import torch

#: Real spherical-harmonic constants up to degree 3 (the 16 coefficients Instant-NGP feeds its colour MLP).
_C0 = 0.28209479177387814
_C1 = 0.4886025119029199
_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
_C3 = (-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154, -0.4570457994644658,
       1.445305721320277, -0.5900435899266435)
SH_FEATURES = 16


def spherical_harmonics(d: torch.Tensor) -> torch.Tensor:
    """The 16 real spherical harmonics of degrees 0-3 at unit directions d [N, 3] -> [N, 16] (orthonormal on
    the sphere: the mean of Y_i Y_j over uniform directions is delta_ij / (4 pi))."""
    x, y, z = d.unbind(-1)
    xx, yy, zz = x * x, y * y, z * z
    return torch.stack([
        torch.full_like(x, _C0),
        -_C1 * y, _C1 * z, -_C1 * x,
        _C2[0] * x * y, _C2[1] * y * z, _C2[2] * (2 * zz - xx - yy), _C2[3] * x * z, _C2[4] * (xx - yy),
        _C3[0] * y * (3 * xx - yy), _C3[1] * x * y * z, _C3[2] * y * (4 * zz - xx - yy),
        _C3[3] * z * (2 * zz - 3 * xx - 3 * yy), _C3[4] * x * (4 * zz - xx - yy), _C3[5] * z * (xx - yy),
        _C3[6] * x * (xx - 3 * yy),
    ], dim=-1)


class _TruncExp(torch.autograd.Function):
    """exp(x) whose gradient uses exp(min(x, 15)): the density activation of Instant-NGP, which keeps a few
    large raw densities from blowing up a step."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.exp(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * torch.exp(x.clamp(max=15.0))


def trunc_exp(x: torch.Tensor) -> torch.Tensor:
    return _TruncExp.apply(x)
