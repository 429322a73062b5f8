"""Plotting helpers every kind uses: figures without pyplot, atomic PNG writes, the training curve.

matplotlib's object-oriented API (``Figure`` directly) renders with Agg whatever backend a user has chosen
and keeps no global state, so library code never opens a window or leaks figures."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from nstr.core.io import write_atomic
from nstr.core.lazy import lazy_import
from nstr.core.png import encode_png

mpl_figure = lazy_import("matplotlib.figure")  # loaded when the first picture is drawn (0.4 s)
matplotlib = lazy_import("matplotlib")

#: Keywords of ``subplots`` that belong to the figure rather than its grid of axes.
FIGURE_OPTIONS = ("constrained_layout", "layout", "dpi", "facecolor")


def subplots(*args: Any, figsize: tuple[float, float] | None = None, **kwargs: Any) -> tuple[mpl_figure.Figure, Any]:
    """A figure and its axes, as ``pyplot.subplots`` but without pyplot: no global figure registry and no
    backend to choose, so nothing needs closing and nothing depends on a display."""
    figure_options = {k: kwargs.pop(k) for k in FIGURE_OPTIONS if k in kwargs}
    fig = mpl_figure.Figure(figsize=figsize, **figure_options)
    return fig, fig.subplots(*args, **kwargs)


def figure(figsize: tuple[float, float] | None = None, **options: Any) -> mpl_figure.Figure:
    """An empty figure (see ``subplots``); ``options`` are ``Figure``'s (``constrained_layout``...)."""
    return mpl_figure.Figure(figsize=figsize, **options)


def save_figure(fig, path: Path, dpi: int = 110) -> Path:
    """Write a figure as PNG atomically (creating the folder) and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(Path(path), buffer.getvalue())
    return path


def save_png(path: Path, array: np.ndarray) -> Path:
    """An (H, W) or (H, W, C) uint8/uint16 array as a lossless PNG of the same size and depth."""
    write_atomic(Path(path), encode_png(array))
    return Path(path)


def colourise(values: np.ndarray, cmap: str, vmin: float, vmax: float) -> np.ndarray:
    """A 2-D array as an RGB uint8 picture [H, W, 3] through a matplotlib colour map (no figure: previews)."""
    scaled = np.clip((np.asarray(values, dtype=np.float64) - vmin) / max(vmax - vmin, 1e-12), 0.0, 1.0)
    return (matplotlib.colormaps[cmap](scaled)[..., :3] * 255 + 0.5).astype(np.uint8)


def shrink(image: np.ndarray, longest: int) -> np.ndarray:
    """Every k-th pixel of an [H, W, ...] picture, k the smallest step that brings the longer side to at most
    ``longest`` (a preview: no filtering)."""
    step = max(1, -(-max(image.shape[:2]) // longest))
    return image[::step, ::step]


def save_curve(path: Path, history: list[dict[str, float]], holdout: bool = False) -> Path:
    """PSNR against step and against training time."""
    steps = [r["step"] for r in history]
    seconds = [r["seconds"] for r in history]
    fig, axes = subplots(1, 2, figsize=(10, 3.6))
    for ax, xs, label in ((axes[0], steps, "step"), (axes[1], seconds, "training time (s)")):
        ax.plot(xs, [r["psnr"] for r in history], label="train pixels", marker=".")
        if holdout:
            ax.plot(xs, [r.get("psnr_holdout", np.nan) for r in history], label="held-out pixels", marker=".")
        ax.set_xlabel(label)
        ax.set_ylabel("PSNR (dB)")
        ax.grid(alpha=0.3)
    axes[1].legend(loc="lower right")
    return save_figure(fig, path)


