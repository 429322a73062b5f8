"""Basis frequencies drawn from an image's own spectrum (NSTR's ``basis_init="spectrum"``).

A random Gaussian basis spends its K sinusoids wherever the draw lands; an image's energy is not everywhere. This
draws the K frequencies without replacement (with replacement when fewer than K bins carry energy), each bin
with probability proportional to its magnitude in the training image's 2-D Fourier spectrum (channels averaged,
mean removed, held-out pixels filled from their kept neighbours so the holes add no broadband noise), one of each
+-f pair. Frequencies are in radians per unit of x on [-1, 1], in the coordinates' order (x[:, 0] across the
width, x[:, 1] down the height). Computed once on the host, before training, wherever the fit runs.
"""

from __future__ import annotations

import math

import torch

from nstr.core.errors import NstrError
from nstr.render.image_grid import grid_indices

#: Where the spectrum is computed, whatever the fit's device (or the default device) is: a one-off FFT of one image.
HOST = torch.device("cpu")


def spectrum_frequencies(x: torch.Tensor, y: torch.Tensor, shape: tuple[int, ...], k: int,
                         seed: int) -> torch.Tensor:
    """K frequencies [K, 2] (radians per unit) drawn in proportion to the magnitude spectrum of the image whose
    pixels ``x`` [N, 2] (pixel centres of an (H, W) grid, any subset) hold the values ``y`` [N, C]."""
    index = grid_indices(x, *shape) if len(shape) == 2 else None
    if index is None:
        raise NstrError("basis_init=spectrum draws the basis from an image's spectrum: fit an image (a 2-D pixel "
                        "grid), or use basis_init=gaussian")
    height, width = shape
    index, y = index.to(HOST), y.detach().to(HOST, torch.float64)
    mean = y.mean(dim=0)
    image = torch.zeros(height * width, y.shape[1], dtype=y.dtype, device=HOST)
    known = torch.zeros(height * width, 1, dtype=y.dtype, device=HOST)
    image[index], known[index] = y - mean, 1.0
    image = _fill_holes(image.T.reshape(-1, height, width), known.T.reshape(1, height, width))
    magnitude = torch.fft.fft2(image).abs().mean(dim=0)  # [H, W], bin (row, col)
    fy = torch.fft.fftfreq(height, d=2.0 / height, dtype=torch.float64, device=HOST)  # cycles per unit down the height
    fx = torch.fft.fftfreq(width, d=2.0 / width, dtype=torch.float64, device=HOST)
    rows, cols = torch.meshgrid(fy, fx, indexing="ij")
    half = (rows > 0) | ((rows == 0) & (cols > 0))  # one of each +-f pair, no DC
    weights = torch.where(half, magnitude, torch.zeros_like(magnitude)).flatten()
    energetic = int((weights > weights.max() * 1e-9).sum())  # bins above rounding noise (none if constant)
    if energetic == 0:
        raise NstrError("basis_init=spectrum: the image is constant, its spectrum has nothing to draw from; use "
                        "basis_init=gaussian")
    generator = torch.Generator().manual_seed(seed)
    pick = torch.multinomial(weights, k, replacement=energetic < k, generator=generator)
    cycles = torch.stack([cols.flatten()[pick], rows.flatten()[pick]], dim=1)
    return (2 * math.pi * cycles).to(x.dtype)


def _fill_holes(image: torch.Tensor, known: torch.Tensor, passes: int = 8) -> torch.Tensor:
    """Unknown pixels (``known`` 0) of ``image`` [C, H, W] take the mean of their known 3 x 3 neighbours
    (normalised convolution), repeated so holes fill from their edges; any still unknown stay 0 (the mean)."""
    kernel = torch.ones(1, 1, 3, 3, dtype=image.dtype, device=image.device)
    values, weight = image[:, None] * known, known[None].expand(image.shape[0], -1, -1, -1)
    for _ in range(passes):
        if bool((weight > 0).all()):
            break
        total = torch.nn.functional.conv2d(values, kernel, padding=1)
        count = torch.nn.functional.conv2d(weight, kernel, padding=1)
        fill = (weight == 0) & (count > 0)
        values = torch.where(fill, total / count.clamp_min(1e-12), values)
        weight = torch.where(fill, torch.ones_like(weight), weight)
    return values[:, 0]
