"""Signal-quality metrics on values in [0, 1]."""

from __future__ import annotations

import math

import numpy as np
import torch
from skimage.metrics import structural_similarity


def psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for values in [0, 1] (peak 1); inf for a perfect match."""
    mse = torch.mean((pred.double() - target.double()) ** 2).item()
    return math.inf if mse == 0 else -10.0 * math.log10(mse)


def ssim_gaussian(pred: np.ndarray, target: np.ndarray) -> float:
    """SSIM as NeRF papers report it (11 x 11 Gaussian window, sigma 1.5, population covariances) of
    (H, W, C) images in [0, 1]; nan for images smaller than the window."""
    if min(pred.shape[:2]) < 11:
        return float("nan")
    return float(structural_similarity(pred, target, data_range=1.0, channel_axis=2, gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False))


def ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """Structural similarity of (H, W, C) images in [0, 1] (scikit-image, 7x7 Gaussian-free window)."""
    side = min(pred.shape[:2])
    win = min(7, side if side % 2 else side - 1)
    if win < 3:
        return float("nan")
    return float(structural_similarity(pred, target, data_range=1.0, channel_axis=2, win_size=win))
