"""Learnable multilinear feature grids with exact spatial Jacobians, for NSTR's spectral field.

A grid level has R_k vertices along axis k spanning [-1, 1] (vertex-aligned: x = -1 and x = 1 are
vertices). Features at x are the (bi/tri)linear blend of the 2^d surrounding vertices; because the
weights are products of per-axis linear factors, their derivative in x is exact and cheap:
d w_c / d x_k = s_k (R_k - 1) / 2 * prod_{j != k} f_j, with s_k = +1 for the upper corner and -1 for the
lower. ``forward_with_jacobian`` returns features and their Jacobian from one gather, so the spectral
field's dS/dx needs no reverse pass per channel. Levels that would exceed ``2^log2_table`` vertices are
hashed with Instant-NGP's XOR-of-primes hash. All levels are processed together in a few large tensor
operations (one gather for every level and corner), which is what makes this fast on a CPU.
"""

from __future__ import annotations

import math

import torch
from torch import nn

PRIMES = (1, 2654435761, 805459861)


def geometric_resolutions(levels: int, base: int, finest: int) -> list[int]:
    """Per-level vertex counts growing geometrically from ``base`` to ``finest`` (Instant-NGP's b)."""
    if levels == 1:
        return [base]
    growth = math.exp((math.log(finest) - math.log(base)) / (levels - 1))
    return [int(math.floor(base * growth**level + 1e-9)) for level in range(levels)]


class MultilinearGrid(nn.Module):
    """Levels of learnable vertex features, blended multilinearly; output [N, levels * channels].

    ``resolutions`` is one entry per level, each a tuple of vertex counts per axis (length in_dim).
    """

    def __init__(self, in_dim: int, resolutions: list[tuple[int, ...]], channels: int, log2_table: int = 19,
                 init_scale: float = 1e-4):
        super().__init__()
        if in_dim not in (1, 2, 3):
            raise ValueError(f"in_dim must be 1, 2 or 3, got {in_dim}")
        self.in_dim, self.channels, self.levels = in_dim, channels, len(resolutions)
        self.table_size = 1 << log2_table
        self.resolutions = [tuple(int(r) for r in res) for res in resolutions]
        for res in self.resolutions:
            if len(res) != in_dim or min(res) < 2:
                raise ValueError(f"each grid resolution needs {in_dim} vertex counts >= 2, got {res}")
        self.hashed = [math.prod(res) > self.table_size for res in self.resolutions]
        sizes = [min(math.prod(res), self.table_size) for res in self.resolutions]
        offsets = [sum(sizes[:level]) for level in range(self.levels)]
        self.features = nn.Parameter(torch.empty(sum(sizes), channels).uniform_(-init_scale, init_scale))
        res = torch.tensor(self.resolutions, dtype=torch.float64)  # [L, d]
        strides = torch.ones(self.levels, in_dim, dtype=torch.long)
        for k in range(1, in_dim):
            strides[:, k] = strides[:, k - 1] * res[:, k - 1].long()
        corners = torch.tensor([[(c >> k) & 1 for k in range(in_dim)] for c in range(1 << in_dim)])
        self.register_buffer("res", res, persistent=False)
        self.register_buffer("strides", strides, persistent=False)
        self.register_buffer("offsets", torch.tensor(offsets), persistent=False)
        self.register_buffer("is_hashed", torch.tensor(self.hashed), persistent=False)
        self.register_buffer("primes", torch.tensor(PRIMES[:in_dim]), persistent=False)
        self.register_buffer("corners", corners, persistent=False)  # [2^d, d] in {0, 1}

    @property
    def out_dim(self) -> int:
        return self.levels * self.channels

    def _index(self, vertices: torch.Tensor) -> torch.Tensor:
        """Integer vertices [N, L, 2^d, d] -> table rows [N, L, 2^d]: dense where a level fits, else hashed."""
        dense = (vertices * self.strides[:, None, :]).sum(dim=-1)
        if not any(self.hashed):
            return dense + self.offsets[:, None]
        mixed = vertices * self.primes
        hashed = mixed[..., 0]
        for k in range(1, self.in_dim):
            hashed = hashed ^ mixed[..., k]
        hashed = hashed % self.table_size
        return torch.where(self.is_hashed[:, None], hashed, dense) + self.offsets[:, None]

    def corners_and_weights(self, x: torch.Tensor, jacobian: bool):
        """Rows [N, L, 2^d], weights [N, L, 2^d] and optionally d weights / dx [N, L, 2^d, d]."""
        res = self.res.to(x.dtype)
        scale = (res - 1) / 2  # [L, d]
        u = (x.clamp(-1, 1)[:, None, :] + 1) * scale  # [N, L, d] in vertex units
        base = torch.minimum(u.detach().floor(), res - 2)
        t = (u - base).unsqueeze(2)  # [N, L, 1, d]
        upper = self.corners.to(x.dtype)  # [2^d, d]
        factors = upper * t + (1 - upper) * (1 - t)  # [N, L, 2^d, d]
        weights = factors.prod(dim=-1)
        rows = self._index(base.long().unsqueeze(2) + self.corners)
        if not jacobian:
            return rows, weights, None
        slopes = (2 * upper - 1) * scale[:, None, :]  # [L, 2^d, d]: derivative of each factor
        cols = []
        for k in range(self.in_dim):
            others = torch.cat([factors[..., :k], factors[..., k + 1 :]], dim=-1).prod(dim=-1)
            cols.append(slopes[..., k] * others)
        return rows, weights, torch.stack(cols, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_jacobian(x, jacobian=False)[0]

    def forward_with_jacobian(self, x: torch.Tensor, jacobian: bool = True):
        """Features [N, L*C] and, if asked, their exact Jacobian [N, L*C, d]."""
        rows, weights, dweights = self.corners_and_weights(x, jacobian)
        n = x.shape[0]
        values = self.features.index_select(0, rows.reshape(-1)).view(*rows.shape, self.channels)  # [N,L,2^d,C]
        z = torch.einsum("nlc,nlcf->nlf", weights, values).reshape(n, -1)
        if not jacobian:
            return z, None
        jac = torch.einsum("nlck,nlcf->nlfk", dweights, values).reshape(n, -1, self.in_dim)
        return z, jac
