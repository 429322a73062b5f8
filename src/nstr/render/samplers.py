"""Where rays meet the scene box and where they are sampled: packed samples (nerfacc's layout), stratified
samples, the equal-step march that skips unoccupied cells, and inverse-CDF importance sampling."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


# -- where rays meet the scene box ------------------------------------------------------------------------
def ray_box(origins: torch.Tensor, directions: torch.Tensor, bound: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Entry and exit distances [R] of rays through the box [-bound, bound]^3 (slab method); rays that miss
    it get near == far. Entry is clamped at 0 (a camera inside the box starts at its centre)."""
    safe = torch.where(directions.abs() < 1e-9, torch.full_like(directions, 1e-9), directions)
    t0 = (-bound - origins) / safe
    t1 = (bound - origins) / safe
    near = torch.minimum(t0, t1).amax(dim=-1).clamp_min(0.0)
    far = torch.maximum(t0, t1).amin(dim=-1)
    return near, torch.maximum(far, near)


# -- samples along rays -----------------------------------------------------------------------------------
class Samples:
    """Packed samples: interval [t_start, t_end] of ray ``ray_index``; rows grouped by ray, in order of t.

    Packing (nerfacc's layout) lets each ray keep a different number of samples, so empty space skipped by the
    occupancy grid costs no field evaluations.
    """

    def __init__(self, ray_index: torch.Tensor, t_start: torch.Tensor, t_end: torch.Tensor, n_rays: int):
        self.ray_index, self.t_start, self.t_end, self.n_rays = ray_index, t_start, t_end, n_rays

    def __len__(self) -> int:
        return self.ray_index.shape[0]

    @property
    def t_mid(self) -> torch.Tensor:
        return 0.5 * (self.t_start + self.t_end)

    def points(self, origins: torch.Tensor, directions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """World positions at the interval midpoints and their rays' directions, [M, 3] each."""
        d = directions[self.ray_index]
        return origins[self.ray_index] + self.t_mid[:, None] * d, d

    @classmethod
    def from_dense(cls, edges: torch.Tensor, keep: torch.Tensor | None = None) -> Samples:
        """Pack interval edges [R, n + 1] (optionally only the intervals where ``keep`` [R, n] is true)."""
        n_rays, n = edges.shape[0], edges.shape[1] - 1
        if keep is None:
            keep = torch.ones(n_rays, n, dtype=torch.bool, device=edges.device)
        ray, k = keep.nonzero(as_tuple=True)
        return cls(ray, edges[ray, k], edges[ray, k + 1], n_rays)


def stratified_edges(near: torch.Tensor, far: torch.Tensor, n: int,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Interval edges [R, n + 1] splitting [near, far] into n equal strata; with a generator each inner edge
    moves uniformly by up to half a stratum either way (then sorted), so sample midpoints cover every depth
    across training; without one the strata are regular."""
    u = torch.linspace(0.0, 1.0, n + 1, device=near.device).expand(near.shape[0], n + 1)
    if generator is not None:
        jitter = (torch.rand(near.shape[0], n + 1, generator=generator, device=near.device) - 0.5) / n
        u = (u + jitter).clamp(0.0, 1.0)
        u[:, 0], u[:, -1] = 0.0, 1.0
        u = u.sort(dim=1).values
    return near[:, None] + (far - near)[:, None] * u


def march(origins: torch.Tensor, directions: torch.Tensor, near: torch.Tensor, far: torch.Tensor, step: float,
          occupied: Callable[[torch.Tensor], torch.Tensor] | None = None,
          generator: torch.Generator | None = None) -> Samples:
    """Equal steps of length ``step`` from near to far (with a generator each ray's first step starts a random
    fraction of a step in, so training sees every depth; the skipped first fraction of a step at the box's
    entry is empty space in any scene that fits its box), keeping only the intervals whose midpoint
    ``occupied(points [M, 3]) -> bool [M]`` accepts (an occupancy grid's test)."""
    longest = float((far - near).max()) if near.numel() else 0.0
    n = max(1, math.ceil(longest / step))
    offset = (torch.rand(near.shape[0], 1, generator=generator, device=near.device) if generator is not None
              else 0.0)
    starts = near[:, None] + (torch.arange(n, dtype=near.dtype, device=near.device) + offset) * step
    ends = (starts + step).minimum(far[:, None])
    keep = ends > starts
    if occupied is not None:
        mid = origins[:, None, :] + (0.5 * (starts + ends))[..., None] * directions[:, None, :]
        keep &= occupied(mid.view(-1, 3)).view(keep.shape)
    ray, k = keep.nonzero(as_tuple=True)
    return Samples(ray, starts[ray, k], ends[ray, k], near.shape[0])


def importance_edges(edges: torch.Tensor, weights: torch.Tensor, n: int,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """n + 1 new sorted edges [R, n + 1] drawn from the piecewise-constant density ``weights`` [R, m] over the
    intervals ``edges`` [R, m + 1] by inverse transform (NeRF's hierarchical sampling); regular quantiles
    without a generator. A small floor keeps every interval reachable.

    The first and last edges are each ray's own first and last (near and far): the quantiles 0 and 1 are
    always drawn and set exactly, so the n intervals tile [near, far] and no part of the ray goes unrendered
    (with a generator only the n - 1 inner quantiles are random)."""
    pdf = weights.detach() + 1e-5
    pdf = pdf / pdf.sum(dim=1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[:, :1]), pdf.cumsum(dim=1)], dim=1).clamp_max(1.0)
    if generator is not None:
        u = torch.rand(edges.shape[0], n + 1, generator=generator, device=edges.device).sort(dim=1).values
        u[:, 0], u[:, -1] = 0.0, 1.0
    else:
        u = torch.linspace(0.0, 1.0, n + 1, device=edges.device).expand(edges.shape[0], n + 1).contiguous()
    upper = torch.searchsorted(cdf, u, right=True).clamp(1, cdf.shape[1] - 1)
    lower = upper - 1
    c0, c1 = cdf.gather(1, lower), cdf.gather(1, upper)
    e0, e1 = edges.gather(1, lower), edges.gather(1, upper)
    frac = ((u - c0) / (c1 - c0).clamp_min(1e-12)).clamp(0.0, 1.0)
    out = e0 + frac * (e1 - e0)
    out[:, 0], out[:, -1] = edges[:, 0], edges[:, -1]  # exactly, whatever the rounding of the cdf's end
    return out.detach()


