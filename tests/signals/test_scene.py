"""Scenes: the analytic generator agrees with the renderer's camera convention, the Blender-format loader
reads it back exactly, and every bad input is a one-line error naming the file."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from click.testing import CliRunner

import nstr.signals.scene.make as make_module
import nstr.signals.scene.signal as signal_module
from nstr.cli.scene import scene_command
from nstr.core.errors import NstrError
from nstr.core.png import encode_png
from nstr.render.cameras import camera_rays, focal_from_fov, orbit_position
from nstr.render.cameras import look_at_numpy as look_at
from nstr.signals.scene.analytic import Box, Cylinder, Sphere
from nstr.signals.scene.blender import BlenderScene, Views, load_blender
from nstr.signals.scene.make import SCENE, make_scene, render_view
from nstr.signals.scene.staging import made_once

SIZE, COUNTS = 16, {"train": 4, "val": 2, "test": 2}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A 16x16 generated scene with 4/2/2 views, made once; tests that corrupt it work on a copy."""
    return make_scene(tmp_path_factory.mktemp("scenes") / "tiny", size=SIZE, **COUNTS)


@pytest.fixture
def scene_copy(tiny, tmp_path) -> Path:
    return Path(shutil.copytree(tiny, tmp_path / "scene"))


def _meta(root: Path, split: str) -> dict:
    return json.loads((root / f"transforms_{split}.json").read_text())


def _disk_views(root: Path):
    """(c2w, depth, rgba uint8, camera_angle_x) of every view, straight from the files (no loader)."""
    for split in COUNTS:
        meta = _meta(root, split)
        for frame in meta["frames"]:
            yield (torch.tensor(frame["transform_matrix"]), np.load(root / frame["depth_path"]),
                   iio.imread(root / (frame["file_path"] + ".png")), meta["camera_angle_x"])


