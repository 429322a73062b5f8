"""The 2-D Gaussians' picture: where they are, how they are shaped, and how big they are.

``gaussians.png``: every Gaussian as its 1-sigma ellipse filled with its colour, the density of their centres,
and the distribution of their sizes (standard deviations along the principal axes, in pixels of the image).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from nstr.core.lazy import lazy_import
from nstr.core.plotting import save_figure, subplots
from nstr.inspect.registry import register_pictures
from nstr.models.gaussians import Gaussians2D

mpl_collections = lazy_import("matplotlib.collections")  # loaded when the picture is drawn


def principal_axes(model: Gaussians2D, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centres [N, 2], standard deviations [N, 2] larger first, angles [N] in degrees) in pixels of an
    (H, W) image, y pointing down as the image's rows."""
    with torch.no_grad():
        a, b, c = model.factors().double().cpu().unbind(-1)
        means = model.means.detach().double().cpu()
    scale = torch.tensor([width / 2, height / 2], dtype=torch.float64)
    centres = ((means + 1) * scale - 0.5).numpy()
    # Covariance in pixels: D L L^T D with D = diag(W / 2, H / 2).
    sxx, sxy, syy = (a * a) * scale[0] ** 2, (a * b) * scale[0] * scale[1], (b * b + c * c) * scale[1] ** 2
    mean, spread = (sxx + syy) / 2, torch.sqrt(((sxx - syy) / 2) ** 2 + sxy**2)
    sigmas = torch.stack([mean + spread, (mean - spread).clamp(min=0)], dim=1).sqrt().numpy()
    angles = np.degrees(0.5 * torch.atan2(2 * sxy, sxx - syy).numpy())
    return centres, sigmas, angles


def _face_colours(model: Gaussians2D) -> np.ndarray:
    """Each Gaussian's colour as RGBA: its first three channels (or its only one as gray), from [-1, 1]."""
    colours = model.colours.detach().float().cpu().numpy()
    rgb = colours[:, :3] if colours.shape[1] >= 3 else np.repeat(colours[:, :1], 3, axis=1)
    rgba = np.concatenate([np.clip((rgb + 1) / 2, 0, 1), np.full((len(rgb), 1), 0.6)], axis=1)
    return rgba


@register_pictures(Gaussians2D)
def save_gaussians(model: Gaussians2D, out_dir: Path, shape: tuple[int, ...]) -> list[Path]:
    """gaussians.png for an (H, W) image (the fitted image's size when ``shape`` is not one)."""
    fitted = tuple(int(v) for v in model.grid.tolist())
    height, width = shape if len(shape) == 2 else (fitted if min(fitted) > 0 else (512, 512))
    centres, sigmas, angles = principal_axes(model, height, width)
    fig, axes = subplots(1, 3, figsize=(16, 4.6), constrained_layout=True)
    ellipses = mpl_collections.EllipseCollection(
        2 * sigmas[:, 0], 2 * sigmas[:, 1], angles, units="xy", offsets=centres,
        offset_transform=axes[0].transData, facecolors=_face_colours(model), edgecolors="none")
    axes[0].add_collection(ellipses)
    axes[0].set_facecolor("black")
    axes[0].set_title(f"{len(centres):,} Gaussians at 1 sigma, in their colour")
    counts, _, _ = np.histogram2d(centres[:, 1], centres[:, 0], bins=(max(1, height // 8), max(1, width // 8)),
                                  range=((-0.5, height - 0.5), (-0.5, width - 0.5)))
    shown = axes[1].imshow(counts, extent=(-0.5, width - 0.5, height - 0.5, -0.5), cmap="magma")
    fig.colorbar(shown, ax=axes[1], shrink=0.8, label="centres per 8 x 8 pixels")
    axes[1].set_title("density of centres")
    for ax in axes[:2]:
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_ylim(height - 0.5, -0.5)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    bins = np.geomspace(max(sigmas.min(), 1e-2), max(sigmas.max(), 1e-1), 60)
    axes[2].hist(sigmas[:, 0], bins=bins, alpha=0.7, label="larger axis")
    axes[2].hist(sigmas[:, 1], bins=bins, alpha=0.7, label="smaller axis")
    axes[2].set_xscale("log")
    axes[2].set_xlabel("standard deviation (pixels)")
    axes[2].set_ylabel("Gaussians")
    axes[2].legend()
    axes[2].set_title("sizes")
    return [save_figure(fig, Path(out_dir) / "gaussians.png")]
