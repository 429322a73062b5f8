"""An occupancy grid over the scene box: which cells may hold matter, so marching skips empty space.

Instant-NGP's scheme: every cell keeps a running maximum of the field's density at random points inside it,
decayed by ``decay`` at each update; a cell is occupied while that value reaches the density at which one
march step becomes 1 % opaque (or the grid's mean, whichever is lower). Cells never measured count as
occupied, and a grid that would mark every cell empty marks them all occupied (no samples, no gradient).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class OccupancyGrid(nn.Module):
    """``resolution``^3 cells over [-bound, bound]^3; state in buffers, so it is saved and resumed with the model."""

    def __init__(self, resolution: int, bound: float, decay: float = 0.95):
        super().__init__()
        self.resolution, self.bound, self.decay = resolution, bound, decay
        self.register_buffer("density", torch.full((resolution**3,), -1.0))  # -1: not measured yet
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))

    def cell_index(self, x: torch.Tensor) -> torch.Tensor:
        r = self.resolution
        cell = ((x + self.bound) / (2 * self.bound) * r).long().clamp(0, r - 1)
        return (cell[:, 0] * r + cell[:, 1]) * r + cell[:, 2]

    def mask(self, step: float) -> torch.Tensor:
        measured = self.density >= 0
        if not bool(measured.any()):
            return torch.ones_like(measured)
        threshold = min(0.01 / step, float(self.density[measured].mean()))
        mask = ~measured | (self.density >= threshold)
        return mask if bool(mask.any()) else torch.ones_like(mask)  # an empty grid would stop all learning

    def occupied(self, x: torch.Tensor, step: float) -> torch.Tensor:
        """Whether each point [M, 3] lies in an occupied cell (points outside the box count as empty)."""
        inside = (x.abs() <= self.bound).all(dim=1)
        return self.mask(step)[self.cell_index(x)] & inside

    @torch.no_grad()
    def update(self, density: Callable[[torch.Tensor], torch.Tensor], fraction: float = 1.0,
               chunk: int = 1 << 16) -> None:
        """Measure ``density`` at one random point in a random ``fraction`` of the cells and fold it into the
        running maxima. Random draws depend only on the update count (and the grid's device, where they happen)."""
        device = self.density.device
        generator = torch.Generator(device=device).manual_seed(int(self.updates) + 1)
        n = self.density.numel()
        if fraction >= 1.0:
            cells = torch.arange(n, device=device)
        else:
            cells = torch.randperm(n, generator=generator, device=device)[: max(1, int(fraction * n))]
        r = self.resolution
        ijk = torch.stack([cells // (r * r), (cells // r) % r, cells % r], dim=1).float()
        jitter = torch.rand(len(cells), 3, generator=generator, device=device)
        points = (ijk + jitter) / r * (2 * self.bound) - self.bound
        measured = torch.cat([density(points[i : i + chunk]) for i in range(0, len(cells), chunk)])
        old = self.density[cells]
        self.density[cells] = torch.where(old < 0, measured, torch.maximum(old * self.decay, measured))
        self.updates += 1

    def occupied_fraction(self, step: float) -> float:
        return float(self.mask(step).float().mean())