def _rays(c2w: torch.Tensor, angle: float, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    origins, directions = camera_rays(c2w, size, size, focal_from_fov(size, angle))
    return origins.numpy().astype(np.float64), directions.numpy().astype(np.float64)


# ----------------------------------------------------------------------------------------------- generator


def test_depth_follows_the_renderer_camera_convention(tiny):
    sphere = SCENE.objects[0]
    assert isinstance(sphere, Sphere)
    centre, on_sphere = np.asarray(sphere.centre), 0
    for c2w, depth, _, angle in _disk_views(tiny):
        assert depth.dtype == np.float32 and depth.shape == (SIZE, SIZE)
        origins, directions = _rays(c2w, angle)
        points = origins + depth[..., None].astype(np.float64) * directions
        hits = SCENE.cast(origins.reshape(-1, 3), directions.reshape(-1, 3))
        mine = (hits.index == 0).reshape(SIZE, SIZE)
        on_sphere += mine.sum()
        assert np.allclose(np.linalg.norm(points[mine] - centre, axis=-1), sphere.radius, atol=1e-4)
        # every covered pixel lies on some object's surface, every background ray misses them all
        covered = depth > 0
        surface = np.min([np.abs(s.distance(points[covered])) for s in SCENE.objects], axis=0)
        assert surface.max() < 1e-4
        assert np.array_equal(covered, hits.hit.reshape(SIZE, SIZE))
        # independent of SCENE.cast: where a pixel ray meets the sphere (own quadratic), depth is that
        # first root or something nearer; where it misses, the pixel is not on the sphere
        oc = origins - centre
        b = (oc * directions).sum(-1)
        disc = b**2 - ((oc * oc).sum(-1) - sphere.radius**2)
        first = -b - np.sqrt(np.maximum(disc, 0))
        meets = disc > 0
        assert (depth[meets] > 0).all() and (depth[meets] <= first[meets] + 1e-4).all()
        assert np.allclose(depth[mine], first[mine], atol=1e-4) and not (mine & ~meets).any()
    assert on_sphere > 20


def _windows(labels: np.ndarray) -> np.ndarray:
    """[9, H, W]: each pixel's 3x3 neighbourhood (padded with -1)."""
    padded = np.pad(labels, 1, constant_values=-1)
    return np.stack([padded[i:i + SIZE, j:j + SIZE] for i in range(3) for j in range(3)])


def test_alpha_is_one_inside_objects_and_zero_far_from_them(tiny):
    fractional = 0
    for c2w, depth, rgba, angle in _disk_views(tiny):
        assert rgba.shape == (SIZE, SIZE, 4) and rgba.dtype == np.uint8
        origins, directions = _rays(c2w, angle)
        index = SCENE.cast(origins.reshape(-1, 3), directions.reshape(-1, 3)).index.reshape(SIZE, SIZE)
        assert np.array_equal(index >= 0, depth > 0)
        # a convex object's silhouette is convex: if the 9 pixel centres around a pixel see the same object,
        # so do all its sub-pixel samples. (Neighbours on different objects may have background between.)
        windows = _windows(index)
        interior = (depth > 0) & (windows == index).all(axis=0)
        far = (windows == -1).all(axis=0)
        assert interior.any() and far.any()
        assert (rgba[..., 3][interior] == 255).all()
        assert (rgba[..., 3][far] == 0).all()
        fractional += ((rgba[..., 3] > 0) & (rgba[..., 3] < 255)).sum()
    assert fractional > 0, "2x2 supersampling should give fractional alphas at edges"


def test_without_supersampling_alpha_is_exactly_coverage_of_the_pixel_centre():
    c2w = look_at(orbit_position(4.0, 0.7, math.radians(25)))
    rgba, depth = render_view(c2w, 24, supersample=1)
    assert set(np.unique(rgba[..., 3])) == {0, 255}
    assert np.array_equal(rgba[..., 3] == 255, depth > 0)
    assert (rgba[..., :3][depth == 0] == 0).all()


def test_cameras_orbit_the_origin_upright(tiny):
    for split in COUNTS:
        for frame in _meta(tiny, split)["frames"]:
            c2w = np.array(frame["transform_matrix"])
            rotation, position = c2w[:3, :3], c2w[:3, 3]
            assert np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-9)
            assert np.linalg.det(rotation) == pytest.approx(1.0)
            assert np.linalg.norm(position) == pytest.approx(4.0)
            assert np.allclose(-rotation[:, 2], -position / 4.0, atol=1e-9)  # -z looks at the origin
            assert rotation[2, 1] > 0  # image up points up the world z axis
            elevation = math.degrees(math.asin(position[2] / 4.0))
            assert 10.0 - 1e-9 <= elevation <= 60.0 + 1e-9
            if split == "test":
                assert elevation == pytest.approx(30.0)


@pytest.mark.parametrize("shape", SCENE.objects, ids=lambda s: type(s).__name__)
def test_hits_lie_on_the_surface_with_unit_outward_normals(shape):
    rng = np.random.default_rng(0)
    centre, radius = shape.bounds()
    origins = np.stack([orbit_position(4.0, a, e) for a, e in zip(rng.uniform(0, 6.3, 500),
                                                                   rng.uniform(-1.4, 1.4, 500), strict=True)])
    targets = centre + rng.uniform(-0.5, 0.5, (500, 3)) * radius
    directions = (targets - origins) / np.linalg.norm(targets - origins, axis=-1, keepdims=True)
    t, normals = shape.intersect(origins, directions)
    hit = np.isfinite(t)
    assert hit.mean() > 0.5
    points = origins[hit] + t[hit, None] * directions[hit]
    assert np.abs(shape.distance(points)).max() < 1e-9
    assert np.allclose(np.linalg.norm(normals[hit], axis=-1), 1.0)
    assert ((normals[hit] * directions[hit]).sum(-1) < 0).all()
    assert (shape.distance(points + 1e-3 * normals[hit]) > 0).all()


