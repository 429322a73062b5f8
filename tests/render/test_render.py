"""Rendering functions against hand-computed cases: cameras, box clipping, samplers, compositing weights."""

from __future__ import annotations

import math

import pytest
import torch

from nstr.nn.sh import spherical_harmonics, trunc_exp
from nstr.nn.tensorf import VMFactors
from nstr.render.cameras import camera_rays, focal_from_fov, look_at, orbit_poses
from nstr.render.compositing import composite, render_rays, render_weights
from nstr.render.occupancy import OccupancyGrid
from nstr.render.samplers import Samples, importance_edges, march, ray_box, stratified_edges


def test_focal_from_field_of_view():
    # 90 degrees across 200 pixels: the image edge is at 45 degrees, so f = 100.
    assert focal_from_fov(200, math.pi / 2) == pytest.approx(100.0)


def test_identity_camera_rays_by_hand():
    origins, directions = camera_rays(torch.eye(4), 2, 2, focal=1.0)
    # Pixel (row 0, col 0) centre (0.5, 0.5): camera direction (-0.5, +0.5, -1) (left, up, forward).
    expected = torch.tensor([-0.5, 0.5, -1.0]) / math.sqrt(1.5)
    assert torch.allclose(directions[0, 0], expected, atol=1e-6)
    assert torch.allclose(directions[1, 1], torch.tensor([0.5, -0.5, -1.0]) / math.sqrt(1.5), atol=1e-6)
    assert torch.allclose(directions.norm(dim=-1), torch.ones(2, 2))
    assert torch.equal(origins, torch.zeros(2, 2, 3))


def test_translated_rotated_camera_by_hand():
    # Camera at (0, -4, 0) looking at the origin with +z up: camera -z is world +y, camera +x world +x.
    c2w = look_at(torch.tensor([0.0, -4.0, 0.0]), torch.zeros(3), torch.tensor([0.0, 0.0, 1.0]))
    assert torch.allclose(c2w[:3, :3], torch.tensor([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]]), atol=1e-6)
    origins, directions = camera_rays(c2w, 3, 3, focal=2.0)
    assert torch.allclose(origins[1, 1], torch.tensor([0.0, -4.0, 0.0]))
    assert torch.allclose(directions[1, 1], torch.tensor([0.0, 1.0, 0.0]), atol=1e-6)  # centre pixel
    # Top-left pixel centre (0.5, 0.5) of 3x3 with f = 2: camera (-0.5, 0.5, -1) -> world (-0.5, 1, 0.5).
    assert torch.allclose(directions[0, 0], torch.tensor([-0.5, 1.0, 0.5]) / math.sqrt(1.5), atol=1e-6)


def test_orbit_poses_keep_distance_and_look_at_the_origin():
    eyes = torch.tensor([[4.0, 0, 2], [0, 4.0, 2], [-4.0, 0, 2]])
    c2w = torch.stack([look_at(e, torch.zeros(3), torch.tensor([0.0, 0, 1])) for e in eyes])
    poses = orbit_poses(c2w, 8)
    assert poses.shape == (8, 4, 4)
    assert torch.allclose(poses[:, :3, 3].norm(dim=1), torch.full((8,), math.sqrt(20.0)), atol=1e-5)
    assert torch.allclose(poses[:, 2, 3], torch.full((8,), 2.0), atol=1e-5)  # same elevation
    # Each camera's -z axis points from its centre to the origin.
    forward = -poses[:, :3, 2]
    assert torch.allclose(forward, -poses[:, :3, 3] / poses[:, :3, 3].norm(dim=1, keepdim=True), atol=1e-5)


def test_ray_box_by_hand():
    origins = torch.tensor([[-3.0, 0, 0], [-3.0, 5, 0], [0.0, 0, 0]])
    directions = torch.tensor([[1.0, 0, 0], [1.0, 0, 0], [0.0, 0, 1]])
    near, far = ray_box(origins, directions, bound=1.0)
    assert torch.allclose(near, torch.tensor([2.0, near[1].item(), 0.0]))
    assert torch.allclose(far, torch.tensor([4.0, near[1].item(), 1.0]))
    assert near[1] == far[1]  # a miss: empty interval


def test_stratified_edges_stay_in_their_strata():
    near, far = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 6.0])
    regular = stratified_edges(near, far, 4)
    assert torch.allclose(regular[0], torch.tensor([1.0, 1.5, 2.0, 2.5, 3.0]))
    jittered = stratified_edges(near, far, 4, torch.Generator().manual_seed(0))
    width = ((far - near) / 4)[:, None]
    assert torch.all(jittered[:, 0] == near) and torch.all(jittered[:, -1] == far)
    assert torch.all((jittered - regular).abs() <= width / 2 + 1e-6)
    assert torch.all(jittered.diff(dim=1) >= 0)


