"""Pictures of an image fit: the per-pixel error map, and the small preview live loggers show."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nstr.core.plotting import save_figure, subplots


def save_error_map(path: Path, error: np.ndarray) -> Path:
    """Absolute error per pixel (values on a 0..1 scale) with a colour bar."""
    h, w = error.shape
    fig, ax = subplots(figsize=(6 * w / max(h, w) + 1.2, 6 * h / max(h, w)))
    shown = ax.imshow(error, cmap="inferno", vmin=0, vmax=max(float(error.max()), 1e-6))
    ax.set_axis_off()
    ax.set_title(f"|error| (mean {error.mean():.4f} on a 0..1 scale)")
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    return save_figure(fig, path)


def rgb_preview(unit: np.ndarray) -> np.ndarray:
    """An image [H, W, C] on a 0..1 scale as RGB uint8 [H, W, 3]: gray (and gray + alpha) shown as gray RGB,
    alpha left out."""
    rgb = unit[..., :3] if unit.shape[2] >= 3 else np.repeat(unit[..., :1], 3, axis=2)
    return (np.clip(rgb, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