def test_objects_stay_inside_the_scene_box():
    for shape in SCENE.objects:
        if isinstance(shape, Box):
            assert np.all(np.abs(shape.low) <= 1.2) and np.all(np.abs(shape.high) <= 1.2)
        elif isinstance(shape, Cylinder):
            assert np.hypot(*shape.centre) + shape.radius <= 1.2 and -1.2 <= shape.z_low < shape.z_high <= 1.2
        else:
            assert np.all(np.abs(shape.centre) + shape.radius <= 1.2)


def test_scene_files_and_settings(tiny):
    for split, count in COUNTS.items():
        meta = _meta(tiny, split)
        assert meta["camera_angle_x"] == pytest.approx(0.6911, abs=1e-4)
        assert [f["file_path"] for f in meta["frames"]] == [f"./{split}/r_{k}" for k in range(count)]
        assert [f["depth_path"] for f in meta["frames"]] == [f"./{split}/r_{k}_depth.npy" for k in range(count)]
    settings = json.loads((tiny / "scene.json").read_text())
    assert settings["size"] == SIZE and settings["seed"] == 0 and settings["supersample"] == 2
    assert [o["kind"] for o in settings["objects"]] == ["sphere", "box", "cylinder"]
    assert not [p.name for p in tiny.parent.iterdir() if p.name.startswith(".")]


def test_make_is_deterministic_and_seeds_only_move_random_cameras(tiny, tmp_path):
    again = make_scene(tmp_path / "again", size=SIZE, **COUNTS)
    for path in tiny.rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (again / path.relative_to(tiny)).read_bytes(), path
    other = make_scene(tmp_path / "other", size=SIZE, seed=1, **COUNTS)
    for split, same in (("train", False), ("val", False), ("test", True)):
        assert (_meta(tiny, split) == _meta(other, split)) is same
    train, val = _meta(tiny, "train")["frames"], _meta(tiny, "val")["frames"]
    assert train[0]["transform_matrix"] != val[0]["transform_matrix"]


