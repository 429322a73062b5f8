"""Drawing 2-D Gaussians: the window renderer (whole grids) and the tile renderer (any points) against a dense
reference that evaluates every Gaussian at every point with an explicit inverse covariance; values and
gradients (the window renderer's closed-form backward against autograd of the reference)."""

from __future__ import annotations

import pytest
import torch

from nstr.render.image_grid import grid_indices, grid_shape, pixel_centres
from nstr.render.splat_grid import WINDOW_SIZES, plan_windows, splat_grid
from nstr.render.splat_points import splat_points

CUTOFF = 3.0
HEIGHT, WIDTH = 23, 31  # not square, so x and y cannot be swapped unnoticed


def dense_reference(means, factors, colours, points, cutoff=CUTOFF):
    """sum_i c_i exp(-d^T Sigma_i^-1 d / 2) [d^T Sigma_i^-1 d <= r^2], Sigma = L L^T, every pair evaluated."""
    a, b, c = factors.unbind(-1)
    zero = torch.zeros_like(a)
    chol = torch.stack([torch.stack([a, zero], -1), torch.stack([b, c], -1)], -2)  # [N, 2, 2] lower triangular
    precision = torch.linalg.inv(chol @ chol.transpose(1, 2))
    d = points[:, None, :] - means[None, :, :]  # [M, N, 2]
    q = torch.einsum("mni,nij,mnj->mn", d, precision, d)
    w = torch.where(q <= cutoff**2, torch.exp(-0.5 * q), torch.zeros_like(q))
    return w @ colours


def assert_close(got, expected, atol, rtol, msg=""):
    """|got - expected| <= atol + rtol |expected| everywhere (torch.testing's version imports torch.distributed,
    which takes seconds)."""
    error = (got - expected).abs() - rtol * expected.abs()
    assert got.shape == expected.shape and float(error.max()) <= atol, f"{msg}: off by {float(error.max()):.3g}"


def gaussians(n=60, channels=3, dtype=torch.float64, seed=0):
    """A mix that exercises every case: small and large, round and thin and tilted, inside, across the border and
    outside the image, a few larger than the image itself, some too small to cover any pixel centre."""
    g = torch.Generator().manual_seed(seed)
    means = torch.rand(n, 2, generator=g, dtype=dtype) * 2.6 - 1.3
    scale = torch.exp(torch.rand(n, generator=g, dtype=dtype) * 5 - 5.5)  # 0.004 .. 0.6 in [-1, 1] units
    scale[:3] = torch.tensor([1.5, 2.5, 0.001], dtype=dtype)  # wider than the image; far below a pixel
    a = scale * torch.exp(torch.randn(n, generator=g, dtype=dtype) * 0.5)
    c = scale * torch.exp(torch.randn(n, generator=g, dtype=dtype) * 0.5)
    b = scale * torch.randn(n, generator=g, dtype=dtype)
    colours = torch.randn(n, channels, generator=g, dtype=dtype)
    return means, torch.stack([a, b, c], dim=1), colours


def _grads(render, means, factors, colours, weights, *extra):
    inputs = [t.clone().requires_grad_(True) for t in (means, factors, colours, *extra)]
    out = render(*inputs)
    (out * weights).sum().backward()
    return out.detach(), [t.grad for t in inputs]


def test_the_test_gaussians_need_several_window_sizes_and_padding():
    means, factors, _ = gaussians()
    windows = plan_windows(means, factors, HEIGHT, WIDTH, CUTOFF)
    assert len(windows.sides) >= 5 and max(windows.pad) > 0  # the widest window is wider than the image is high
    assert 0 < len(windows.order) < len(means)  # some Gaussians miss every pixel centre and are left out
    assert WINDOW_SIZES[:32] == list(range(1, 33)) and WINDOW_SIZES[32:34] == [36, 40]


