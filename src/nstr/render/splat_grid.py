"""Drawing 2-D Gaussians on a whole pixel grid, each touching only the pixels inside its cut-off.

    f(p) = sum_i c_i exp(-q_i(p) / 2) [q_i(p) <= r^2]        (``nstr.render.gaussians2d`` defines q)

summed over Gaussians in any order (GaussianImage's accumulated summation: no sorting, no alpha).

How: every Gaussian gets a square window of k x k pixels that holds the part of its cut-off box inside the
image (k from a ladder of sizes: every side up to 32, then 10 % steps, so a window is at most 21 % larger than
it needs to be and there are a few dozen sizes at most). Gaussians are grouped by window size; per group, one
batch of tensor operations computes the weights of all its windows ([G, k, k]) and ``index_add_`` adds them,
times the colours, into the image. A Gaussian whose box misses every pixel centre is left out.

Backward: a custom ``autograd.Function`` that keeps each group's (u, v, weights, pixel indices) from the forward
pass, gathers the image's gradient at the window pixels and reduces it over the window to the gradients of the
means, the factors and the colours in closed form (see ``_window_backward``). It is checked against autograd of
a dense reference in the tests. Not twice differentiable (the Gaussian model uses ``nstr.render.splat_points``
when derivatives in the coordinates are asked for).

Measured (37,000-37,500 Gaussians on a 768 x 512 Kodak photograph, forward + backward, one thread, CPU time):
the first version (a row-major [pixels, C] canvas, int64 indices, einsum reductions) took 545 ms on 9-10 M
window pixels; ``index_add_`` and ``index_select`` on rows were most of it (PyTorch's CPU kernels set up a slice
iterator per index). The channel-first 1-D scatters and gathers, int32 indices and one-pass (u, v) bring it to
222 ms on the same Gaussians, and to 229 ms on trained ones (6.1 M window pixels); autograd through the same
forward operations took 310-385 ms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.autograd.function import once_differentiable

from nstr.render.gaussians2d import half_extents


def _ladder(exact: int = 32, ratio: float = 1.1, limit: int = 1 << 20) -> list[int]:
    """Window sides: every side up to ``exact``, then growing by ``ratio``. On a Kodak photograph with 37,000
    Gaussians this drew 9.2 M window pixels in 22 groups, against 10.5 M in 9 groups with 1-8 then 1.2 x steps
    (fewer groups cost fewer launches; more pixels cost more work)."""
    sizes = list(range(1, exact + 1))
    while sizes[-1] < limit:
        sizes.append(max(sizes[-1] + 1, math.ceil(sizes[-1] * ratio)))
    return sizes


WINDOW_SIZES = _ladder()


@dataclass
class Windows:
    """Where each drawn Gaussian's window lies, the Gaussians grouped by window side.

    ``order`` lists the drawn Gaussians, grouped; ``sides[j]`` and ``counts[j]`` are group j's window side and
    size; ``start`` [G, 2] is each window's first pixel (column, row) in the padded canvas, which extends the
    image by ``pad`` (columns, rows) on the left and top for windows wider than the image."""

    order: torch.Tensor
    sides: list[int]
    counts: list[int]
    start: torch.Tensor
    height: int
    width: int
    pad: tuple[int, int]

    @property
    def canvas(self) -> tuple[int, int]:
        return self.height + self.pad[1], self.width + self.pad[0]


@torch.no_grad()
def plan_windows(means: torch.Tensor, factors: torch.Tensor, height: int, width: int, cutoff: float) -> Windows:
    """Window of every Gaussian that touches a pixel centre of the (H, W) grid (coordinates in [-1, 1])."""
    device = means.device
    size = means.new_tensor([width, height]).double()
    hx, hy = half_extents(factors.double(), cutoff)
    half = torch.stack([hx, hy], dim=1) * size / 2  # pixels
    centre = (means.double() + 1) * size / 2 - 0.5  # pixel units: pixel centres are at integers
    finite = torch.isfinite(centre).all(dim=1) & torch.isfinite(half).all(dim=1)
    centre, half = torch.nan_to_num(centre), torch.nan_to_num(half)
    # First and last pixel inside the box and the image, clamped in floating point (no integer overflow).
    first = torch.maximum(torch.ceil(centre - half), torch.zeros_like(centre))
    last = torch.minimum(torch.floor(centre + half), size - 1)
    span = (last - first + 1).clamp(min=0)
    drawn = finite & (span > 0).all(dim=1)
    index = torch.nonzero(drawn).squeeze(1)
    ladder = torch.tensor(WINDOW_SIZES, device=device)
    bucket = torch.searchsorted(ladder, span[index].amax(dim=1).long())
    bucket, by_size = torch.sort(bucket, stable=True)
    index = index[by_size]
    sides_all = ladder[bucket]
    # The window starts at the box's first pixel, moved back where it would run past the image's far edge.
    limit = size.long() - sides_all[:, None]
    start = torch.minimum(first[index].long(), limit)
    groups, counts = torch.unique_consecutive(bucket, return_counts=True)
    sides = ladder[groups].tolist()
    widest = max(sides, default=1)
    pad = (max(0, widest - width), max(0, widest - height))
    start = (start + torch.tensor(pad, device=device)).int()  # int32 pixel indices: half the memory traffic
    return Windows(index, sides, counts.tolist(), start, height, width, pad)


def _window_geometry(means: torch.Tensor, factors: torch.Tensor, start: torch.Tensor, side: int,
                     windows: Windows) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(u [G, 1, k], v [G, k, k], canvas pixel index [G, k, k] int32) of one group's windows (rows, then columns).

    u = dx / a depends on the column only; v = (dy - b u) / c = dy / c - (b / c) u is one subtraction of a
    row term and a column term, so each [G, k, k] tensor costs one pass."""
    steps = torch.arange(side, device=means.device, dtype=torch.int32)
    cols = start[:, :1] + steps  # [G, k] canvas columns
    rows = start[:, 1:] + steps
    pad_x, pad_y = windows.pad
    x = ((cols - pad_x) * 2 + 1).to(means.dtype) / windows.width - 1
    y = ((rows - pad_y) * 2 + 1).to(means.dtype) / windows.height - 1
    a, b, c = factors.unbind(-1)
    u = (x - means[:, :1]) / a[:, None]
    v = ((y - means[:, 1:]) / c[:, None])[:, :, None] - ((b / c)[:, None] * u)[:, None, :]
    index = rows[:, :, None] * windows.canvas[1] + cols[:, None, :]
    return u[:, None, :], v, index


