"""Volume rendering as plain functions of a field callable (in the spirit of nerfacc).

Camera convention (Blender / NeRF synthetic, OpenGL): a camera-to-world matrix ``c2w`` [4, 4] maps camera
coordinates to world coordinates; the camera looks down its -z axis, +x points right in the image and +y up.
Pixel (row i, column j) is sampled through its centre (j + 0.5, i + 0.5); with focal length f in pixels its
camera-space direction is ((j + 0.5 - W / 2) / f, -(i + 0.5 - H / 2) / f, -1). Ray directions are returned
with unit length, so a distance t along a ray is metric distance from the camera centre (depth maps hold that
distance, not the camera-space z).

A field is any callable ``field(x, d) -> (sigma [N], rgb [N, 3])`` of world points x [N, 3] and unit view
directions d [N, 3]; densities are non-negative, colours in [0, 1]. ``density(x) -> sigma [N]`` is the
view-independent part (for the occupancy grid and the importance sampler's coarse pass).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def focal_from_fov(width: int, camera_angle_x: float) -> float:
    """Focal length in pixels from the horizontal field of view in radians (transforms.json's camera_angle_x)."""
    return 0.5 * width / math.tan(0.5 * camera_angle_x)


def pixel_rays(c2w: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, height: int, width: int,
               focal: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Origins and unit directions [B, 3] through pixel centres (rows[b], cols[b]) of cameras c2w [B, 4, 4]."""
    c2w = c2w.to(torch.float32)
    camera = torch.stack([(cols.float() + 0.5 - width / 2) / focal, -(rows.float() + 0.5 - height / 2) / focal,
                          -torch.ones(rows.shape, dtype=torch.float32)], dim=-1)
    directions = torch.einsum("bij,bj->bi", c2w[:, :3, :3], camera)
    directions = directions / directions.norm(dim=-1, keepdim=True)
    return c2w[:, :3, 3], directions


def camera_rays(c2w: torch.Tensor, height: int, width: int, focal: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Origins and unit directions [H, W, 3] of every pixel of one camera (see the module docstring)."""
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    cameras = c2w.to(torch.float32).expand(height * width, 4, 4)
    origins, directions = pixel_rays(cameras, rows.reshape(-1), cols.reshape(-1), height, width, focal)
    return origins.reshape(height, width, 3), directions.reshape(height, width, 3)


def look_at(eye: torch.Tensor, target: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """Camera-to-world matrix [4, 4] (OpenGL axes, the dtype of ``eye``) of a camera at ``eye`` looking at
    ``target``: its -z axis points at the target, +y towards ``up``, +x to the right (no roll)."""
    back = eye - target
    back = back / back.norm()
    right = torch.linalg.cross(up.to(eye.dtype), back)
    if float(right.norm()) < 1e-9:
        raise ValueError("look_at: the view direction is parallel to up")
    right = right / right.norm()
    c2w = torch.eye(4, dtype=eye.dtype)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, torch.linalg.cross(back, right), back, eye
    return c2w


def orbit_poses(c2w: torch.Tensor, frames: int) -> torch.Tensor:
    """``frames`` cameras [F, 4, 4] circling the scene at the mean distance and elevation of the cameras c2w
    [V, 4, 4], all looking at the origin. The circle's axis is the world "up" the cameras share: the direction
    most nearly perpendicular to all their right (x) axes, as cameras without roll have horizontal x axes."""
    c2w = c2w.to(torch.float32)
    rights = c2w[:, :3, 0].double()
    up = torch.linalg.eigh(rights.T @ rights).eigenvectors[:, 0].float()
    if float(up @ c2w[:, :3, 1].mean(dim=0)) < 0:
        up = -up
    centres = c2w[:, :3, 3]
    radius = float(centres.norm(dim=1).mean())
    height = float((centres @ up).mean())
    height = max(min(height, 0.95 * radius), -0.95 * radius)
    ring = math.sqrt(radius**2 - height**2)
    side = torch.tensor([1.0, 0.0, 0.0]) if abs(float(up[0])) < 0.9 else torch.tensor([0.0, 1.0, 0.0])
    a = torch.linalg.cross(up, side)
    a = a / a.norm()
    b = torch.linalg.cross(up, a)
    poses = []
    for k in range(frames):
        angle = 2 * math.pi * k / frames
        eye = height * up + ring * (math.cos(angle) * a + math.sin(angle) * b)
        poses.append(look_at(eye, torch.zeros(3), up))
    return torch.stack(poses)


#: Largest optical depth of one interval (exp(-1e4) is 0: fully opaque already).
OPTICAL_CAP = 1e4


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
    offset = torch.rand(near.shape[0], 1, generator=generator) if generator is not None else 0.0
    starts = near[:, None] + (torch.arange(n, dtype=near.dtype) + offset) * step
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
    without a generator. A small floor keeps every interval reachable."""
    pdf = weights.detach() + 1e-5
    pdf = pdf / pdf.sum(dim=1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[:, :1]), pdf.cumsum(dim=1)], dim=1).clamp_max(1.0)
    if generator is not None:
        u = torch.rand(edges.shape[0], n + 1, generator=generator, device=edges.device).sort(dim=1).values
    else:
        u = torch.linspace(0.0, 1.0, n + 1, device=edges.device).expand(edges.shape[0], n + 1).contiguous()
    upper = torch.searchsorted(cdf, u, right=True).clamp(1, cdf.shape[1] - 1)
    lower = upper - 1
    c0, c1 = cdf.gather(1, lower), cdf.gather(1, upper)
    e0, e1 = edges.gather(1, lower), edges.gather(1, upper)
    frac = ((u - c0) / (c1 - c0).clamp_min(1e-12)).clamp(0.0, 1.0)
    return (e0 + frac * (e1 - e0)).detach()


# -- compositing ---------------------------------------------------------------------------------------------
def render_weights(sigma: torch.Tensor, samples: Samples) -> tuple[torch.Tensor, torch.Tensor]:
    """Volume-rendering weights w_k = T_k (1 - exp(-sigma_k delta_k)) and transmittance T_k [M] of packed
    samples, T_k = exp(-sum_{j<k} sigma_j delta_j) over earlier samples of the same ray.

    The per-ray exclusive sum is a global cumulative sum minus its value at each ray's first sample, done in
    float64 so long opaque rays do not lose the small terms."""
    if len(samples) == 0:
        return sigma.new_zeros(0), sigma.new_zeros(0)
    # Capped so that one overflowing density (exp of a large raw value) stays opaque instead of turning the
    # running sum, and with it every later ray of the batch, into inf - inf.
    optical = (sigma * (samples.t_end - samples.t_start)).clamp(max=OPTICAL_CAP)
    total = optical.double().cumsum(0)
    exclusive = total - optical.double()
    first = torch.ones_like(samples.ray_index, dtype=torch.bool)
    first[1:] = samples.ray_index[1:] != samples.ray_index[:-1]
    base = torch.zeros(samples.n_rays, dtype=torch.float64, device=sigma.device)
    base[samples.ray_index[first]] = exclusive[first]
    transmittance = torch.exp(-(exclusive - base[samples.ray_index])).to(sigma.dtype)
    alpha = 1.0 - torch.exp(-optical)
    return transmittance * alpha, transmittance


def accumulate(weights: torch.Tensor, values: torch.Tensor, samples: Samples) -> torch.Tensor:
    """Per-ray sums of ``weights * values`` [R, C] (values [M, C] or [M])."""
    values = values if values.dim() == 2 else values[:, None]
    out = values.new_zeros(samples.n_rays, values.shape[1])
    return out.index_add(0, samples.ray_index, weights[:, None] * values)


def composite(sigma: torch.Tensor, rgb: torch.Tensor, samples: Samples,
              background: torch.Tensor) -> dict[str, torch.Tensor]:
    """Colour [R, 3] over ``background`` [3], expected distance ``depth`` [R] (of the visible part, 0 for an
    empty ray) and ``opacity`` [R] of each ray."""
    weights, _ = render_weights(sigma, samples)
    opacity = accumulate(weights, sigma.new_ones(len(samples)), samples)[:, 0]
    colour = accumulate(weights, rgb, samples) + (1.0 - opacity)[:, None] * background
    depth = accumulate(weights, samples.t_mid, samples)[:, 0] / opacity.clamp_min(1e-6)
    return {"rgb": colour, "depth": depth, "opacity": opacity, "weights": weights}


def render_rays(field: Callable, origins: torch.Tensor, directions: torch.Tensor, *, bound: float, step: float,
                background: torch.Tensor, occupied: Callable[[torch.Tensor], torch.Tensor] | None = None,
                generator: torch.Generator | None = None, sampler: str = "occupancy", coarse: int = 64,
                fine: int = 64, density: Callable[[torch.Tensor], torch.Tensor] | None = None
                ) -> dict[str, torch.Tensor]:
    """Render rays [R, 3] + [R, 3] (unit directions) through ``field(x, d) -> (sigma, rgb)`` inside the box.

    ``sampler="occupancy"``: equal steps of ``step`` skipping the cells ``occupied`` rejects (Instant-NGP).
    ``sampler="importance"``: ``coarse`` stratified samples through ``density`` (no gradient), then ``fine``
    samples drawn from their weights (NeRF's hierarchical sampling with one field) are rendered.
    A generator jitters the samples (training); without one they are regular (evaluation).
    """
    near, far = ray_box(origins, directions, bound)
    if sampler == "occupancy":
        samples = march(origins, directions, near, far, step, occupied, generator)
    elif sampler == "importance":
        if density is None:
            raise ValueError("the importance sampler needs the field's density callable")
        edges = stratified_edges(near, far, coarse, generator)
        with torch.no_grad():
            first = Samples.from_dense(edges)
            weights, _ = render_weights(density(first.points(origins, directions)[0]), first)
        samples = Samples.from_dense(importance_edges(edges, weights.view(-1, coarse), fine, generator))
    else:
        raise ValueError(f"sampler must be occupancy or importance, got '{sampler}'")
    x, d = samples.points(origins, directions)
    sigma, rgb = field(x, d)
    return composite(sigma, rgb, samples, background)
