"""Single-file scenes (one transforms.json, as nerfstudio and Instant-NGP write it): the lego copy loads with the
same cameras and pixels as its Blender three-split layout, every key is read as those tools define it, the split
rule holds, and every bad file is a one-line error naming it."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from nstr.cli.main import main
from nstr.core.errors import NstrError
from nstr.core.png import encode_png
from nstr.render.cameras import camera_rays
from nstr.signals import load_signal
from nstr.signals.scene.blender import load_blender, scene_layout
from nstr.signals.scene.signal import Scene
from nstr.signals.scene.transforms import SPLITS

LEGO = Path(__file__).resolve().parents[1] / "data" / "lego"
LEGO_ANGLE = 0.6911112070083618  # nerf_synthetic's camera_angle_x
EYE = np.eye(4).tolist()


def _pose(x: float) -> list[list[float]]:
    """A camera at (x, 0, 4) looking down -z (OpenGL axes, no rotation)."""
    return [[1.0, 0.0, 0.0, x], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 4.0], [0.0, 0.0, 0.0, 1.0]]


def _scene(tmp_path: Path, top: dict, frames: list[dict], size: tuple[int, int] = (10, 8)) -> Path:
    """A transforms.json in tmp_path with one flat grey RGB image per frame of ``size`` (W, H)."""
    width, height = size
    for frame in frames:
        path = tmp_path / frame["file_path"]
        path = path if path.suffix else path.with_name(path.name + ".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode_png(np.full((height, width, 3), 128, np.uint8)))
    file = tmp_path / "transforms.json"
    file.write_text(json.dumps({**top, "frames": frames}))
    return file


def _frames(n: int, **extra) -> list[dict]:
    return [{"file_path": f"images/f_{k:02d}.png", "transform_matrix": _pose(0.1 * k), **extra} for k in range(n)]


# ------------------------------------------------------------------------------------------------ lego copy


def test_lego_single_file_has_the_cameras_and_pixels_of_the_blender_layout():
    blender, single = load_blender(LEGO), load_blender(LEGO / "transforms.json")
    assert blender.bound is None and single.bound == pytest.approx(0.5 / 0.33)  # aabb_scale 1, Instant-NGP's scale
    expected_focal = 0.5 * 40 / math.tan(0.5 * LEGO_ANGLE)
    for split in SPLITS:
        a, b = blender.splits[split], single.splits[split]
        assert a.files == b.files and len(a.files) == {"train": 12, "val": 2, "test": 2}[split]
        assert torch.equal(a.c2w, b.c2w) and torch.equal(a.images, b.images) and torch.equal(a.alphas, b.alphas)
        assert (a.height, a.width) == (b.height, b.width) == (40, 40)
        assert torch.allclose(a.intrinsics, b.intrinsics, rtol=1e-6, atol=0)
        assert torch.allclose(b.intrinsics, torch.tensor([expected_focal, expected_focal, 20.0, 20.0]), rtol=1e-6)
        for k in range(len(a.files)):
            rays_a = camera_rays(a.c2w[k], 40, 40, a.focal)
            rays_b = camera_rays(b.c2w[k], 40, 40, b.focal, b.intrinsics[k])
            assert all(torch.allclose(x, y, atol=1e-6) for x, y in zip(rays_a, rays_b, strict=True))


def test_the_lego_copy_keeps_the_original_poses():
    for split in SPLITS:
        meta = json.loads((LEGO / f"transforms_{split}.json").read_text())
        assert meta["camera_angle_x"] == LEGO_ANGLE
        views = load_blender(LEGO, splits=(split,)).splits[split]
        assert torch.equal(views.c2w, torch.tensor([f["transform_matrix"] for f in meta["frames"]]))


def test_layout_is_told_from_the_files(tmp_path):
    assert scene_layout(LEGO) == (LEGO, None)  # both layouts present: the three splits win
    assert scene_layout(LEGO / "transforms_val.json") == (LEGO, None)
    assert scene_layout(LEGO / "transforms.json") == (LEGO, LEGO / "transforms.json")
    only = tmp_path / "only"
    only.mkdir()
    shutil.copy(LEGO / "transforms.json", only / "transforms.json")
    assert scene_layout(only) == (only, only / "transforms.json")
    assert Scene.accepts(str(only)) and Scene.accepts(str(LEGO / "transforms.json"))
    with pytest.raises(NstrError, match="not found"):
        scene_layout(tmp_path / "nowhere")


@pytest.mark.slow  # a fit of several seconds: out of the developer loop
def test_lego_single_file_fits_from_the_command_line(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["fit", str(LEGO / "transforms.json"), "--model", "hashgrid", "--steps", "3", "--rays", "128",
                 "--eval-rays", "128", "--eval-every", "3", "--occupancy-res", "8", "--log2-table", "10",
                 "--orbit-frames", "0", "--out", str(run), "--quiet"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["signal"]["source"] == str((LEGO / "transforms.json").resolve())
    assert config["model"]["options"]["bound"] == pytest.approx(0.5 / 0.33)  # from aabb_scale, as no --bound
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 3 and metrics["test_views"] == 2 and math.isfinite(metrics["psnr"])
    assert (run / "test" / "r_0.png").is_file() and (run / "test" / "r_10_depth.npy").is_file()
    assert isinstance(load_signal(str(LEGO / "transforms.json")), Scene)


# --------------------------------------------------------------------------------------------- split rule


def test_default_split_holds_out_every_eighth_frame_in_file_name_order(tmp_path):
    copy = Path(shutil.copytree(LEGO, tmp_path / "lego"))
    meta = json.loads((copy / "transforms.json").read_text())
    for split in SPLITS:
        del meta[f"{split}_filenames"]
    meta["frames"].reverse()  # the file's order does not matter, the names' order does
    (copy / "transforms.json").write_text(json.dumps(meta))
    scene = load_blender(copy / "transforms.json")
    # sorted names: test/r_0, test/r_10, train/r_1, r_11, r_12, r_13, r_14, r_2, r_3, r_4, r_6, r_7, r_8, r_9,
    # val/r_25, val/r_5; positions 0 and 8 are test, 4 and 12 val.
    names = {split: [str(Path(f).relative_to(copy)) for f in scene.splits[split].files] for split in SPLITS}
    assert names["test"] == ["test/r_0.png", "train/r_3.png"]
    assert names["val"] == ["train/r_12.png", "train/r_8.png"]
    assert len(names["train"]) == 12 and not set(names["train"]) & set(names["test"] + names["val"])


def test_split_lists_val_defaults_to_test(tmp_path):
    frames = _frames(6)
    names = [f["file_path"] for f in frames]
    file = _scene(tmp_path, {"fl_x": 9.0, "train_filenames": names[:4], "test_filenames": ["./" + names[5]]}, frames)
    scene = load_blender(file)
    assert [Path(f).name for f in scene.splits["test"].files] == ["f_05.png"]
    assert scene.splits["val"].files == scene.splits["test"].files and len(scene.splits["train"].files) == 4


# ---------------------------------------------------------------------------------------------- the keys


def test_intrinsics_keys_defaults_and_per_frame_overrides(tmp_path):
    frames = _frames(5)
    frames[1]["fl_x"] = 12.0  # a frame's own focal length
    frames[2].update(cx=3.0, cy=2.5)  # and principal point
    frames[3]["camera_angle_y"] = 1.0  # with fl_x from the file: fy from the vertical angle
    file = _scene(tmp_path, {"fl_x": 9.0, "w": 10, "h": 8, "train_filenames": [f["file_path"] for f in frames[:4]],
                             "test_filenames": [frames[4]["file_path"]]}, frames)
    train = load_blender(file).splits["train"]
    expected = torch.tensor([[9.0, 9.0, 5.0, 4.0], [12.0, 12.0, 5.0, 4.0], [9.0, 9.0, 3.0, 2.5],
                             [9.0, 0.5 * 8 / math.tan(0.5), 5.0, 4.0]])
    assert torch.allclose(train.intrinsics, expected, rtol=1e-6)
    # the ray through pixel (row 0, column 0) of view 2, by hand: ((0.5 - cx) / fx, -(0.5 - cy) / fy, -1)
    origins, directions = camera_rays(train.c2w[2], 8, 10, train.focal, train.intrinsics[2])
    d = torch.tensor([(0.5 - 3.0) / 9.0, -(0.5 - 2.5) / 9.0, -1.0])
    assert torch.allclose(directions[0, 0], d / d.norm(), atol=1e-6)
    assert torch.allclose(origins[0, 0], torch.tensor([0.2, 0.0, 4.0]))


@pytest.mark.parametrize(("top", "fx", "fy"), [
    ({"camera_angle_x": 1.2}, 0.5 * 10 / math.tan(0.6), 0.5 * 10 / math.tan(0.6)),
    ({"camera_angle_y": 1.2}, 0.5 * 8 / math.tan(0.6), 0.5 * 8 / math.tan(0.6)),  # fx = fy from the vertical one
    ({"fl_y": 7.0}, 7.0, 7.0),
    ({"fl_x": 6.0, "fl_y": 7.0, "camera_angle_x": 1.2}, 6.0, 7.0),  # focal lengths win over angles
])
def test_focal_lengths_from_angles_or_pixels(tmp_path, top, fx, fy):
    frames = _frames(5)
    views = load_blender(_scene(tmp_path, top, frames), splits=("train",)).splits["train"]
    assert torch.allclose(views.intrinsics[0], torch.tensor([fx, fy, 5.0, 4.0]), rtol=1e-6)


def test_downscale_moves_the_principal_point_with_the_centre_crop(tmp_path):
    frames = _frames(5)
    file = _scene(tmp_path, {"fl_x": 9.0, "fl_y": 6.0, "cx": 5.0, "cy": 4.5}, frames, size=(11, 8))
    views = load_blender(file, downscale=3, splits=("train",)).splits["train"]
    # 11 x 8 -> crop 9 x 6 (1 column and 1 row cut from the left and top), then 3 x 3 blocks
    assert (views.width, views.height) == (3, 2)
    assert torch.allclose(views.intrinsics[0], torch.tensor([3.0, 2.0, (5.0 - 1) / 3, (4.5 - 1) / 3]), rtol=1e-6)


def test_opencv_poses_are_converted_and_applied_transform_changes_nothing(tmp_path):
    rotation = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # a proper rotation
    cv = np.eye(4)
    cv[:3, :3], cv[:3, 3] = rotation, [1.0, 2.0, 3.0]
    frames = [{"file_path": f"images/f_{k}", "transform_matrix": cv.tolist()} for k in range(5)]
    opencv = load_blender(_scene(tmp_path / "cv", {"fl_x": 9.0, "camera_convention": "OpenCV"}, frames),
                          splits=("test",)).splits["test"]
    # OpenCV's camera looks down its +z: the ray through the principal point is the third column of R
    origins, directions = camera_rays(opencv.c2w[0], 8, 10, 9.0, torch.tensor([9.0, 9.0, 5.5, 4.5]))
    assert torch.allclose(directions[4, 5], torch.tensor(rotation[:, 2], dtype=torch.float32), atol=1e-6)
    assert torch.allclose(origins[4, 5], torch.tensor([1.0, 2.0, 3.0]))
    assert torch.equal(opencv.c2w[0], torch.tensor(cv @ np.diag([1.0, -1.0, -1.0, 1.0]), dtype=torch.float32))
    applied = [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, -1.0, 0.0, 0.0]]  # ns-process-data's, for COLMAP
    plain = load_blender(_scene(tmp_path / "gl", {"fl_x": 9.0}, frames), splits=("test",)).splits["test"]
    marked = load_blender(_scene(tmp_path / "ns", {"fl_x": 9.0, "applied_transform": applied}, frames),
                          splits=("test",)).splits["test"]
    assert torch.equal(plain.c2w, marked.c2w) and torch.equal(plain.c2w[0], torch.tensor(cv, dtype=torch.float32))


def test_zero_distortion_and_pinhole_models_are_accepted(tmp_path):
    frames = _frames(5, k1=0.0, p2=0)
    for model in ("OPENCV", "PINHOLE", "SIMPLE_PINHOLE"):
        file = _scene(tmp_path / model, {"fl_x": 9.0, "camera_model": model, "k2": 0.0}, frames)
        assert len(load_blender(file).splits["train"].files) == 3


# ----------------------------------------------------------------------------------------------- bad files


def _bad(top: dict | None = None, frames: list[dict] | None = None, size: tuple[int, int] = (10, 8)):
    return top if top is not None else {"fl_x": 9.0}, frames if frames is not None else _frames(5), size


BAD = {
    "distortion": (_bad({"fl_x": 9.0, "k1": 0.1, "p1": 0.002}), "lens distortion (k1=0.1, p1=0.002)"),
    "frame-distortion": (_bad(frames=[*_frames(4), {**_frames(5)[4], "k2": -0.3}]), "lens distortion (k2=-0.3)"),
    "fisheye": (_bad({"fl_x": 9.0, "camera_model": "OPENCV_FISHEYE"}), "'OPENCV_FISHEYE' is not a pinhole"),
    "convention": (_bad({"fl_x": 9.0, "camera_convention": "directx"}), "camera_convention 'directx'"),
    "no-focal": (_bad({"cx": 5.0}), "no camera_angle_x or fl_x"),
    "negative-focal": (_bad({"fl_x": -9.0}), "fl_x -9.0"),
    "text-cx": (_bad({"fl_x": 9.0, "cx": "middle"}), "cx 'middle'"),
    "size-mismatch": (_bad({"fl_x": 9.0, "w": 12, "h": 8}), "says w x h = 12 x 8 but its image is 10 x 8"),
    "offset": (_bad({"fl_x": 9.0, "offset": [0.5, 0.5, 0.0]}), "offset [0.5, 0.5, 0.0] moves the scene box"),
    "aabb": (_bad({"fl_x": 9.0, "aabb_scale": 0}), "aabb_scale 0"),
    "too-few": (_bad(frames=_frames(4)), "has 4 frames"),
    "list-unknown": (_bad({"fl_x": 9.0, "train_filenames": ["images/f_00.png"], "test_filenames": ["nope.png"]}),
                     "names 'nope.png'"),
    "list-alone": (_bad({"fl_x": 9.0, "val_filenames": ["images/f_00.png"]}), "needs train_filenames"),
    "list-empty": (_bad({"fl_x": 9.0, "train_filenames": []}), "train_filenames must be a non-empty list"),
    "matrix": (_bad(frames=[*_frames(4), {"file_path": "images/x.png", "transform_matrix": EYE[:3]}]),
               "frame 'images/x.png' transform_matrix is not a 4x4"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_single_file_is_a_one_line_error_naming_it(tmp_path, case):
    (top, frames, size), words = BAD[case]
    file = _scene(tmp_path, top, frames, size)
    with pytest.raises(NstrError) as info:
        load_blender(file)
    message = str(info.value)
    assert str(file) in message and words in message and "\n" not in message, message


def test_cli_refuses_a_distorted_capture_in_one_line(tmp_path, capsys):
    file = _scene(tmp_path, {"fl_x": 9.0, "camera_model": "OPENCV", "k1": -0.05}, _frames(5))
    assert main(["fit", str(file), "--steps", "1", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "lens distortion (k1=-0.05)" in err and err.count("\n") == 1 and not (tmp_path / "run").exists()
