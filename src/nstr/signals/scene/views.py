"""Whole camera views rendered through a fitted radiance model: what test scores, pictures, orbits and camera
paths use."""

from __future__ import annotations

import numpy as np
import torch

from nstr.core.progress import track
from nstr.models.base import Field
from nstr.render.cameras import camera_rays


def render_views(model: Field, c2w: torch.Tensor, height: int, width: int, focal: float,
                 intrinsics: torch.Tensor | None = None,
                 desc: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Colour [V, H, W, 3], depth [V, H, W] and opacity [V, H, W] of cameras c2w [V, 4, 4], as numpy (rays are
    made where the cameras are and rendered on the model's device). ``intrinsics`` [V, 4] (fx, fy, cx, cy per
    view, pixels) replaces ``focal`` and the centred principal point; with ``desc``, a bar counts the views."""
    images, depths, opacities = [], [], []
    views = range(len(c2w))
    for k in (views if desc is None else track(views, desc)):
        origins, directions = camera_rays(c2w[k], height, width, focal, None if intrinsics is None else intrinsics[k])
        out = model.render_chunked(torch.cat([origins, directions], dim=-1).view(-1, 6))
        images.append(out["rgb"].clamp(0, 1).view(height, width, 3).cpu().numpy())
        depths.append(out["depth"].view(height, width).cpu().numpy())
        opacities.append(out["opacity"].view(height, width).cpu().numpy())
    return np.stack(images), np.stack(depths), np.stack(opacities)


def depth_map(depth: np.ndarray, opacity: np.ndarray) -> np.ndarray:
    """Rendered depth as a float32 map in scene units (distance along the unit ray), 0 where the ray is mostly
    empty (opacity < 0.5): the convention of the depth maps a scene reads (``depth_path``), so the two compare."""
    return np.where(opacity >= 0.5, depth, 0.0).astype(np.float32)
