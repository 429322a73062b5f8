"""Cameras and rays: pixel rays, look-at poses, orbits of novel views and of generated scenes.

Camera convention (Blender / NeRF synthetic, OpenGL): a camera-to-world matrix ``c2w`` [4, 4] maps camera
coordinates to world coordinates; the camera looks down its -z axis, +x points right in the image and +y up.
Pixel (row i, column j) is sampled through its centre (j + 0.5, i + 0.5); with focal lengths (fx, fy) and
principal point (cx, cy) in pixels (``intrinsics``; a plain ``focal`` means fx = fy = focal and the principal
point at the image centre (W / 2, H / 2)) its camera-space direction is ((j + 0.5 - cx) / fx,
-(i + 0.5 - cy) / fy, -1), nerfstudio's and Instant-NGP's reading of ``fl_x, fl_y, cx, cy``. Ray directions are
returned with unit length, so a distance t along a ray is metric distance from the camera centre (depth maps
hold that distance, not the camera-space z).
"""

from __future__ import annotations

import math

import numpy as np
import torch


def focal_from_fov(width: int, camera_angle_x: float) -> float:
    """Focal length in pixels from the horizontal field of view in radians (transforms.json's camera_angle_x)."""
    return 0.5 * width / math.tan(0.5 * camera_angle_x)


def centred_intrinsics(focal: float, height: int, width: int) -> tuple[float, float, float, float]:
    """(fx, fy, cx, cy) of a camera with square pixels of focal length ``focal`` and the principal point at the
    image centre: what a plain ``focal`` means everywhere in this module."""
    return focal, focal, width / 2, height / 2


def pixel_rays(c2w: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, height: int, width: int,
               focal: float, intrinsics: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Origins and unit directions [B, 3] through pixel centres (rows[b], cols[b]) of cameras c2w [B, 4, 4].

    ``intrinsics`` [B, 4] (fx, fy, cx, cy per ray, pixels) replaces ``focal`` and the centred principal point."""
    c2w = c2w.to(torch.float32)
    if intrinsics is None:
        fx, fy, cx, cy = centred_intrinsics(focal, height, width)
    else:
        fx, fy, cx, cy = intrinsics.to(device=rows.device, dtype=torch.float32).unbind(-1)
    camera = torch.stack([(cols.float() + 0.5 - cx) / fx, -(rows.float() + 0.5 - cy) / fy,
                          -torch.ones(rows.shape, dtype=torch.float32, device=rows.device)], dim=-1)
    directions = torch.einsum("bij,bj->bi", c2w[:, :3, :3], camera)
    directions = directions / directions.norm(dim=-1, keepdim=True)
    return c2w[:, :3, 3], directions


def camera_rays(c2w: torch.Tensor, height: int, width: int, focal: float,
                intrinsics: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Origins and unit directions [H, W, 3] of every pixel of one camera (see the module docstring), on the
    camera's device; ``intrinsics`` [4] (fx, fy, cx, cy) replaces ``focal`` and the centred principal point."""
    rows, cols = torch.meshgrid(torch.arange(height, device=c2w.device), torch.arange(width, device=c2w.device),
                                indexing="ij")
    cameras = c2w.to(torch.float32).expand(height * width, 4, 4)
    per_ray = None if intrinsics is None else intrinsics.to(c2w.device).expand(height * width, 4)
    origins, directions = pixel_rays(cameras, rows.reshape(-1), cols.reshape(-1), height, width, focal, per_ray)
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
    c2w = torch.eye(4, dtype=eye.dtype, device=eye.device)
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
    side = up.new_tensor([1.0, 0.0, 0.0] if abs(float(up[0])) < 0.9 else [0.0, 1.0, 0.0])
    a = torch.linalg.cross(up, side)
    a = a / a.norm()
    b = torch.linalg.cross(up, a)
    poses = []
    for k in range(frames):
        angle = 2 * math.pi * k / frames
        eye = height * up + ring * (math.cos(angle) * a + math.sin(angle) * b)
        poses.append(look_at(eye, up.new_zeros(3), up))
    return torch.stack(poses)



def orbit_position(radius: float, azimuth: float, elevation: float) -> np.ndarray:
    """Point on the sphere of ``radius`` at ``azimuth`` (from +x towards +y) and ``elevation`` above the
    xy-plane, both in radians."""
    return radius * np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth),
                              np.sin(elevation)])


def look_at_numpy(eye: np.ndarray, target: np.ndarray | None = None, up: np.ndarray | None = None) -> np.ndarray:
    """OpenGL camera-to-world [4, 4] float64 at ``eye`` looking at ``target`` (default the origin) with +y
    towards ``up`` (default +z): ``look_at`` in numpy."""
    def as_tensor(value: np.ndarray | None, default: list[float]) -> torch.Tensor:
        return torch.as_tensor(np.asarray(default if value is None else value, dtype=np.float64))

    eye_t, target_t, up_t = as_tensor(eye, [0.0] * 3), as_tensor(target, [0.0] * 3), as_tensor(up, [0.0, 0.0, 1.0])
    return look_at(eye_t, target_t, up_t).numpy()


def random_orbit(count: int, rng: np.random.Generator, radius: float,
                 elevation_deg: tuple[float, float]) -> np.ndarray:
    """``count`` poses [count, 4, 4] uniformly distributed over the band of the sphere between the two
    elevations (uniform in area: sin(elevation) is uniform)."""
    azimuth = rng.uniform(0.0, 2 * np.pi, count)
    low, high = np.sin(np.radians(elevation_deg[0])), np.sin(np.radians(elevation_deg[1]))
    elevation = np.arcsin(rng.uniform(low, high, count))
    return np.stack([look_at_numpy(orbit_position(radius, a, e)) for a, e in zip(azimuth, elevation, strict=True)])


def ring_orbit(count: int, radius: float, elevation_deg: float, phase: float = 0.0) -> np.ndarray:
    """``count`` poses [count, 4, 4] evenly spaced in azimuth (starting at ``phase`` radians) at one
    elevation: the usual turntable of test views."""
    azimuth = phase + 2 * np.pi * np.arange(count) / count
    return np.stack([look_at_numpy(orbit_position(radius, a, np.radians(elevation_deg))) for a in azimuth])
