"""What both ways of drawing 2-D Gaussians share: the cut-off box and the Mahalanobis distance.

A Gaussian has a mean mu (2) and a lower-triangular Cholesky factor L = [[a, 0], [b, c]] of its covariance
Sigma = L L^T, given as ``factors`` [N, 3] = (a, b, c) with a, c > 0. Written with L^-1, the squared
Mahalanobis distance of an offset d = p - mu is

    q = |L^-1 d|^2 = u^2 + v^2,   u = d_x / a,   v = (d_y - b u) / c,

which needs no inverse, no determinant and no square root, and stays exact for thin Gaussians. A Gaussian
adds nothing beyond its cut-off q > r^2; its support then lies inside the box |d_x| <= r sqrt(Sigma_xx) = r a,
|d_y| <= r sqrt(Sigma_yy) = r sqrt(b^2 + c^2), which is how both renderers find what it touches.
"""

from __future__ import annotations

import torch

#: Relative margin added to a cut-off box, so that rounding never leaves out a point the cut-off keeps.
BOX_MARGIN = 1e-5


def half_extents(factors: torch.Tensor, cutoff: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Half-widths (x, y) [N] of each Gaussian's cut-off box, in the units of its factors, with a small margin."""
    a, b, c = factors.unbind(-1)
    scale = cutoff * (1 + BOX_MARGIN)
    return scale * a.abs(), scale * torch.sqrt(b * b + c * c)


def offsets_to_uv(dx: torch.Tensor, dy: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """(u, v) = L^-1 (dx, dy) for broadcastable offsets and factors; q = u^2 + v^2."""
    u = dx / a
    return u, (dy - b * u) / c


def weights(q: torch.Tensor, cutoff: float) -> torch.Tensor:
    """exp(-q / 2) inside the cut-off (q <= r^2), 0 beyond it."""
    return torch.where(q <= cutoff * cutoff, torch.exp(-0.5 * q), torch.zeros_like(q))
