"""Pictures of radiance-field fits: test renders, depth maps, a test-view sheet and orbits of novel views."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch

from nstr.core.io import atomic_path
from nstr.core.lazy import lazy_import
from nstr.core.plotting import save_figure, save_png, subplots
from nstr.render.cameras import orbit_poses
from nstr.signals.scene.views import render_views

matplotlib = lazy_import("matplotlib")

#: Longer side in pixels of the view a live logger shows (a render per evaluation: kept small).
PREVIEW_SIDE = 128


def to_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def save_rgb(path: Path, image: np.ndarray) -> Path:
    """An [H, W, 3] colour image in [0, 1] as an 8-bit PNG."""
    return save_png(path, to_uint8(image))


def depth_colours(depth: np.ndarray, opacity: np.ndarray) -> np.ndarray:
    """Depth [H, W] as turbo colours [H, W, 3] (near = red, far = blue, range over the visible part), black
    where the ray is mostly empty (opacity < 0.5)."""
    visible = opacity >= 0.5
    lo, hi = (float(depth[visible].min()), float(depth[visible].max())) if visible.any() else (0.0, 1.0)
    scaled = 1.0 - (depth - lo) / max(hi - lo, 1e-6)
    colours = matplotlib.colormaps["turbo"](np.clip(scaled, 0, 1))[..., :3]
    return np.where(visible[..., None], colours, 0.0)


def save_depth(path: Path, depth: np.ndarray, opacity: np.ndarray) -> Path:
    return save_rgb(path, depth_colours(depth, opacity))


def save_test_sheet(path: Path, truth: np.ndarray, renders: np.ndarray, depths: np.ndarray,
                    opacities: np.ndarray, psnrs: list[float], views: int = 4) -> Path:
    """Up to ``views`` test views in rows: ground truth, render, |error| and depth."""
    n = min(views, len(renders))
    fig, axes = subplots(n, 4, figsize=(10, 2.6 * n), squeeze=False)
    for k in range(n):
        error = np.abs(renders[k] - truth[k]).mean(axis=-1)
        panels = [(truth[k], "test view"), (renders[k], f"render, {psnrs[k]:.2f} dB"),
                  (error, "|error|"), (depth_colours(depths[k], opacities[k]), "depth")]
        for ax, (image, title) in zip(axes[k], panels, strict=True):
            ax.imshow(np.clip(image, 0, 1), cmap="magma" if image.ndim == 2 else None, vmin=0, vmax=0.25
                      if image.ndim == 2 else None)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    return save_figure(fig, path)


def orbit_frames(model, c2w: torch.Tensor, frames: int, height: int, width: int, focal: float) -> np.ndarray:
    """``frames`` novel views [F, H, W, 3] (uint8) on a circle at the cameras' mean distance and elevation."""
    images, _, _ = render_views(model, orbit_poses(c2w, frames), height, width, focal, desc="rendering the orbit")
    return to_uint8(images)


def view_preview(model, c2w: torch.Tensor, height: int, width: int, focal: float) -> np.ndarray:
    """One camera [4, 4] rendered with its longer side at most ``PREVIEW_SIDE`` pixels, RGB uint8."""
    k = max(1, -(-max(height, width) // PREVIEW_SIDE))
    images, _, _ = render_views(model, c2w[None], max(height // k, 1), max(width // k, 1), focal / k)
    return to_uint8(images[0])


def save_orbit(path: Path, model, c2w: torch.Tensor, frames: int, height: int, width: int, focal: float,
               fps: int = 20) -> Path:
    """An orbit of novel views as an animated GIF (looping) or MP4 (H.264 through imageio-ffmpeg)."""
    return save_video(path, orbit_frames(model, c2w, frames, height, width, focal), fps)


def save_video(path: Path, video: np.ndarray, fps: float) -> Path:
    """Frames [F, H, W, 3] (uint8) as an animated GIF (looping) or, for any other suffix, an MP4 (H.264 through
    imageio-ffmpeg, which bundles its ffmpeg); written atomically."""
    path = Path(path)
    height, width = video.shape[1:3]
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".gif":
            iio.imwrite(tmp, video, extension=".gif", duration=1000 / fps, loop=0)
        else:
            if height % 2 or width % 2:  # H.264 in yuv420p needs even sides
                video = np.pad(video, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), mode="edge")
            iio.imwrite(tmp, video, extension=".mp4", fps=fps, codec="libx264")
    return path
