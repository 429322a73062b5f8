"""Evaluating a sum of 2-D Gaussians at arbitrary points: points binned into tiles, Gaussians paired with the
tiles their cut-off box overlaps.

    f(p) = sum_i c_i exp(-q_i(p) / 2) [q_i(p) <= r^2]        (``nstr.render.gaussians2d`` defines q)

The points are sorted into a T x T grid of square tiles over [-1, 1]^2 (points and boxes outside it are
clamped to the border tiles, which keeps every (Gaussian, point) pair within the cut-off), with the tile side
near the median box, so that a Gaussian meets a few tiles and a tile holds the points near it. Every
(Gaussian, tile) pair expands to (Gaussian, point) pairs, in chunks of at most ``max_pairs`` (70 MB of work
tensors); the pairs beyond the cut-off are dropped before anything differentiable is computed, and the rest are
summed into the points with ``index_add``. Plain tensor operations throughout, so autograd gives exact
derivatives of any order in the means, factors, colours and the points themselves (the cut-off's edge aside).

This is the general path: minibatches of random coordinates, derivatives in x, points off any grid. A whole
pixel grid is drawn faster by ``nstr.render.splat_grid`` (no sorting, no per-point gather).
"""

from __future__ import annotations

import torch

from nstr.render.gaussians2d import half_extents, offsets_to_uv, weights

#: Most tiles per axis (the tile grid's counts are an array of TILES^2 entries).
MAX_TILES = 1024
#: (Gaussian, point) pairs evaluated at once; bounds the memory of one chunk (about 70 bytes a pair).
MAX_PAIRS = 1 << 20


def _tile_of(value: torch.Tensor, tiles: int) -> torch.Tensor:
    """Tile index along one axis of coordinates in [-1, 1] (clamped to the border tiles outside it)."""
    return torch.floor((value + 1) * (tiles / 2)).clamp(0, tiles - 1).long()


def _ranges(starts: torch.Tensor, counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For ranges ``starts[i] + 0..counts[i]-1``: (which range, position) of every element, concatenated."""
    total = int(counts.sum())
    owner = torch.repeat_interleave(torch.arange(len(counts), device=counts.device), counts, output_size=total)
    first = torch.cumsum(counts, 0) - counts
    return owner, starts[owner] + torch.arange(total, device=counts.device) - first[owner]


@torch.no_grad()
def _gaussian_tiles(means: torch.Tensor, factors: torch.Tensor, cutoff: float, tiles: int
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """(Gaussian, tile) pairs: every tile each finite Gaussian's cut-off box overlaps."""
    hx, hy = half_extents(factors, cutoff)
    finite = torch.isfinite(means).all(dim=1) & torch.isfinite(hx) & torch.isfinite(hy)
    index = torch.nonzero(finite).squeeze(1)
    mx, my, hx, hy = means[index, 0], means[index, 1], hx[index], hy[index]
    x0, x1 = _tile_of(mx - hx, tiles), _tile_of(mx + hx, tiles)
    y0, y1 = _tile_of(my - hy, tiles), _tile_of(my + hy, tiles)
    across = x1 - x0 + 1
    owner, position = _ranges(torch.zeros_like(across), across * (y1 - y0 + 1))
    row, col = torch.div(position, across[owner], rounding_mode="floor"), position % across[owner]
    return index[owner], (y0[owner] + row) * tiles + x0[owner] + col


def _tiles_per_axis(factors: torch.Tensor, cutoff: float) -> int:
    """Tiles per axis: the tile side near the median cut-off box (empty tiles cost one counter each)."""
    if not len(factors):
        return 1
    with torch.no_grad():
        hx, hy = half_extents(factors, cutoff)
        side = float(torch.nan_to_num(2 * torch.maximum(hx, hy), nan=2.0).median().clamp(min=2.0 / MAX_TILES))
    return int(max(1, min(MAX_TILES, round(2.0 / side))))


def splat_points(means: torch.Tensor, factors: torch.Tensor, colours: torch.Tensor, points: torch.Tensor,
                 cutoff: float = 3.0, max_pairs: int = MAX_PAIRS) -> torch.Tensor:
    """The Gaussians summed at ``points`` [M, 2]: [M, C]. ``means`` [N, 2] (coordinates in [-1, 1] where the
    points are), ``factors`` [N, 3] = (a, b, c) of L = [[a, 0], [b, c]] with a, c > 0, ``colours`` [N, C]."""
    tiles = _tiles_per_axis(factors, cutoff)
    with torch.no_grad():
        tile = _tile_of(points[:, 1].detach(), tiles) * tiles + _tile_of(points[:, 0].detach(), tiles)
        by_tile = torch.argsort(tile)
        in_tile = torch.bincount(tile, minlength=tiles * tiles)
        tile_first = torch.cumsum(in_tile, 0) - in_tile
        owners, pair_tiles = _gaussian_tiles(means.detach(), factors.detach(), cutoff, tiles)
        sizes = in_tile[pair_tiles]
        ends = torch.cumsum(sizes, 0)
    out = colours.new_zeros(len(points), colours.shape[1])
    begin, done = 0, 0
    while True:  # chunks of (Gaussian, tile) pairs holding at most max_pairs points (at least one pair)
        end = int(torch.searchsorted(ends, done + max_pairs, right=True)) if len(ends) else 0
        end = min(len(ends), max(end, begin + 1))
        out = out.index_add(0, *_chunk(means, factors, colours, points, cutoff, owners[begin:end],
                                       tile_first[pair_tiles[begin:end]], sizes[begin:end], by_tile))
        if end >= len(ends):
            return out
        begin, done = end, int(ends[end - 1])


def _chunk(means, factors, colours, points, cutoff, owners, firsts, sizes, by_tile
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """(point index, contribution [P, C]) of the pairs of one chunk that lie within the cut-off."""
    with torch.no_grad():
        pair, position = _ranges(firsts, sizes)
        gaussian, point = owners[pair], by_tile[position]
        d = points[point].detach() - means[gaussian].detach()
        a, b, c = factors[gaussian].detach().unbind(-1)
        u, v = offsets_to_uv(d[:, 0], d[:, 1], a, b, c)
        keep = torch.nonzero(u * u + v * v <= cutoff * cutoff).squeeze(1)
        gaussian, point = gaussian[keep], point[keep]
    d = points.index_select(0, point) - means.index_select(0, gaussian)
    a, b, c = factors.index_select(0, gaussian).unbind(-1)
    u, v = offsets_to_uv(d[:, 0], d[:, 1], a, b, c)
    w = weights(u * u + v * v, cutoff)
    return point, w.unsqueeze(1) * colours.index_select(0, gaussian)
