"""Pictures people look at: reconstructions, error maps, training curves (matplotlib, Agg backend)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from nstr.runs import write_atomic


def _figure():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _figure().close(fig)
    write_atomic(path, buffer.getvalue())
    return path


def save_png(path: Path, array: np.ndarray) -> Path:
    """An (H, W) or (H, W, C) uint8/uint16 array as a lossless PNG of the same size and depth."""
    from nstr.pngio import encode_png

    write_atomic(Path(path), encode_png(array))
    return Path(path)


def save_error_map(path: Path, error: np.ndarray) -> Path:
    """Absolute error per pixel (values on a 0..1 scale) with a colour bar."""
    plt = _figure()
    h, w = error.shape
    fig, ax = plt.subplots(figsize=(6 * w / max(h, w) + 1.2, 6 * h / max(h, w)))
    shown = ax.imshow(error, cmap="inferno", vmin=0, vmax=max(float(error.max()), 1e-6))
    ax.set_axis_off()
    ax.set_title(f"|error| (mean {error.mean():.4f} on a 0..1 scale)")
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    return _save_figure(fig, path)


def save_curve(path: Path, history: list[dict[str, float]], holdout: bool = False) -> Path:
    """PSNR against step and against training time."""
    plt = _figure()
    steps = [r["step"] for r in history]
    seconds = [r["seconds"] for r in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, xs, label in ((axes[0], steps, "step"), (axes[1], seconds, "training time (s)")):
        ax.plot(xs, [r["psnr"] for r in history], label="train pixels", marker=".")
        if holdout:
            ax.plot(xs, [r.get("psnr_holdout", np.nan) for r in history], label="held-out pixels", marker=".")
        ax.set_xlabel(label)
        ax.set_ylabel("PSNR (dB)")
        ax.grid(alpha=0.3)
    axes[1].legend(loc="lower right")
    return _save_figure(fig, path)
