"""FreSh (Kania et al. 2024): choose an embedding hyperparameter by matching spectra at initialisation.

The recipe, as in the official code (gmum/FreSh):

1. Target and untrained model output as (C, H, W) arrays in [-1, 1], both resized to a square (side =
   min(H, W), at most 1024, antialiased) before the DFT.
2. Magnitude of the unshifted DFT over the spatial axes, summed over channels.
3. Keep the non-redundant half of the DFT (:func:`mask_2d`) and sum it along anti-diagonals:
   ``s[k] = sum over i + j = k of |F[i, j]|`` (length 2n - 1 for side n). Volumes sum over
   ``i + j + k`` with the official 3-D mask (:func:`mask_3d`, length 3n - 2); 1-D signals use the analogue
   described in :func:`mask_1d` (length n).
4. Drop the DC entry ``s[0]`` and keep the first ``n`` entries (64 in the official configurations).
5. Distance: the 1-D Wasserstein distance between the two spectra as histograms over the index
   (:func:`spectral_distance`).
6. For each candidate value, average the distance over freshly initialised models; pick the argmin.

:func:`spectrum` reproduces numbers computed by the official code to better than 1e-9 relative (it works in
float64; the official works in float32, which agrees to about 1e-7).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from nstr.core.lazy import lazy_import

scipy_stats = lazy_import("scipy.stats")  # loaded on first use (0.2 s)


#: Largest side of the square (cube) the signal is resized to before the DFT, as the official code.
MAX_SIDE = 1024
#: Spectrum entries compared by default (after dropping DC), as the official configurations.
DEFAULT_N = 64
#: Precisions of the batched untrained forward passes (see :func:`select`); "auto" is bfloat16 where the device
#: multiplies it natively, else float32.
PRECISIONS = ("auto", "bfloat16", "float32")

# ----------------------------------------------------------------------------------------------- spectra


def mask_1d(n: int) -> torch.Tensor:
    """Non-redundant half of a length-``n`` real DFT: indices ``0 .. n // 2`` (bool, shape (n,)).

    The DFT of a real signal satisfies ``F[k] = conj(F[n - k])``, so ``k <= n // 2`` carries everything;
    for even ``n`` the self-conjugate entry ``n / 2`` is kept once. This is the first row of
    :func:`mask_2d`, so the 1-D spectrum of ``f`` equals the 2-D spectrum of the image that repeats ``f``
    on every row, divided by the number of rows (and without the 2-D spectrum's trailing zeros).
    """
    return torch.arange(n) <= n // 2


def mask_2d(n: int) -> torch.Tensor:
    """The official non-redundant half of an ``n x n`` DFT (bool, shape (n, n)), indexed ``[i, j]``.

    Kept: the upper-left anti-triangle ``i + j <= n - 1``; on the next anti-diagonal ``i + j == n`` the
    first ``n // 2`` entries counted from the top row down (rows ``1 .. n // 2``); minus the first row and
    the first column after index ``n // 2`` (they are 1-D DFTs, redundant past their middle).
    """
    i = torch.arange(n)[:, None]
    j = torch.arange(n)[None, :]
    half = n // 2
    keep = (i + j <= n - 1) | ((i + j == n) & (i >= 1) & (i <= half))
    keep &= ~((j == 0) & (i > half)) & ~((i == 0) & (j > half))
    return keep


def mask_3d(n: int) -> torch.Tensor:
    """The official non-redundant part of an ``n x n x n`` DFT (bool, shape (n, n, n)), indexed ``[i, j, k]``.

    Each face through the origin (``i == 0``, ``j == 0`` or ``k == 0``) carries :func:`mask_2d` of the other
    two indices. Inside (all of ``i, j, k >= 1``) an entry is kept when ``j + k <= n - 1 + n // 2 - i + e``
    with ``e = 1`` for ``i < n // 2`` or odd ``n`` and ``e = 0`` otherwise; for even ``n`` the slice
    ``i == n / 2`` also keeps ``j + k == n`` with ``k >= n / 2``. This is the official code's mask, kept as
    it is so the numbers agree with it.
    """
    i = torch.arange(n)[:, None, None]
    j = torch.arange(n)[None, :, None]
    k = torch.arange(n)[None, None, :]
    m2 = mask_2d(n)
    half = n // 2
    extra = ((i < half) | (n % 2 == 1)).to(torch.long)
    inner = (j + k <= n - 1 + half - i + extra)
    if n % 2 == 0:
        inner = inner | ((i == half) & (j + k == n) & (k >= half))
    keep = inner & (i >= 1) & (j >= 1) & (k >= 1)
    keep = torch.where(i == 0, m2[None, :, :], keep)
    keep = torch.where(j == 0, m2[:, None, :], keep)
    keep = torch.where(k == 0, m2[:, :, None], keep)
    return keep


@lru_cache(maxsize=16)
def _bins(shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor, int]:
    """For a DFT of ``shape``: flat indices of the kept entries, their index sums, and the spectrum length."""
    n = shape[0]
    if any(s != n for s in shape):
        raise ValueError(f"the DFT must be square (cubic), got shape {shape}")
    mask = {1: mask_1d, 2: mask_2d, 3: mask_3d}[len(shape)](n)
    grids = torch.meshgrid(*[torch.arange(n)] * len(shape), indexing="ij")
    total = sum(grids) if len(shape) > 1 else grids[0]
    flat = torch.nonzero(mask.reshape(-1)).squeeze(1)
    return flat, total.reshape(-1)[flat], len(shape) * (n - 1) + 1


def diagonal_sums(magnitude: torch.Tensor) -> torch.Tensor:
    """Masked DFT magnitudes summed by index sum: ``s[k] = sum over i + j (+ l) = k`` of kept entries.

    ``magnitude`` is (n,), (n, n) or (n, n, n); the result has length ``n``, ``2n - 1`` or ``3n - 2``,
    including the DC entry ``s[0]``.
    """
    flat, bins, length = _bins(tuple(magnitude.shape))
    values = magnitude.reshape(-1)[flat]
    return torch.zeros(length, dtype=values.dtype).index_add_(0, bins, values)


def square_side(spatial: tuple[int, ...], max_side: int = MAX_SIDE) -> int:
    """The side of the square (cube) grid FreSh compares spectra on: the shortest side, at most ``max_side``."""
    return min(min(spatial), max_side)


def resize_to_square(y: torch.Tensor, max_side: int = MAX_SIDE) -> torch.Tensor:
    """Resize (C, H, W) to (C, s, s) with s = min(H, W, max_side), antialiased bilinear, as the official code.

    Volumes (C, D, H, W) go to a cube of side min(D, H, W, max_side) by area averaging (an antialiased box
    filter; ``torch`` has no antialiased trilinear). 1-D signals (C, T) are returned unchanged. Inputs that
    are already square (cubic) and no larger than ``max_side`` are returned as they are.
    """
    spatial = tuple(y.shape[1:])
    if len(spatial) == 1:
        return y
    side = square_side(spatial, max_side)
    if all(s == side for s in spatial):
        return y
    if len(spatial) == 2:
        return F.interpolate(y[None], size=(side, side), mode="bilinear", align_corners=False, antialias=True)[0]
    if len(spatial) == 3:
        return F.interpolate(y[None], size=(side, side, side), mode="area")[0]
    raise ValueError(f"expected (C, T), (C, H, W) or (C, D, H, W), got shape {tuple(y.shape)}")


def spectrum(y: torch.Tensor | np.ndarray, n: int | None = None, resize: bool = True) -> torch.Tensor:
    """The official FreSh 1-D spectrum of ``y`` (float64), DC dropped, cropped to the first ``n`` entries.

    ``y`` is (C, T) for 1-D signals, (C, H, W) for images or (C, D, H, W) for volumes (channels first).
    With ``resize`` the signal is first resized to a square (cube) as :func:`resize_to_square`. The
    magnitudes of the unshifted DFT over the spatial axes are summed over channels, masked to the
    non-redundant half and summed by index sum (:func:`diagonal_sums`); for side ``s`` the result has
    length ``s - 1``, ``2s - 2`` or ``3s - 3`` before cropping.

    Note the official code reads a 2-D input as one single-channel image; here 2-D means (C, T).
    """
    y = torch.as_tensor(y).detach().cpu().to(torch.float64)
    if y.ndim not in (2, 3, 4):
        raise ValueError(f"expected (C, T), (C, H, W) or (C, D, H, W), got shape {tuple(y.shape)}")
    if resize:
        y = resize_to_square(y)
    dims = tuple(range(1, y.ndim))
    magnitude = torch.fft.fftn(y, dim=dims).abs().sum(dim=0)
    s = diagonal_sums(magnitude)[1:]
    return s if n is None else s[:n]


def spectral_distance(u: Sequence[float] | np.ndarray | torch.Tensor,
                      v: Sequence[float] | np.ndarray | torch.Tensor) -> float:
    """1-D Wasserstein distance between two spectra read as histograms over their index 0 .. len - 1.

    Exactly ``scipy.stats.wasserstein_distance(arange(n), arange(n), u_weights=u, v_weights=v)``; the
    weights are normalised by scipy, so only the shape of each spectrum matters.
    """
    u = np.asarray(torch.as_tensor(u, dtype=torch.float64).cpu())
    v = np.asarray(torch.as_tensor(v, dtype=torch.float64).cpu())
    if u.ndim != 1 or u.shape != v.shape:
        raise ValueError(f"spectra must be 1-D with the same length, got {u.shape} and {v.shape}")
    index = np.arange(len(u))
    return float(scipy_stats.wasserstein_distance(index, index, u_weights=u, v_weights=v))


