"""Whole camera views rendered through a fitted radiance model: what test scores, pictures and orbits use."""

from __future__ import annotations

import numpy as np
import torch

from nstr.core.progress import track
from nstr.models.base import Field
from nstr.render.cameras import camera_rays


def render_views(model: Field, c2w: torch.Tensor, height: int, width: int, focal: float,
                 desc: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Colour [V, H, W, 3], depth [V, H, W] and opacity [V, H, W] of cameras c2w [V, 4, 4], as numpy (rays are
    made where the cameras are and rendered on the model's device); with ``desc``, a bar counts the views."""
    images, depths, opacities = [], [], []
    for pose in (c2w if desc is None else track(c2w, desc)):
        origins, directions = camera_rays(pose, height, width, focal)
        out = model.render_chunked(torch.cat([origins, directions], dim=-1).view(-1, 6))
        images.append(out["rgb"].clamp(0, 1).view(height, width, 3).cpu().numpy())
        depths.append(out["depth"].view(height, width).cpu().numpy())
        opacities.append(out["opacity"].view(height, width).cpu().numpy())
    return np.stack(images), np.stack(depths), np.stack(opacities)
