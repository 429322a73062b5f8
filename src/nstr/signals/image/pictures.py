"""Pictures of an image fit: the per-pixel error map."""

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
