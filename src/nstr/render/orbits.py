"""Camera poses for synthetic scenes: OpenGL camera-to-world matrices on a sphere, looking at the origin.

Like Blender's nerf_synthetic cameras: the world is z-up, cameras sit on a sphere of fixed radius in the
upper hemisphere and look at the origin with the image's up direction towards +z.
"""

from __future__ import annotations

import numpy as np
import torch

from nstr.render.rendering import look_at as look_at_torch


def orbit_position(radius: float, azimuth: float, elevation: float) -> np.ndarray:
    """Point on the sphere of ``radius`` at ``azimuth`` (from +x towards +y) and ``elevation`` above the
    xy-plane, both in radians."""
    return radius * np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth),
                              np.sin(elevation)])


def look_at(eye: np.ndarray, target: np.ndarray | None = None, up: np.ndarray | None = None) -> np.ndarray:
    """OpenGL camera-to-world [4, 4] float64 at ``eye`` looking at ``target`` (default the origin) with +y
    towards ``up`` (default +z): ``nstr.render.rendering.look_at`` in numpy."""
    def as_tensor(value: np.ndarray | None, default: list[float]) -> torch.Tensor:
        return torch.as_tensor(np.asarray(default if value is None else value, dtype=np.float64))

    eye_t, target_t, up_t = as_tensor(eye, [0.0] * 3), as_tensor(target, [0.0] * 3), as_tensor(up, [0.0, 0.0, 1.0])
    return look_at_torch(eye_t, target_t, up_t).numpy()


def random_orbit(count: int, rng: np.random.Generator, radius: float,
                 elevation_deg: tuple[float, float]) -> np.ndarray:
    """``count`` poses [count, 4, 4] uniformly distributed over the band of the sphere between the two
    elevations (uniform in area: sin(elevation) is uniform)."""
    azimuth = rng.uniform(0.0, 2 * np.pi, count)
    low, high = np.sin(np.radians(elevation_deg[0])), np.sin(np.radians(elevation_deg[1]))
    elevation = np.arcsin(rng.uniform(low, high, count))
    return np.stack([look_at(orbit_position(radius, a, e)) for a, e in zip(azimuth, elevation, strict=True)])


def ring_orbit(count: int, radius: float, elevation_deg: float, phase: float = 0.0) -> np.ndarray:
    """``count`` poses [count, 4, 4] evenly spaced in azimuth (starting at ``phase`` radians) at one
    elevation: the usual turntable of test views."""
    azimuth = phase + 2 * np.pi * np.arange(count) / count
    return np.stack([look_at(orbit_position(radius, a, np.radians(elevation_deg))) for a in azimuth])