class _SplatWindows(torch.autograd.Function):
    """Forward: the image [H * W, C]; backward: gradients of means [G, 2], factors [G, 3], colours [G, C].

    The canvas is channel-first, [C, pixels], so every scatter and gather is one-dimensional: PyTorch's CPU
    ``index_add_`` and ``index_select`` are plain loops in 1-D, and pay a slice iterator per index on rows."""

    @staticmethod
    def forward(ctx, means, factors, colours, windows: Windows, cutoff: float):
        channels = colours.shape[1]
        canvas = colours.new_zeros(channels, windows.canvas[0] * windows.canvas[1])
        saved, begin = [], 0
        r2 = cutoff * cutoff
        for side, count in zip(windows.sides, windows.counts, strict=True):
            part = slice(begin, begin + count)
            begin += count
            u, v, index = _window_geometry(means[part], factors[part], windows.start[part], side, windows)
            q = torch.addcmul(u * u, v, v)
            w = q.mul(-0.5).exp_().masked_fill_(q > r2, 0.0)
            flat = index.view(-1)
            for channel in range(channels):
                canvas[channel].index_add_(0, flat, (w * colours[part, channel, None, None]).view(-1))
            saved.append((u, v, w, index))
        ctx.saved = saved
        ctx.windows = windows
        ctx.save_for_backward(factors, colours)
        image = canvas.view(channels, *windows.canvas)[:, windows.pad[1]:, windows.pad[0]:]
        return image.permute(1, 2, 0).reshape(windows.height * windows.width, channels)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_image):
        factors, colours = ctx.saved_tensors
        windows: Windows = ctx.windows
        channels = colours.shape[1]
        grad = grad_image.new_zeros(channels, *windows.canvas)
        grad[:, windows.pad[1]:, windows.pad[0]:] = grad_image.view(windows.height, windows.width, channels
                                                                    ).permute(2, 0, 1)
        grad = grad.view(channels, -1)
        grads_means, grads_factors, grads_colours, begin = [], [], [], 0
        for (u, v, w, index), count in zip(ctx.saved, windows.counts, strict=True):
            part = slice(begin, begin + count)
            begin += count
            g_means, g_factors, g_colours = _window_backward(grad, u, v, w, index, factors[part], colours[part])
            grads_means.append(g_means)
            grads_factors.append(g_factors)
            grads_colours.append(g_colours)
        ctx.saved = None
        empty = (factors.new_zeros(0, 2), factors.new_zeros(0, 3), colours.new_zeros(0, channels))
        out = [torch.cat(g) if g else e for g, e in zip((grads_means, grads_factors, grads_colours), empty,
                                                         strict=True)]
        return out[0], out[1], out[2], None, None