def test_render_weights_hand_case_and_per_ray_reset():
    sigma = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64)
    start = torch.tensor([0.0, 0.5, 0.75, 0.0], dtype=torch.float64)
    end = torch.tensor([0.5, 0.75, 1.75, 0.1], dtype=torch.float64)
    samples = Samples(torch.tensor([0, 0, 0, 1]), start, end, n_rays=2)
    weights, transmittance = render_weights(sigma, samples)
    # Ray 0: optical depths 0.5, 0.5, 0.5; T = 1, e^-0.5, e^-1; alpha = 1 - e^-0.5 each. Ray 1 starts afresh.
    a = 1 - math.exp(-0.5)
    expected_t = torch.tensor([1.0, math.exp(-0.5), math.exp(-1.0), 1.0], dtype=torch.float64)
    expected_w = expected_t * torch.tensor([a, a, a, 1 - math.exp(-0.3)], dtype=torch.float64)
    assert torch.allclose(transmittance, expected_t, atol=1e-12)
    assert torch.allclose(weights, expected_w, atol=1e-12)


def test_an_overflowing_density_stays_in_its_ray():
    start, end = torch.tensor([0.0, 1.0, 0.0, 1.0]), torch.tensor([1.0, 2.0, 1.0, 2.0])
    samples = Samples(torch.tensor([0, 0, 1, 1]), start, end, n_rays=2)
    weights, transmittance = render_weights(torch.tensor([math.inf, 1.0, 1.0, 1.0]), samples)
    assert torch.isfinite(weights).all() and weights[0] == 1.0 and weights[1] == 0.0
    assert torch.allclose(weights[2:], torch.tensor([1 - math.exp(-1.0), math.exp(-1.0) * (1 - math.exp(-1.0))]))


