"""Pictures of a fitted shape: SDF slices with the zero level, a shaded rendering of the extracted mesh,
and for NSTR the spectral gradient ||dS/dx|| on a slice next to the reference shape's curvature.

The mesh rendering splats dense surface samples into a z-buffer with Lambert shading (numpy only):
no OpenGL or display is needed, and matplotlib's 3-D axes are far too slow for 100k-triangle meshes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from nstr.core.lazy import lazy_import
from nstr.core.plotting import colourise, save_figure, subplots
from nstr.signals.shape.curvature import spectral_gradient_norm
from nstr.signals.shape.distance import signed_distance
from nstr.signals.shape.mesh_io import Mesh
from nstr.signals.shape.sampling import surface_samples

mpl_colors = lazy_import("matplotlib.colors")

#: Slice planes through the origin: (normal axis, horizontal axis, vertical axis) of the picture.
SLICES = ((2, 0, 1), (0, 2, 1), (1, 0, 2))
AXIS_NAMES = "xyz"
#: Views of the mesh rendering: (azimuth about the vertical y axis, elevation), degrees.
VIEWS = ((0.0, 0.0), (90.0, 0.0), (-35.0, 25.0))
#: Surface samples splatted per rendered mesh.
RENDER_SAMPLES = 300_000


def slice_points(normal: int, horizontal: int, vertical: int, size: int) -> np.ndarray:
    """Points [size * size, 3] on the plane x[normal] = 0, rows from top (vertical = 1) to bottom."""
    axis = np.linspace(-1.0, 1.0, size)
    v, h = np.meshgrid(axis[::-1], axis, indexing="ij")
    points = np.zeros((size * size, 3))
    points[:, horizontal], points[:, vertical] = h.ravel(), v.ravel()
    return points


def save_sdf_slices(path: Path, model: torch.nn.Module, mesh: Mesh, size: int = 160, clip: float = 0.3) -> Path:
    """The fitted SDF on three axis-aligned planes through the centre; zero levels of fit and reference."""
    fig, axes = subplots(1, 3, figsize=(15, 5.2))
    extent = (-1, 1, -1, 1)
    for ax, (normal, horizontal, vertical) in zip(axes, SLICES, strict=True):
        points = slice_points(normal, horizontal, vertical, size)
        fitted = model.predict(torch.from_numpy(points.astype(np.float32)))[:, 0].numpy().reshape(size, size)
        reference = signed_distance(points, mesh)[0].reshape(size, size)
        shown = ax.imshow(np.clip(fitted, -clip, clip), cmap="RdBu_r", vmin=-clip, vmax=clip, extent=extent)
        grid = np.linspace(-1, 1, size)
        if fitted.min() < 0 < fitted.max():
            ax.contour(grid, grid[::-1], fitted, levels=[0.0], colors="black", linewidths=1.2)
        ax.contour(grid, grid[::-1], reference, levels=[0.0], colors="lime", linewidths=1.0, linestyles="--")
        ax.set_xlabel(AXIS_NAMES[horizontal])
        ax.set_ylabel(AXIS_NAMES[vertical])
        ax.set_title(f"{AXIS_NAMES[normal]} = 0")
    fig.colorbar(shown, ax=axes, fraction=0.015, pad=0.02, label="fitted signed distance (normalised units)")
    fig.suptitle("SDF slices: fitted zero level (black) and reference surface (green, dashed)")
    return save_figure(fig, path)


def slice_preview(model: torch.nn.Module, size: int, clip: float = 0.3) -> np.ndarray:
    """The fitted SDF on the plane z = 0 as RGB uint8 [size, size, 3]: red outside, blue inside (clipped at
    +-``clip``), the pixels where the sign changes black (the zero level)."""
    points = torch.from_numpy(slice_points(*SLICES[0], size).astype(np.float32))
    fitted = model.predict(points)[:, 0].cpu().numpy().reshape(size, size)
    picture = colourise(fitted, "RdBu_r", -clip, clip)
    inside = fitted < 0
    edge = np.zeros_like(inside)
    edge[:, 1:] |= inside[:, 1:] != inside[:, :-1]
    edge[1:] |= inside[1:] != inside[:-1]
    picture[edge] = 0
    return picture


def _rotation(azimuth: float, elevation: float) -> np.ndarray:
    a, e = np.radians(azimuth), np.radians(elevation)
    about_y = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    about_x = np.array([[1, 0, 0], [0, np.cos(e), -np.sin(e)], [0, np.sin(e), np.cos(e)]])
    return about_x @ about_y


def splat(points: np.ndarray, normals: np.ndarray, rotation: np.ndarray, size: int = 288) -> np.ndarray:
    """A shaded orthographic view [size, size] in [0, 1] (NaN = background) of surface samples in [-1, 1]^3.

    Each sample covers a 2 x 2 pixel footprint (so a far surface cannot show through gaps of a near one);
    a z-buffer built with ``np.maximum.at`` keeps the nearest sample per pixel, with Lambert shading.
    """
    p, n = points @ rotation.T, normals @ rotation.T
    col = np.clip(((p[:, 0] + 1) / 2 * size).astype(np.int64), 0, size - 2)
    row = np.clip(((1 - p[:, 1]) / 2 * size).astype(np.int64), 0, size - 2)
    pixel = np.concatenate([(row + dr) * size + col + dc for dr in (0, 1) for dc in (0, 1)])
    depth = np.tile(p[:, 2], 4)  # the viewer looks down -z: larger z is nearer
    zbuffer = np.full(size * size, -np.inf)
    np.maximum.at(zbuffer, pixel, depth)
    front = depth >= zbuffer[pixel]
    light = np.array([0.4, 0.6, 1.0]) / np.linalg.norm([0.4, 0.6, 1.0])
    shade = np.tile(0.2 + 0.8 * np.clip(n @ light, 0, 1), 4)
    image = np.full(size * size, np.nan)
    image[pixel[front]] = shade[front]
    return image.reshape(size, size)


def save_mesh_render(path: Path, fitted: Mesh | None, reference: Mesh, title: str) -> Path:
    """Three shaded views of the extracted mesh (top row) and of the reference mesh (bottom row)."""
    fig, axes = subplots(2, len(VIEWS), figsize=(4 * len(VIEWS), 8.3))
    for row, (label, mesh) in enumerate((("fitted", fitted), ("reference", reference))):
        samples = surface_samples(mesh, RENDER_SAMPLES, np.random.default_rng(0))[:2] if mesh is not None else None
        for ax, (azimuth, elevation) in zip(axes[row], VIEWS, strict=True):
            ax.set_axis_off()
            if mesh is None:
                ax.text(0.5, 0.5, "no surface\n(the field does not change sign)", ha="center", va="center")
                continue
            ax.imshow(splat(*samples, _rotation(azimuth, elevation)), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{label}, azimuth {azimuth:g}, elevation {elevation:g}", fontsize=9)
    fig.suptitle(title)
    return save_figure(fig, path)


def save_gradient_curvature(path: Path, model, mesh: Mesh, face_curvature: np.ndarray, rho: float,
                            size: int = 160, band: float = 0.04) -> Path:
    """||dS/dx|| on the plane z = 0 next to the reference's mean curvature near the surface (|d| < band)."""
    points = slice_points(2, 0, 1, size)
    gradient = spectral_gradient_norm(model, points).reshape(size, size)
    distance, faces = signed_distance(points, mesh)
    curvature = np.where(np.abs(distance) < band, face_curvature[faces], np.nan).reshape(size, size)
    fig, axes = subplots(1, 2, figsize=(12, 5.4))
    grid = np.linspace(-1, 1, size)
    shown = axes[0].imshow(gradient, cmap="magma", extent=(-1, 1, -1, 1))
    fig.colorbar(shown, ax=axes[0], fraction=0.046, pad=0.04)
    axes[0].set_title("||dS/dx|| of the fitted NSTR field, z = 0")
    positive = curvature[np.isfinite(curvature) & (curvature > 0)]
    norm = None
    if positive.size:
        norm = mpl_colors.LogNorm(vmin=max(positive.min(), positive.max() * 1e-3), vmax=positive.max())
    shown = axes[1].imshow(curvature, cmap="viridis", norm=norm, extent=(-1, 1, -1, 1))
    fig.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.04)
    axes[1].set_title(f"|mean curvature| of the reference (nearest face, |d| < {band:g})")
    for ax in axes:
        ax.contour(grid, grid[::-1], distance.reshape(size, size), levels=[0.0], colors="white", linewidths=0.8)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    fig.suptitle(f"spectral gradient against curvature: Spearman rho {rho:.3f} over surface samples")
    return save_figure(fig, path)
