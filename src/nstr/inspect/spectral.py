"""NSTR's inspection pictures (paper section 5.3): the channels of S(x), ||dS/dx||, the local-frequency map
(Proposition 1), and for a model trained with the transport term its PDE residual and energy flow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from nstr.core.device import module_device
from nstr.core.plotting import save_figure, subplots
from nstr.inspect.registry import register_pictures
from nstr.models.nstr import NSTR
from nstr.signals.image.signal import pixel_centres


def inspection_grid(in_dim: int, shape: tuple[int, ...], longest: int = 256) -> tuple[np.ndarray, tuple[int, ...]]:
    """Coordinates for pictures of a field: the signal's own grid, at most ``longest`` samples per axis.

    2-D: pixel centres of (H, W) scaled down; 1-D: ``longest * 4`` points; 3-D: the z = 0 mid-slice.
    """


    if in_dim == 1:
        n = min(shape[0] if shape else longest * 4, longest * 4)
        return ((torch.arange(n, device="cpu") * 2 + 1) / n - 1).view(-1, 1), (n,)
    h, w = (shape[0], shape[1]) if len(shape) >= 2 else (longest, longest)
    scale = min(1.0, longest / max(h, w))
    h, w = max(2, round(h * scale)), max(2, round(w * scale))
    xy = pixel_centres(h, w, device="cpu")
    if in_dim == 3:
        xy = torch.cat([xy, xy.new_zeros(len(xy), 1)], dim=1)
    return xy, (h, w)


@register_pictures(NSTR)
def save_spectral_field(model: NSTR, out_dir: Path, shape: tuple[int, ...]) -> list[Path]:
    """NSTR's inspection pictures (paper section 5.3): S channels, ||dS/dx||, flow, residual, local frequency.
    None for a grid on tiny-cuda-nn's backend, which has no exact dS/dx. Computed on the model's device."""
    if not model.exact_jacobian:
        return []
    x, grid = inspection_grid(model.in_dim, shape)
    device = module_device(model)
    with torch.no_grad():
        parts = [{k: v.cpu() for k, v in _field_quantities(model, x[i : i + 16384].to(device)).items()}
                 for i in range(0, len(x), 16384)]
    q = {k: torch.cat([p[k] for p in parts]).numpy() for k in parts[0]}
    out_dir = Path(out_dir)
    if len(grid) == 1:
        return [_save_line_plots(out_dir / "spectral.png", x[:, 0].numpy(), q)]
    h, w = grid
    maps = {k: v.reshape(h, w, *v.shape[1:]) for k, v in q.items()}
    written = [
        _save_channels(out_dir / "spectrum.png", maps["s"]),
        _save_map(out_dir / "spectral_gradient.png", np.linalg.norm(maps["ds"], axis=(2, 3)), "||dS/dx||", "magma"),
        _save_map(out_dir / "local_frequency.png", np.linalg.norm(maps["omega"], axis=2),
                  "|local frequency| (cycles per unit)", "plasma"),
    ]
    if "residual" in maps:  # only a model trained with the transport term has a flow worth drawing
        written += [
            _save_map(out_dir / "pde_residual.png", np.linalg.norm(maps["residual"], axis=(2, 3)),
                      "||dS/dx - F(x, S)||", "viridis"),
            _save_flow(out_dir / "flow.png", maps["recon"], maps["energy_flow"]),
        ]
    return written


def _field_quantities(model, x):

    s, ds = model.spectrum_jacobian(x)
    quantities = {"s": s, "ds": ds, "omega": model.local_frequency(x), "recon": model(x)}
    if model.transport is not None:
        flow = model.flow(x, s)
        quantities["residual"] = ds - flow
        # Direction in which the transport law moves spectral energy: d(|S|^2 / 2)/dx = sum_i S_i F_i.
        quantities["energy_flow"] = torch.einsum("nk,nkd->nd", s, flow) / s.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return quantities


def _save_channels(path: Path, s: np.ndarray) -> Path:
    k = s.shape[2]
    cols = int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / cols))
    fig, axes = subplots(rows, cols, figsize=(2.2 * cols, 2.2 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < k:
            ax.imshow(s[..., i], cmap="RdBu_r", vmin=-np.abs(s[..., i]).max(), vmax=np.abs(s[..., i]).max())
            ax.set_title(f"S_{i + 1}", fontsize=8)
    fig.suptitle("spectral field S(x), one panel per basis frequency")
    return save_figure(fig, path)


def _save_map(path: Path, values: np.ndarray, title: str, cmap: str) -> Path:
    fig, ax = subplots(figsize=(6, 6 * values.shape[0] / values.shape[1]))
    shown = ax.imshow(values, cmap=cmap)
    ax.set_axis_off()
    ax.set_title(title)
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    return save_figure(fig, path)


def _save_flow(path: Path, recon: np.ndarray, flow: np.ndarray, arrows: int = 24) -> Path:
    """Arrows of the energy flow over the model's own reconstruction (gray)."""
    h, w = flow.shape[:2]
    gray = ((recon.mean(axis=2) + 1) / 2).clip(0, 1)
    step = max(1, max(h, w) // arrows)
    ys, xs = np.mgrid[step // 2 : h : step, step // 2 : w : step]
    u, v = flow[ys, xs, 0], flow[ys, xs, 1]
    fig, ax = subplots(figsize=(6, 6 * h / w))
    ax.imshow(gray, cmap="gray", vmin=0, vmax=1)
    ax.quiver(xs, ys, u, v, np.hypot(u, v), cmap="autumn", angles="xy", pivot="mid")
    ax.set_axis_off()
    ax.set_title("spectral energy flow  sum_i S_i F_i(x, S) / |S|")
    return save_figure(fig, path)


def _save_line_plots(path: Path, t: np.ndarray, q: dict[str, np.ndarray]) -> Path:
    fig, axes = subplots(4, 1, figsize=(10, 9), sharex=True)
    axes[0].plot(t, q["recon"], lw=0.6)
    axes[0].set_ylabel("f(x)")
    axes[1].plot(t, q["s"], lw=0.6)
    axes[1].set_ylabel("S_i(x)")
    axes[2].plot(t, np.linalg.norm(q["ds"], axis=(1, 2)), lw=0.6, label="||dS/dx||")
    if "residual" in q:
        axes[2].plot(t, np.linalg.norm(q["residual"], axis=(1, 2)), lw=0.6, label="||dS/dx - F||")
    axes[2].legend(loc="upper right")
    axes[3].plot(t, np.abs(q["omega"][:, 0]), lw=0.8)
    axes[3].set_ylabel("local frequency")
    axes[3].set_xlabel("x")
    return save_figure(fig, path)
