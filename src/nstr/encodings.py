"""Input encodings: maps from coordinates in [-1, 1]^d to features for an MLP."""

from __future__ import annotations

import math

import torch
from torch import nn


class FourierFeatures(nn.Module):
    """Random Fourier features [sin(2 pi B x), cos(2 pi B x)] with B ~ N(0, sigma^2), fixed (Tancik et al.).

    ``sigma`` is in cycles per unit of x on [-1, 1]; Tancik's sigma on [0, 1) coordinates is twice ours.
    """

    def __init__(self, in_dim: int, features: int, sigma: float, generator: torch.Generator | None = None):
        super().__init__()
        self.in_dim, self.features, self.sigma = in_dim, features, sigma
        matrix = torch.randn(in_dim, features, generator=generator) * sigma
        self.register_buffer("B", matrix)

    @property
    def out_dim(self) -> int:
        return 2 * self.features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        angles = (2 * math.pi) * (x @ self.B)
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
