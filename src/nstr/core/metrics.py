"""Signal-quality metrics: the one PSNR and the one SSIM (its window chosen by protocol)."""

from __future__ import annotations

import math

import numpy as np
import torch

from nstr.core.device import accumulation_dtype
from nstr.core.lazy import lazy_import

skimage_metrics = lazy_import("skimage.metrics")


#: Elements per block of the PSNR's squared-error sum: a long signal (audio) needs no full-size temporaries.
PSNR_BLOCK = 1 << 18


def psnr(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0,
         clip: tuple[float, float] | None = None) -> float:
    """Peak signal-to-noise ratio in dB, -10 log10(MSE / data_range^2); inf for a perfect match.

    The one PSNR of the package. ``data_range`` is the peak-to-peak of the values' scale: 1 for values in
    [0, 1] (images, scenes), 2 for values in [-1, 1] (the same number as on those values mapped to [0, 1]).
    ``clip`` (low, high) clamps the prediction first. The squared error is summed in float64, ``PSNR_BLOCK``
    elements at a time.
    """
    pred, target = pred.reshape(-1), target.reshape(-1)
    dtype = accumulation_dtype(pred.device)
    total = 0.0
    for i in range(0, pred.shape[0], PSNR_BLOCK):
        block = pred[i : i + PSNR_BLOCK]
        if clip is not None:
            block = block.clamp(*clip)
        error = block.to(dtype) - target[i : i + PSNR_BLOCK].to(pred.device, dtype)
        total += float(torch.sum(error * error))
    mse = total / max(pred.numel(), 1) / (data_range * data_range)
    return math.inf if mse == 0 else -10.0 * math.log10(mse)


#: SSIM windows, one per protocol (see ``ssim``).
SSIM_WINDOWS = ("uniform", "gaussian")


def ssim(pred: np.ndarray, target: np.ndarray, window: str = "uniform") -> float:
    """Structural similarity of (H, W, C) images in [0, 1] (scikit-image's ``structural_similarity``,
    ``data_range=1``), with the window of one of two protocols:

    - ``"uniform"``, for images: scikit-image's default, a 7 x 7 uniform window with sample covariances
      (``win_size=7``); an image narrower than 7 pixels uses the largest odd window that fits, nan below 3.
    - ``"gaussian"``, for scenes, as NeRF papers report it (Wang et al.'s original): an 11 x 11 Gaussian
      window of sigma 1.5 with population covariances (``gaussian_weights=True, sigma=1.5,
      use_sample_covariance=False``); nan for images smaller than 11 pixels.
    """
    if window == "gaussian":
        if min(pred.shape[:2]) < 11:
            return float("nan")
        return float(skimage_metrics.structural_similarity(pred, target, data_range=1.0, channel_axis=2,
                                                           gaussian_weights=True, sigma=1.5,
                                                           use_sample_covariance=False))
    if window != "uniform":
        raise ValueError(f"window must be one of {', '.join(SSIM_WINDOWS)}, got '{window}'")
    side = min(pred.shape[:2])
    win = min(7, side if side % 2 else side - 1)
    if win < 3:
        return float("nan")
    return float(skimage_metrics.structural_similarity(pred, target, data_range=1.0, channel_axis=2, win_size=win))
