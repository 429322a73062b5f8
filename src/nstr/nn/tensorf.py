"""TensoRF's vector-matrix (VM) factorisation of a 3-D feature volume (Chen et al. 2022), the tri-plane family.

Each of the three axis-aligned modes pairs a plane over two axes with a line along the third:
feature_c(x) = sum over modes m of P_m,c(x_a, x_b) * L_m,c(x_m). Density sums its components; appearance
concatenates them and maps the result through a learned linear basis to a short feature vector that a colour
network decodes with the view direction. Planes and lines are sampled bilinearly / linearly with
``torch.nn.functional.grid_sample`` (one call per factor for all three modes). The resolution is fixed (TensoRF
grows it during training; here it is an option).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: (plane axes, line axis) of the three modes.
MODES = (((0, 1), 2), ((0, 2), 1), ((1, 2), 0))


class VMFactors(nn.Module):
    """``components`` channels of a VM-factorised volume at ``resolution`` per axis over [-1, 1]^3."""

    def __init__(self, resolution: int, components: int, scale: float = 0.1):
        super().__init__()
        self.planes = nn.Parameter(scale * torch.randn(3, components, resolution, resolution))
        self.lines = nn.Parameter(scale * torch.randn(3, components, resolution, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-mode products [3, components, N] at points x [N, 3] in [-1, 1]^3."""
        plane_xy = torch.stack([x[:, list(axes)] for axes, _ in MODES])  # [3, N, 2]: grid_sample's (w, h)
        line_y = torch.stack([x[:, axis] for _, axis in MODES])  # [3, N]
        line_xy = torch.stack([torch.zeros_like(line_y), line_y], dim=-1)
        plane = F.grid_sample(self.planes, plane_xy[:, :, None, :], mode="bilinear", align_corners=True)
        line = F.grid_sample(self.lines, line_xy[:, :, None, :], mode="bilinear", align_corners=True)
        return (plane * line)[..., 0]


class TensoRFGeometry(nn.Module):
    """x [N, 3] in [-1, 1]^3 -> [N, 1 + features]: raw density (sum of density components) and appearance
    features (appearance components through a linear basis)."""

    def __init__(self, resolution: int, density_components: int, appearance_components: int, features: int):
        super().__init__()
        self.density_factors = VMFactors(resolution, density_components)
        self.appearance_factors = VMFactors(resolution, appearance_components)
        self.basis = nn.Linear(3 * appearance_components, features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sigma = self.density_factors(x).sum(dim=(0, 1))
        appearance = self.appearance_factors(x)  # [3, C, N]
        features = self.basis(appearance.permute(2, 0, 1).reshape(x.shape[0], -1))
        return torch.cat([sigma[:, None], features], dim=1)

    def density(self, x: torch.Tensor) -> torch.Tensor:
        return self.density_factors(x).sum(dim=(0, 1))
