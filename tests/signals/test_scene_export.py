"""Radiance-field export: a mesh of the density field (checked against the analytic scene's exact surface),
depth maps in scene units, camera paths (nstr's format and nerfstudio's), and ``nstr render``'s one-line
errors and overwrite rule."""

from __future__ import annotations

import json
import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
import trimesh

from nstr.cli.main import main
from nstr.core.errors import NstrError
from nstr.render.cameras import look_at_numpy, orbit_poses, orbit_position
from nstr.signals.scene.blender import load_blender
from nstr.signals.scene.export import density_mesh, model_mesh
from nstr.signals.scene.make import SCENE, make_scene
from nstr.signals.scene.paths import read_camera_path
from nstr.signals.scene.views import depth_map, render_views
from nstr.train.runs import load

BOUND, RESOLUTION, THRESHOLD = 1.5, 64, 10.0
CELL = 2 * BOUND / (RESOLUTION - 1)
RAMP = 0.1  # the test density falls from 2 T to 0 across this width around the surface: linear where marched
#: The generated scene's objects (analytic.py): their union's bounding box and volume (they do not overlap).
LOW, HIGH = np.array([-0.95, -0.95, -0.6]), np.array([1.05, 0.85, 0.8])
VOLUME = 4 / 3 * math.pi * 0.55**3 + 0.7 * 0.8 * 0.7 + math.pi * 0.35**2 * 1.4


def _sdf(points: np.ndarray) -> np.ndarray:
    return np.min([shape.distance(points) for shape in SCENE.objects], axis=0)


def _density(points: torch.Tensor) -> torch.Tensor:
    """2 T inside, 0 outside, linear in the signed distance across the surface: it crosses T exactly on it."""
    return torch.from_numpy(np.clip(0.5 - _sdf(points.double().numpy()) / RAMP, 0, 1) * 2 * THRESHOLD).float()