def test_grid_renderer_values_and_gradients_match_the_dense_reference():
    means, factors, colours = gaussians()
    points = pixel_centres(HEIGHT, WIDTH, dtype=torch.float64)
    weights = torch.randn(HEIGHT * WIDTH, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    expected, expected_grads = _grads(lambda m, f, c: dense_reference(m, f, c, points), means, factors, colours,
                                      weights)
    got, got_grads = _grads(lambda m, f, c: splat_grid(m, f, c, HEIGHT, WIDTH, CUTOFF), means, factors, colours,
                            weights)
    assert expected.abs().max() > 0.5  # the image is not empty
    assert_close(got, expected, atol=1e-5, rtol=0)
    for name, mine, theirs in zip(("means", "factors", "colours"), got_grads, expected_grads, strict=True):
        assert theirs.abs().max() > 0, name
        assert_close(mine, theirs, atol=1e-5, rtol=1e-5, msg=name)


def test_grid_renderer_in_float32_matches_the_reference_to_1e5():
    means, factors, colours = gaussians(dtype=torch.float32, seed=2, channels=1)
    points = pixel_centres(HEIGHT, WIDTH)
    expected = dense_reference(means.double(), factors.double(), colours.double(), points.double()).float()
    assert_close(splat_grid(means, factors, colours, HEIGHT, WIDTH, CUTOFF), expected, atol=1e-5,
                               rtol=0)


def test_point_renderer_values_and_gradients_match_the_reference_at_any_points():
    means, factors, colours = gaussians(seed=3)
    g = torch.Generator().manual_seed(4)
    points = torch.rand(500, 2, generator=g, dtype=torch.float64) * 2.4 - 1.2  # inside and outside [-1, 1]^2
    weights = torch.randn(500, 3, generator=g, dtype=torch.float64)
    expected, expected_grads = _grads(dense_reference, means, factors, colours, weights, points)
    # A small chunk size, so that the chunking is exercised too.
    got, got_grads = _grads(lambda m, f, c, p: splat_points(m, f, c, p, CUTOFF, max_pairs=2000), means, factors,
                            colours, weights, points)
    assert_close(got, expected, atol=1e-5, rtol=0)
    for name, mine, theirs in zip(("means", "factors", "colours", "points"), got_grads, expected_grads,
                                  strict=True):
        assert theirs.abs().max() > 0, name
        assert_close(mine, theirs, atol=1e-5, rtol=1e-5, msg=name)


def test_point_renderer_is_twice_differentiable_in_the_points():
    means, factors, colours = gaussians(n=12, seed=5)
    factors = factors.abs() + 0.2  # broad Gaussians: the points stay far inside the cut-offs
    x = torch.tensor([[0.1, -0.2], [-0.3, 0.4]], dtype=torch.float64, requires_grad=True)

    def first(points):
        return torch.autograd.grad(splat_points(means, factors, colours, points).sum(), points, create_graph=True)[0]

    assert torch.autograd.gradcheck(first, (x,), eps=1e-6, atol=1e-6)


def test_renderers_agree_on_a_grid_and_handle_no_gaussian_at_all():
    means, factors, colours = gaussians(dtype=torch.float32, seed=6)
    points = pixel_centres(HEIGHT, WIDTH)
    assert_close(splat_points(means, factors, colours, points),
                               splat_grid(means, factors, colours, HEIGHT, WIDTH), atol=1e-5, rtol=0)
    none = (means[:0].requires_grad_(), factors[:0], colours[:0])
    for out in (splat_grid(*none, HEIGHT, WIDTH), splat_points(*none, points)):
        assert out.shape == (HEIGHT * WIDTH, 3) and not out.any() and out.requires_grad


def test_renderers_follow_the_callers_device():
    means, factors, colours = gaussians(n=20, dtype=torch.float32)
    points = torch.rand(50, 2) * 2 - 1
    with torch.device("meta"):  # a tensor made without the inputs' device would land on meta and fail here
        drawn = splat_grid(means, factors, colours, 9, 7)
        evaluated = splat_points(means, factors, colours, points)
    assert drawn.device.type == evaluated.device.type == "cpu"
    assert torch.isfinite(drawn).all() and torch.isfinite(evaluated).all()


def test_grid_recognition():
    assert grid_shape(pixel_centres(5, 7)) == (5, 7)
    assert grid_shape(pixel_centres(5, 7, dtype=torch.float64)) == (5, 7)
    grid = pixel_centres(6, 4)
    assert grid_shape(grid.flip(0)) is None and grid_shape(grid[:-4]) is None
    assert grid_shape(torch.rand(24, 2)) is None and grid_shape(grid + 1e-3) is None
    assert grid_shape(torch.full((24, 2), -1.0)) is None  # the first point gives no size
    subset = torch.tensor([3, 0, 17, 9])
    assert torch.equal(grid_indices(grid[subset], 6, 4), subset)
    assert grid_indices(grid[subset] + 0.01, 6, 4) is None and grid_indices(grid, 6, 5) is None


@pytest.mark.parametrize("height,width", [(1, 1), (2, 3)])
def test_tiny_images(height, width):
    means, factors, colours = gaussians(n=10, seed=7)
    points = pixel_centres(height, width, dtype=torch.float64)
    assert_close(splat_grid(means, factors, colours, height, width),
                               dense_reference(means, factors, colours, points), atol=1e-5, rtol=0)