def test_make_refuses_a_non_empty_folder_and_overwrite_replaces_it(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(NstrError, match="not empty") as info:
        make_scene(out, size=8, train=1, val=1, test=1)
    assert str(out) in str(info.value) and "\n" not in str(info.value)
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and [p.name for p in tmp_path.iterdir()] == ["busy"]
    make_scene(out, size=8, train=1, val=1, test=1, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "transforms_train.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["busy"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (make_scene(empty, size=8, train=1, val=1, test=1) / "scene.json").is_file()


@pytest.mark.parametrize("existing", [False, True])
def test_make_leaves_nothing_behind_when_it_fails(tmp_path, monkeypatch, existing):
    out = tmp_path / "scene"
    if existing:
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return render_view(*args, **kwargs)

    monkeypatch.setattr(make_module, "render_view", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        make_scene(out, size=8, train=2, val=1, test=1, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == (["scene"] if existing else [])
    if existing:
        assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("bad", [{"size": 0}, {"train": 0}, {"val": 0}, {"test": 0}, {"supersample": 0},
                                 {"size": 2.5}, {"train": True}, {"seed": -1}], ids=str)
def test_make_rejects_bad_settings_in_one_line(tmp_path, bad):
    settings = {"size": 8, "train": 1, "val": 1, "test": 1} | bad
    with pytest.raises(NstrError) as info:
        make_scene(tmp_path / "out", **settings)
    name = next(iter(bad))
    assert str(info.value).startswith(name) and "\n" not in str(info.value)
    assert not any(tmp_path.iterdir())


def test_cli_make_writes_a_scene(tmp_path):
    out = tmp_path / "cli"
    args = ["make", str(out), "--size", "8", "--train", "2", "--val", "1", "--test", "1", "--seed", "3"]
    result = CliRunner().invoke(scene_command, args)
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1 and str(out) in result.output
    scene = load_blender(out)
    assert scene.splits["train"].images.shape == (2, 8, 8, 3)
    assert json.loads((out / "scene.json").read_text())["seed"] == 3
    refused = CliRunner().invoke(scene_command, args)
    assert isinstance(refused.exception, NstrError)
    assert CliRunner().invoke(scene_command, [*args, "--overwrite"]).exit_code == 0


# -------------------------------------------------------------------------------------------------- loader


def test_loader_shapes_cameras_and_focal(tiny):
    scene = load_blender(tiny)
    assert isinstance(scene, BlenderScene) and scene.background == "white" and scene.downscale == 1
    assert list(scene.splits) == ["train", "val", "test"]
    for split, count in COUNTS.items():
        views = scene.splits[split]
        assert isinstance(views, Views)
        assert views.images.shape == (count, SIZE, SIZE, 3) and views.images.dtype == torch.float32
        assert views.alphas.shape == views.depths.shape == (count, SIZE, SIZE)
        assert views.c2w.shape == (count, 4, 4) and views.c2w.dtype == torch.float32
        assert (views.height, views.width) == (SIZE, SIZE)
        assert 0 <= views.images.min() and views.images.max() <= 1
        meta = _meta(tiny, split)
        expected = torch.tensor([f["transform_matrix"] for f in meta["frames"]], dtype=torch.float32)
        assert torch.equal(views.c2w, expected)
        assert views.focal == focal_from_fov(SIZE, meta["camera_angle_x"])
        assert views.focal == pytest.approx(0.5 * SIZE / math.tan(0.5 * 0.6911), rel=1e-4)
        assert views.files == [str(tiny / split / f"r_{k}.png") for k in range(count)]
        for k, frame in enumerate(meta["frames"]):
            rgba = iio.imread(tiny / (frame["file_path"] + ".png"))
            assert torch.equal(views.alphas[k], torch.from_numpy(rgba[..., 3] / np.float32(255)))
            assert torch.equal(views.depths[k], torch.from_numpy(np.load(tiny / frame["depth_path"])))


def test_white_and_black_backgrounds_differ_by_one_minus_alpha(tiny):
    white, black = load_blender(tiny).splits["train"], load_blender(tiny, background="black").splits["train"]
    assert torch.allclose(white.images - black.images, (1 - white.alphas)[..., None], atol=1e-6)
    rgba = iio.imread(tiny / "train" / "r_0.png") / 255.0
    assert np.allclose(black.images[0].numpy(), rgba[..., :3] * rgba[..., 3:], atol=1e-6)
    assert torch.equal(white.alphas, black.alphas)


def test_downscale_averages_premultiplied_blocks(tiny):
    full, half = load_blender(tiny).splits["train"], load_blender(tiny, downscale=2).splits["train"]
    assert half.images.shape == (4, SIZE // 2, SIZE // 2, 3) and (half.height, half.width) == (8, 8)
    assert half.focal == pytest.approx(full.focal / 2)
    rgba = iio.imread(tiny / "train" / "r_0.png") / 255.0
    depth = np.load(tiny / "train" / "r_0_depth.npy").astype(np.float64)
    blocks = rgba[..., 3].reshape(8, 2, 8, 2)
    mixed = (blocks.min(axis=(1, 3)) == 0) & (blocks.max(axis=(1, 3)) > 0)
    i, j = np.argwhere(mixed)[0]  # an edge block: some pixels empty, some covered
    block = rgba[2 * i:2 * i + 2, 2 * j:2 * j + 2]
    alpha = block[..., 3].mean()
    colour = (block[..., :3] * block[..., 3:]).mean(axis=(0, 1)) + (1 - alpha)
    assert half.alphas[0, i, j].item() == pytest.approx(alpha, abs=1e-6)
    assert np.allclose(half.images[0, i, j].numpy(), colour, atol=1e-6)
    d = depth[2 * i:2 * i + 2, 2 * j:2 * j + 2]
    assert half.depths[0, i, j].item() == pytest.approx(d[d > 0].mean() if (d > 0).any() else 0.0, abs=1e-6)
    assert ((half.depths[0] > 0) == (full.depths[0].reshape(8, 2, 8, 2) > 0).any(-1).any(1)).all()
    third = load_blender(tiny, downscale=3, splits=("val",)).splits["val"]
    assert third.images.shape == (2, 5, 5, 3) and third.focal == pytest.approx(full.focal / 3)


def test_image_variants_are_accepted(scene_copy):
    rgba = iio.imread(scene_copy / "train" / "r_0.png")
    expected = load_blender(scene_copy, splits=("train",)).splits["train"]
    (scene_copy / "train" / "r_0.png").write_bytes(encode_png(rgba.astype(np.uint16) * 257))  # 16-bit
    (scene_copy / "train" / "r_1.png").write_bytes(encode_png(rgba[..., :3]))  # no alpha: opaque
    meta = _meta(scene_copy, "train")
    meta["frames"][2]["file_path"] += ".png"  # extension already given
    del meta["frames"][3]["depth_path"]  # depth only when every frame has one
    (scene_copy / "transforms_train.json").write_text(json.dumps(meta))
    views = load_blender(scene_copy, splits=("train",)).splits["train"]
    assert torch.allclose(views.images[0], expected.images[0], atol=1e-6)
    assert torch.equal(views.alphas[1], torch.ones(SIZE, SIZE))
    assert torch.allclose(views.images[1], torch.from_numpy(rgba[..., :3] / np.float32(255)))
    assert views.files[2].endswith("r_2.png") and torch.equal(views.images[2], expected.images[2])
    assert views.depths is None


def _edit(split: str, change: Callable[[dict], None]) -> Callable[[Path], Path]:
    def corrupt(root: Path) -> Path:
        meta = _meta(root, split)
        change(meta)
        path = root / f"transforms_{split}.json"
        path.write_text(json.dumps(meta))
        return path

    return corrupt


def _matrix(change: Callable[[list], object]) -> Callable[[Path], Path]:
    return _edit("train", lambda meta: meta["frames"][1].__setitem__(
        "transform_matrix", change(meta["frames"][1]["transform_matrix"])))


def _write(relative: str, data: Callable[[Path], bytes]) -> Callable[[Path], Path]:
    def corrupt(root: Path) -> Path:
        path = root / relative
        path.write_bytes(data(path))
        return path

    return corrupt


def _unlink(relative: str) -> Callable[[Path], Path]:
    def corrupt(root: Path) -> Path:
        (root / relative).unlink()
        return root / relative

    return corrupt


def _resize_split(root: Path) -> Path:
    for path in (root / "test").glob("r_*.png"):
        path.write_bytes(encode_png(np.zeros((12, 12, 4), np.uint8)))
    return root / "test" / "r_0.png"


def _singular(m: list) -> list:
    return [[0.0, 0.0, 0.0, row[3]] for row in m[:3]] + [m[3]]


CORRUPTIONS = {
    "missing-split": (_unlink("transforms_val.json"), "transforms_{train,val,test}.json"),
    "invalid-json": (_write("transforms_train.json", lambda p: b'{"camera_angle_x": 0.69, "frames": ['), "JSON"),
    "not-an-object": (_write("transforms_test.json", lambda p: b"[1, 2]"), "object"),
    "no-angle": (_edit("train", lambda m: m.pop("camera_angle_x")), "camera_angle_x"),
    "negative-angle": (_edit("val", lambda m: m.update(camera_angle_x=-0.5)), "camera_angle_x"),
    "nan-angle": (_edit("test", lambda m: m.update(camera_angle_x=float("nan"))), "camera_angle_x"),
    "text-angle": (_edit("train", lambda m: m.update(camera_angle_x="wide")), "camera_angle_x"),
    "no-frames": (_edit("train", lambda m: m.update(frames=[])), "frames"),
    "no-file-path": (_edit("train", lambda m: m["frames"][1].pop("file_path")), "file_path"),
    "no-matrix": (_edit("train", lambda m: m["frames"][1].pop("transform_matrix")), "./train/r_1"),
    "matrix-3x4": (_matrix(lambda m: m[:3]), "./train/r_1"),
    "matrix-text": (_matrix(lambda m: [["a", *m[0][1:]], *m[1:]]), "./train/r_1"),
    "matrix-nan": (_matrix(lambda m: [[float("nan"), *m[0][1:]], *m[1:]]), "./train/r_1"),
    "matrix-bottom-row": (_matrix(lambda m: [*m[:3], [0, 0, 1, 1]]), "./train/r_1"),
    "matrix-singular": (_matrix(_singular), "./train/r_1"),
    "missing-image": (_unlink("train/r_1.png"), "missing"),
    "garbage-image": (_write("val/r_1.png", lambda p: b"this is not a picture"), "PNG"),
    "truncated-image": (_write("train/r_2.png", lambda p: p.read_bytes()[:60]), "could not be read"),
    "size-within-split": (_write("train/r_3.png", lambda p: encode_png(np.zeros((8, 8, 4), np.uint8))), "16x16"),
    "size-across-splits": (_resize_split, "12x12"),
    "missing-depth": (_unlink("val/r_0_depth.npy"), "depth"),
    "depth-wrong-shape": (_write("test/r_1_depth.npy", lambda p: _npy(np.zeros((3, 3), np.float32))), "shape"),
}


def _npy(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_bad_scene_is_a_one_line_error_naming_the_file(scene_copy, case):
    corrupt, words = CORRUPTIONS[case]
    path = corrupt(scene_copy)
    with pytest.raises(NstrError) as info:
        load_blender(scene_copy)
    message = str(info.value)
    assert str(path) in message and words in message and "\n" not in message, message


def test_bad_arguments_and_missing_folder(tmp_path, tiny):
    with pytest.raises(NstrError, match="not found") as info:
        load_blender(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(info.value)
    for bad in ({"downscale": 0}, {"downscale": 1.5}, {"background": "grey"}, {"splits": ()}):
        with pytest.raises(NstrError):
            load_blender(tiny, **bad)
    with pytest.raises(NstrError, match="smaller than downscale"):
        load_blender(tiny, downscale=32)


def test_a_cache_entry_made_twice_at_once_keeps_the_first_whole_one(tmp_path):
    """Two processes making the same built-in scene: the one finishing second discards its copy and never
    replaces the folder the first may be reading; a failure leaves nothing; a stray folder is one clear error."""
    out = tmp_path / "cache" / "scenes" / "entry"
    with made_once(out) as mine:
        with made_once(out) as theirs:  # another process starts and finishes while this one works
            theirs.mkdir()
            (theirs / "who").write_text("first")
        mine.mkdir()
        (mine / "who").write_text("second")
    assert (out / "who").read_text() == "first" and [p.name for p in out.parent.iterdir()] == ["entry"]
    fresh = tmp_path / "cache" / "scenes" / "fresh"
    with made_once(fresh) as private:
        private.mkdir()
        (private / "who").write_text("only")
    assert (fresh / "who").read_text() == "only"
    with pytest.raises(RuntimeError, match="disk on fire"), made_once(tmp_path / "cache" / "broken") as private:
        private.mkdir()
        raise RuntimeError("disk on fire")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["scenes"]


def test_a_stray_folder_in_place_of_the_built_in_scene_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NSTR_CACHE", str(tmp_path))
    monkeypatch.setattr(signal_module, "BUILTIN_SCENES", {"tiny": {"size": 8, "train": 1, "val": 1, "test": 1}})
    assert (signal_module.builtin_scene_dir("tiny") / "transforms_test.json").is_file()
    stray = tmp_path / "scenes" / "stray-size8-train1-val1-test1"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    monkeypatch.setitem(signal_module.BUILTIN_SCENES, "stray", {"size": 8, "train": 1, "val": 1, "test": 1})
    with pytest.raises(NstrError, match="not a whole scene.*delete it") as info:
        signal_module.builtin_scene_dir("stray")
    assert "\n" not in str(info.value) and [p.name for p in stray.iterdir()] == ["notes.txt"]