def _view_colour(points: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    return (directions + 1) / 2  # the view direction as a colour: shows which direction each vertex was seen from


@pytest.fixture(scope="module")
def analytic_mesh():
    return density_mesh(_density, _view_colour, BOUND, RESOLUTION, THRESHOLD)


def test_density_mesh_lies_on_the_analytic_surface(analytic_mesh):
    v, f = analytic_mesh.vertices, analytic_mesh.faces
    error = np.abs(_sdf(v))
    assert error.max() < 0.5 * CELL and np.median(error) < 0.05 * CELL, (error.max() / CELL, np.median(error) / CELL)
    assert np.allclose(v.min(axis=0), LOW, atol=0.5 * CELL) and np.allclose(v.max(axis=0), HIGH, atol=0.5 * CELL)
    volume = float(np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum() / 6)
    assert volume == pytest.approx(VOLUME, rel=0.03)  # positive: the faces point out of the dense region


def test_vertices_are_coloured_as_seen_along_minus_the_normal(analytic_mesh):
    sphere = SCENE.objects[0]
    v = analytic_mesh.vertices
    others = np.min([shape.distance(v) for shape in SCENE.objects[1:]], axis=0)
    on_sphere = (np.abs(sphere.distance(v)) < 0.01) & (others > 0.2)
    assert on_sphere.sum() > 500
    seen_along = analytic_mesh.colours[on_sphere].astype(np.float64) / 255 * 2 - 1
    outward = (v[on_sphere] - np.asarray(sphere.centre)) / sphere.radius
    cosine = -(seen_along * outward).sum(axis=1) / np.linalg.norm(seen_along, axis=1)
    assert np.median(cosine) > 0.995 and cosine.min() > 0.95, (np.median(cosine), cosine.min())


def test_a_density_that_never_crosses_the_threshold_is_one_line():
    with pytest.raises(NstrError, match="never crosses --threshold 10") as info:
        density_mesh(lambda p: torch.full(p.shape[:1], 3.0), _view_colour, BOUND, 16, THRESHOLD)
    assert "largest value on the grid is 3" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(NstrError, match="--threshold must be a positive density"):
        density_mesh(_density, _view_colour, BOUND, 16, -1.0)


# ---------------------------------------------------------------------------------------- a fitted run


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A 2-step hash-grid fit of a 16 x 16 generated scene: a real run directory for the render command."""
    root = tmp_path_factory.mktemp("export")
    scene = make_scene(root / "scene", size=16, train=4, val=2, test=2)
    out = root / "run"
    assert main(["fit", str(scene), "--model", "hashgrid", "--steps", "2", "--rays", "64", "--eval-rays", "64",
                 "--eval-every", "2", "--occupancy-res", "8", "--log2-table", "10", "--orbit-frames", "0",
                 "--out", str(out), "--quiet"]) == 0
    return out


def _views(run: Path, split: str):
    spec = json.loads((run / "config.json").read_text())["signal"]
    return load_blender(spec["source"], splits=(split,)).splits[split]


def test_fit_writes_depth_maps_in_scene_units(run):
    model, test = load(run).model, _views(run, "test")
    _, depths, opacities = render_views(model, test.c2w, 16, 16, test.focal, test.intrinsics)
    for k in range(2):
        saved = np.load(run / "test" / f"r_{k}_depth.npy")
        assert saved.dtype == np.float32 and saved.shape == (16, 16)
        assert np.array_equal(saved, depth_map(depths[k], opacities[k]))
        assert np.array_equal(saved == 0, opacities[k] < 0.5)  # 0 marks a mostly empty ray, as in depth_path files


def test_render_writes_the_depth_of_a_novel_view(run, tmp_path):
    assert main(["render", str(run), str(tmp_path / "view.npy"), "--size", "12x10"]) == 0
    train = _views(run, "train")
    _, depths, opacities = render_views(load(run).model, orbit_poses(train.c2w, 1), 10, 12, train.focal * 12 / 16)
    assert np.array_equal(np.load(tmp_path / "view.npy"), depth_map(depths[0], opacities[0]))


def _poses(n: int = 3) -> list[np.ndarray]:
    return [look_at_numpy(orbit_position(4.0, 2 * math.pi * k / n, 0.4)) for k in range(n)]


def test_camera_path_renders_every_pose(run, tmp_path):
    path = tmp_path / "path.json"
    path.write_text(json.dumps({"fov": 40.0, "width": 12, "height": 10, "fps": 10,
                                "poses": [p.tolist() for p in _poses()]}))
    assert main(["render", str(run), str(path), str(tmp_path / "depth.npy")]) == 0
    assert main(["render", str(run), str(path), str(tmp_path / "path.gif")]) == 0
    focal = 0.5 * 10 / math.tan(math.radians(20.0))  # the vertical field of view over the 10 rows
    _, depths, opacities = render_views(load(run).model, torch.tensor(np.stack(_poses()), dtype=torch.float32),
                                        10, 12, focal)
    expected = np.stack([depth_map(d, o) for d, o in zip(depths, opacities, strict=True)])
    assert np.allclose(np.load(tmp_path / "depth.npy"), expected, atol=1e-5)
    assert iio.imread(tmp_path / "path.gif", index=None).shape[:3] == (3, 10, 12)


def test_nerfstudio_camera_path_reads_as_the_same_cameras(run, tmp_path):
    nstr_path, ns_path = tmp_path / "path.json", tmp_path / "camera_path.json"
    nstr_path.write_text(json.dumps({"fov": 50.0, "poses": [p.tolist() for p in _poses()]}))
    ns_path.write_text(json.dumps({"camera_type": "perspective", "render_width": 12, "render_height": 10, "fps": 24,
                                   "seconds": 1, "camera_path": [{"camera_to_world": p.reshape(-1).tolist(),
                                                                  "fov": 50.0, "aspect": 1.2} for p in _poses()]}))
    ours, theirs = read_camera_path(nstr_path), read_camera_path(ns_path)
    assert np.array_equal(ours.poses, theirs.poses) and (theirs.width, theirs.height, theirs.fps) == (12, 10, 24)
    assert np.allclose(theirs.focals(10, 12), 0.5 * 10 / math.tan(math.radians(25.0)))
    assert np.allclose(ours.focals(10, 12), theirs.focals(10, 12))
    assert main(["render", str(run), str(nstr_path), str(tmp_path / "a.npy"), "--size", "12x10"]) == 0
    assert main(["render", str(run), str(ns_path), str(tmp_path / "b.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


BAD_PATHS = {
    "not-json": ("{poses", "not readable JSON"),
    "not-object": ("[1, 2]", "must hold a JSON object"),
    "no-poses": ('{"fov": 40}', "has no poses"),
    "pose-3x4": ('{"fov": 40, "poses": [[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]]}', "pose 0 is not a 4x4"),
    "pose-singular": ('{"fov": 40, "poses": [[[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]]}',
                      "pose 0 rotation part is singular"),
    "no-fov": ('{"poses": [[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 4], [0, 0, 0, 1]]]}', "has no field of view"),
    "wide-fov": ('{"fov": 200, "poses": [[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 4], [0, 0, 0, 1]]]}', "fov 200"),
    "bad-width": ('{"fov": 40, "width": 0, "poses": [[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 4], [0, 0, 0, 1]]]}',
                  "width 0"),
    "fisheye": ('{"camera_type": "fisheye", "camera_path": []}', "camera_type 'fisheye'"),
    "ns-no-fov": ('{"camera_path": [{"camera_to_world": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 4, 0, 0, 0, 1]}]}',
                  "camera 0 needs camera_to_world and fov"),
}


@pytest.mark.parametrize("case", list(BAD_PATHS))
def test_bad_camera_path_is_a_one_line_error_naming_the_file(tmp_path, case):
    text, words = BAD_PATHS[case]
    path = tmp_path / "path.json"
    path.write_text(text)
    with pytest.raises(NstrError) as info:
        read_camera_path(path)
    message = str(info.value)
    assert str(path) in message and words in message and "\n" not in message, message


def test_render_errors_are_one_line_and_write_nothing(run, tmp_path, capsys):
    path = tmp_path / "path.json"
    path.write_text('{"fov": 40}')
    cases = [
        ([str(path), str(tmp_path / "o.mp4")], "has no poses"),
        ([str(tmp_path / "missing.json"), str(tmp_path / "o.mp4")], "not found"),
        ([str(path), str(tmp_path / "o.ply")], "a camera path renders views"),
        ([str(path), str(tmp_path / "o.png")], "must end in .gif or .mp4 (a video) or .npy"),
        ([str(tmp_path / "o.ply"), "--threshold", "1e9", "--resolution", "16"], "never crosses --threshold"),
        ([str(tmp_path / "o.txt")], "must end in .gif or .mp4 (an orbit)"),
        ([str(path), str(tmp_path / "o.mp4"), str(tmp_path / "p.mp4")], "not 4 paths"),
    ]
    for args, words in cases:
        assert main(["render", str(run), *args]) == 2, args
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["path.json"]


def _crossed(run: Path) -> str:
    """A density threshold the fitted field surely crosses inside its box: the median at random points."""
    model = load(run).model
    with torch.no_grad():
        grid = torch.rand(4096, 3, generator=torch.Generator().manual_seed(0)) * 2 * BOUND - BOUND
        return repr(float(model.density(grid).median()))


def test_render_never_replaces_an_existing_file_without_overwrite(run, tmp_path, capsys):
    target, mesh = tmp_path / "mesh.ply", ["--resolution", "16", "--threshold", _crossed(run)]
    target.write_bytes(b"earlier result")
    assert main(["render", str(run), str(target), *mesh]) == 2
    assert "already exists" in capsys.readouterr().err and target.read_bytes() == b"earlier result"
    assert main(["render", str(run), str(target), *mesh, "--overwrite"]) == 0
    assert target.read_bytes() != b"earlier result"


def test_mesh_of_a_fitted_run_matches_the_library_and_keeps_its_colours(run, tmp_path):
    model, threshold = load(run).model, _crossed(run)
    assert main(["render", str(run), str(tmp_path / "m.ply"), "--resolution", "16", "--threshold", threshold]) == 0
    written = trimesh.load(tmp_path / "m.ply", process=False)
    expected = model_mesh(model, 16, float(threshold))
    assert np.allclose(written.vertices, expected.vertices, atol=1e-6)
    assert np.array_equal(written.faces, expected.faces)
    assert np.array_equal(np.asarray(written.visual.vertex_colors)[:, :3], expected.colours)
    assert np.abs(written.vertices).max() <= model.config.bound + 1e-6
