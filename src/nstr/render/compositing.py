"""Volume rendering of packed samples into colour, depth and opacity, and ``render_rays``: one call from
rays to pixels through any field callable ``field(x, d) -> (sigma, rgb)`` (see ``nstr.render.cameras`` for the
camera convention).

A field is any callable ``field(x, d) -> (sigma [N], rgb [N, 3])`` of world points x [N, 3] and unit view
directions d [N, 3]; densities are non-negative, colours in [0, 1]. ``density(x) -> sigma [N]`` is the
view-independent part (for the occupancy grid and the importance sampler's coarse pass).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nstr.core.device import accumulation_dtype
from nstr.core.precision import at_least_float32
from nstr.render.samplers import Samples, importance_edges, march, ray_box, stratified_edges

#: Background colours a scene is composited over, by name.
BACKGROUNDS = {"white": 1.0, "black": 0.0}

#: Largest optical depth of one interval (exp(-1e4) is 0: fully opaque already).
OPTICAL_CAP = 1e4


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
    wide = accumulation_dtype(sigma.device)  # float64 (float32 on MPS, which has no float64)
    total = optical.to(wide).cumsum(0)
    exclusive = total - optical.to(wide)
    first = torch.ones_like(samples.ray_index, dtype=torch.bool)
    first[1:] = samples.ray_index[1:] != samples.ray_index[:-1]
    base = torch.zeros(samples.n_rays, dtype=wide, device=sigma.device)
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
    empty ray) and ``opacity`` [R] of each ray. Always in float32: under autocast (``--precision bf16``) the field's
    outputs may come in bfloat16, and transmittance and per-ray sums need float32's precision."""
    sigma, rgb = at_least_float32(sigma), at_least_float32(rgb)
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