def _window_backward(grad: torch.Tensor, u: torch.Tensor, v: torch.Tensor, w: torch.Tensor, index: torch.Tensor,
                     factors: torch.Tensor, colours: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of one group from the canvas gradient ``grad`` [C, pixels], in closed form.

    With t = dL/dq = -w/2 (g . c) per pixel and q = u^2 + v^2, u = dx / a, v = (dy - b u) / c:
    dq/dmu_x = -2 (u - b v / c) / a, dq/da = u dq/dmu_x, dq/dmu_y = -2 v / c, dq/db = u dq/dmu_y,
    dq/dc = v dq/dmu_y; so five sums over the window, of t u, t v, t u^2, t u v and t v^2, give them all.
    Window sums of products are batched dot products (``bmm``), which read both factors once and write nothing."""
    count, pixels = w.shape[0], w[0].numel()
    flat, rows = index.view(-1), w.view(count, 1, pixels)
    grad_colours, s = [], None
    for channel in range(grad.shape[0]):
        g = grad[channel].index_select(0, flat).view_as(w)  # [G, k, k]
        grad_colours.append(torch.bmm(rows, g.view(count, pixels, 1)).view(count))
        colour = colours[:, channel, None, None]
        s = g.mul_(colour) if s is None else s.addcmul_(g, colour)
    s.mul_(w)  # -2 dL/dq: the factor -1/2 is applied to the five sums
    by_column = s.sum(dim=1)  # [G, k]: u depends only on the column
    u = u.squeeze(1)
    sum_tu, sum_tuu = (by_column * u).sum(dim=1), (by_column * u * u).sum(dim=1)
    sv = s.mul_(v)
    sum_tv = sv.sum(dim=(1, 2))
    sum_tvv = torch.bmm(sv.view(count, 1, pixels), v.reshape(count, pixels, 1)).view(count)
    sum_tuv = (sv.sum(dim=1) * u).sum(dim=1)
    a, b, c = factors.unbind(-1)
    along_x = (sum_tu - b / c * sum_tv) / a  # dL/dmu_x (the -2 of dq and the -1/2 of t cancel)
    along_x_u = (sum_tuu - b / c * sum_tuv) / a  # dL/da
    grad_means = torch.stack([along_x, sum_tv / c], dim=1)
    grad_factors = torch.stack([along_x_u, sum_tuv / c, sum_tvv / c], dim=1)
    return grad_means, grad_factors, torch.stack(grad_colours, dim=1)


def splat_grid(means: torch.Tensor, factors: torch.Tensor, colours: torch.Tensor, height: int, width: int,
               cutoff: float = 3.0) -> torch.Tensor:
    """The Gaussians drawn at the pixel centres of an (H, W) grid: [H * W, C], row-major like
    ``nstr.render.image_grid.pixel_centres``. ``means`` [N, 2] in [-1, 1] coordinates (x, y), ``factors``
    [N, 3] = (a, b, c) of L = [[a, 0], [b, c]] with a, c > 0, ``colours`` [N, C]. Differentiable once in
    means, factors and colours."""
    windows = plan_windows(means.detach(), factors.detach(), height, width, cutoff)
    order = windows.order
    pick = [t.index_select(0, order) for t in (means, factors, colours)]  # backward: index_add, no sort
    return _SplatWindows.apply(*pick, windows, cutoff)
