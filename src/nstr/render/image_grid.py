"""The pixel grid of an image in coordinates: pixel centres in [-1, 1]^2, and recognising such a grid.

Images are sampled at pixel centres laid out row-major over (H, W), column 0 the x (width) axis and
column 1 the y (height) axis, the convention of ``torch.nn.functional.grid_sample``. A renderer that draws
whole images (the 2-D Gaussians) uses ``grid_shape`` to see that the coordinates it is asked about are such
a grid, so it can draw the image instead of evaluating points one by one.
"""

from __future__ import annotations

import torch

#: How far (in normalised units) coordinates may be from exact pixel centres and still count as the grid.
GRID_TOLERANCE = 1e-5


def pixel_centres(height: int, width: int, device: str | torch.device = "cpu",
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Pixel-centre coordinates [H*W, 2] in [-1, 1], row-major, columns (x, y), on ``device``."""
    ys = (torch.arange(height, dtype=dtype, device=device) * 2 + 1) / height - 1
    xs = (torch.arange(width, dtype=dtype, device=device) * 2 + 1) / width - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)


def grid_shape(x: torch.Tensor) -> tuple[int, int] | None:
    """(H, W) when ``x`` [N, 2] is exactly ``pixel_centres(H, W)`` (to ``GRID_TOLERANCE``), else None.

    The first point of such a grid is (1/W - 1, 1/H - 1), which gives W and H; the rest is checked against the
    grid itself (one comparison of N points, far cheaper than any rendering)."""
    if x.ndim != 2 or x.shape[1] != 2 or x.shape[0] < 4 or not x.is_floating_point():
        return None
    first = x[0].tolist()
    sizes = []
    for value in first:
        offset = value + 1.0
        if not 0.0 < offset <= 1.0:
            return None
        sizes.append(round(1.0 / offset))
    width, height = sizes
    if height * width != x.shape[0] or height < 2 or width < 2:
        return None
    grid = pixel_centres(height, width, device=x.device, dtype=x.dtype)
    if not bool(((x - grid).abs() <= GRID_TOLERANCE).all()):
        return None
    return height, width


def grid_indices(x: torch.Tensor, height: int, width: int) -> torch.Tensor | None:
    """Row-major pixel indices [N] of points ``x`` [N, 2] that all lie on pixel centres of an (H, W) grid (to
    ``GRID_TOLERANCE`` in normalised units), else None: a subset of an image's pixels, as a fit with a held-out
    fraction trains on."""
    if x.ndim != 2 or x.shape[1] != 2 or not x.is_floating_point() or x.shape[0] == 0:
        return None
    sizes = x.new_tensor([width, height])
    position = (x + 1) * sizes / 2 - 0.5  # pixel units: centres are integers
    index = position.round()
    off_centre = ((position - index).abs() * 2 / sizes).amax()  # back in normalised units
    inside = bool(((index >= 0) & (index <= sizes - 1)).all())
    if not inside or float(off_centre) > GRID_TOLERANCE:
        return None
    index = index.long()
    return index[:, 1] * width + index[:, 0]