def test_render_weights_gradient_matches_finite_differences():
    samples = Samples(torch.tensor([0, 0, 1, 1, 1]), torch.tensor([0.0, 0.2, 0.0, 0.3, 0.5], dtype=torch.float64),
                      torch.tensor([0.2, 0.5, 0.3, 0.5, 0.9], dtype=torch.float64), n_rays=2)
    sigma = torch.tensor([0.7, 1.3, 2.0, 0.1, 4.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: render_weights(s, samples)[0], (sigma,))


def test_composite_opaque_and_empty_rays():
    samples = Samples(torch.tensor([0, 0]), torch.tensor([1.0, 2.0]), torch.tensor([2.0, 3.0]), n_rays=2)
    sigma = torch.tensor([1e4, 1.0])  # the first sample is opaque
    rgb = torch.tensor([[0.2, 0.4, 0.6], [1.0, 0.0, 0.0]])
    out = composite(sigma, rgb, samples, background=torch.ones(3))
    assert torch.allclose(out["rgb"][0], rgb[0], atol=1e-5)
    assert out["opacity"][0] == pytest.approx(1.0) and out["depth"][0] == pytest.approx(1.5)
    assert torch.equal(out["rgb"][1], torch.ones(3)) and out["opacity"][1] == 0  # no samples: background


def test_march_covers_the_interval_and_skips_rejected_cells():
    origins, directions = torch.tensor([[-2.0, 0, 0]]), torch.tensor([[1.0, 0, 0]])
    near, far = ray_box(origins, directions, 1.0)
    samples = march(origins, directions, near, far, step=0.25)
    assert len(samples) == 8
    assert torch.allclose(samples.t_start, torch.arange(8) * 0.25 + 1.0)
    kept = march(origins, directions, near, far, 0.25, occupied=lambda p: p[:, 0] > 0)
    points, _ = kept.points(origins, directions)
    assert len(kept) == 4 and torch.all(points[:, 0] > 0)
    jittered = march(origins, directions, near, far, 0.25, generator=torch.Generator().manual_seed(1))
    assert torch.all(jittered.t_start >= near) and torch.all(jittered.t_end <= far + 1e-6)


def test_importance_edges_follow_the_weights():
    edges = torch.linspace(0.0, 4.0, 5)[None]  # intervals [0,1], [1,2], [2,3], [3,4]
    uniform = importance_edges(edges, torch.ones(1, 4), 8)
    assert torch.allclose(uniform, torch.linspace(0.0, 4.0, 9)[None], atol=1e-3)
    peaked = importance_edges(edges, torch.tensor([[0.0, 0.0, 1.0, 0.0]]), 64, torch.Generator().manual_seed(0))
    inside = ((peaked >= 2.0) & (peaked <= 3.0)).float().mean()
    assert inside > 0.95 and torch.all(peaked.diff(dim=1) >= 0)


def test_importance_edges_reach_each_rays_near_and_far():
    # Two rays: [0, 4] in four unit intervals and [1, 9] in intervals of 1, 1, 2, 4, all weight on one interval.
    edges = torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0, 9.0]])
    weights = torch.tensor([[0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    for generator in (None, torch.Generator().manual_seed(0), torch.Generator().manual_seed(5)):
        new = importance_edges(edges, weights, 16, generator)
        assert new.shape == (2, 17)
        assert torch.equal(new[:, 0], torch.tensor([0.0, 1.0]))  # near, exactly
        assert torch.equal(new[:, -1], torch.tensor([4.0, 9.0]))  # far, exactly
        assert torch.all(new.diff(dim=1) >= 0)


def test_importance_sampler_renders_a_uniform_fog_exactly():
    """Constant density 0.5 over the ray's 2 units inside the box: opacity 1 - e^-1 whatever the samples, if and
    only if the intervals tile [near, far] (a jittered sampler that stops short of the ends renders less)."""
    origins = torch.tensor([[-3.0, 0.0, 0.0], [0.0, -3.0, 0.0]])
    directions = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])

    def density(x):
        return torch.full((x.shape[0],), 0.5)

    def field(x, d):
        return density(x), torch.full((x.shape[0], 3), 0.25)

    expected = 1 - math.exp(-1.0)
    for seed in range(5):
        out = render_rays(field, origins, directions, bound=1.0, step=0.1, background=torch.ones(3),
                          sampler="importance", coarse=8, fine=4, density=density,
                          generator=torch.Generator().manual_seed(seed))
        torch.testing.assert_close(out["opacity"], torch.full((2,), expected), rtol=0, atol=1e-6)
        torch.testing.assert_close(out["rgb"], (0.25 * expected + (1 - expected)) * torch.ones(2, 3),
                                   rtol=0, atol=1e-6)


def test_occupancy_grid_marks_a_sphere():
    grid = OccupancyGrid(resolution=16, bound=1.0)
    assert grid.occupied(torch.zeros(1, 3), step=0.1).all()  # nothing measured yet: all occupied
    sphere = lambda x: torch.where(x.norm(dim=1) < 0.5, 100.0, 0.0)  # noqa: E731
    grid.update(sphere)
    inside = torch.tensor([[0.0, 0.0, 0.0], [0.2, 0.1, -0.1]])
    outside = torch.tensor([[0.9, 0.9, 0.9], [-0.9, 0.0, 0.0], [0.0, 2.0, 0.0]])
    assert grid.occupied(inside, 0.1).all() and not grid.occupied(outside, 0.1).any()
    assert 0.02 < grid.occupied_fraction(0.1) < 0.2  # sphere volume / box = 0.065
    flat = OccupancyGrid(resolution=4, bound=1.0)
    flat.update(lambda x: torch.full((len(x),), 1e-3))  # uniform and thin: never an empty grid
    assert flat.occupied_fraction(0.1) == 1.0


def test_spherical_harmonics_are_orthonormal():
    d = torch.nn.functional.normalize(torch.randn(400_000, 3, generator=torch.Generator().manual_seed(0),
                                                  dtype=torch.float64), dim=1)
    y = spherical_harmonics(d)
    gram = 4 * math.pi * (y.T @ y) / len(d)
    assert torch.allclose(gram, torch.eye(16, dtype=torch.float64), atol=0.02)


def test_trunc_exp_gradient_is_clamped():
    x = torch.tensor([1.0, 20.0], requires_grad=True)
    trunc_exp(x).sum().backward()
    assert torch.allclose(x.grad, torch.tensor([math.e, math.exp(15.0)]))


def test_vm_factors_interpolate_planes_times_lines():
    factors = VMFactors(resolution=3, components=1)
    with torch.no_grad():
        factors.planes.fill_(2.0)
        factors.lines.copy_(torch.tensor([0.0, 1.0, 2.0]).view(1, 1, 3, 1).expand(3, 1, 3, 1))
    x = torch.tensor([[0.5, -0.5, 0.25]])
    # Lines run along z, y, x for the three modes: value = 2 * (coordinate + 1) (linear, 0..2 over [-1, 1]).
    out = factors(x)[:, 0, 0]
    assert torch.allclose(out, 2.0 * torch.tensor([1.25, 0.5, 1.5]), atol=1e-6)
