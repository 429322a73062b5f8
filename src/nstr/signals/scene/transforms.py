"""Read and check the camera files of a scene, cameras only (no pixels): ``transforms_{split}.json`` of the
Blender three-split layout, or one ``transforms.json`` as nerfstudio and Instant-NGP write it.

Kept apart from the image loading so that every JSON problem is reported, with the file named, before any
image is decoded: a typo in a matrix should not cost a minute of PNG decoding first.

Keys read (nerfstudio's and Instant-NGP's names; a frame's own values override the file's top-level ones):

* Intrinsics: ``camera_angle_x`` and ``camera_angle_y`` (fields of view, radians), ``fl_x`` and ``fl_y`` (focal
  lengths, pixels), ``cx`` and ``cy`` (principal point, pixels from the image's top-left corner), ``w`` and ``h``
  (image size, checked against the image). fx = fl_x, else 0.5 w / tan(camera_angle_x / 2); fy = fl_y, else
  from camera_angle_y, else fx (and fx = fy when only the vertical one is given); cx, cy default to the image
  centre. ``nstr.render.cameras`` says how they make rays.
* Lens distortion (``k1 k2 k3 k4 p1 p2``) must be zero or absent: nstr renders pinhole cameras, so distorted
  images are refused in one line (undistort them first). ``camera_model`` may be ``OPENCV`` (nerfstudio's name
  for a pinhole camera with OpenCV's distortion coefficients), ``PINHOLE``, ``SIMPLE_PINHOLE``, ``RADIAL`` or
  ``SIMPLE_RADIAL`` (the coefficients then zero); fisheye, equirectangular and other models are refused.
* Poses: ``transform_matrix`` is camera-to-world in the OpenGL convention (the camera looks down -z, +y up),
  as Blender, nerfstudio and Instant-NGP write it (their COLMAP converters flip the camera's y and z axes on
  writing). ``"camera_convention": "opencv"`` (nstr's own key) says the matrices are OpenCV / COLMAP
  camera-to-world (+z forward, +y down the image); they are converted on load, c2w @ diag(1, -1, -1, 1).
  nerfstudio's ``applied_transform`` records a change of *world* axes already applied to the poses (COLMAP's
  y-down world turned z-up, for its point cloud); it says nothing about camera axes and changes nothing here.
* Scene box: ``aabb_scale`` (Instant-NGP: the box is ``aabb_scale`` times its unit cube, which its ``scale``,
  default 0.33, makes 1 / scale scene units wide) gives the half side ``bound = 0.5 aabb_scale / scale``
  (1.52 for aabb_scale 1). An ``offset`` other than Instant-NGP's default 0.5 would move the box off the origin
  and is refused.
* Splits of a single file: nerfstudio's ``train_filenames``, ``val_filenames`` and ``test_filenames`` lists
  when the file has them (val defaults to test and test to val); otherwise the frames in file-name order
  (nerfstudio sorts them so), every 8th from the first is a test view (nerfstudio's and LLFF's hold-out
  interval), every 8th from the fifth a val view (nstr keeps its best weights by the val views, so they are
  kept apart from the test views), the others train.

Other keys (nerfstudio's ``mask_path`` and ``depth_file_path``, Instant-NGP's ``sharpness``, ...) are ignored.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from nstr.core.errors import NstrError
from nstr.render.cameras import focal_from_fov

SPLITS = ("train", "val", "test")
MIN_ABS_DET = 1e-6
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: Lens distortion coefficients (OpenCV's and nerfstudio's names); any non-zero one is refused.
DISTORTION = ("k1", "k2", "k3", "k4", "p1", "p2")
#: nerfstudio's perspective camera models (their distortion coefficients must be zero here).
PINHOLE_MODELS = ("OPENCV", "PINHOLE", "SIMPLE_PINHOLE", "RADIAL", "SIMPLE_RADIAL")
CONVENTIONS = ("opengl", "opencv")
#: Camera axes flip between OpenCV (+y down, +z forward) and OpenGL (+y up, -z forward) camera frames.
OPENCV_TO_OPENGL = np.diag([1.0, -1.0, -1.0, 1.0])
#: Instant-NGP's default ``scale`` (scene units to its unit cube) and ``offset``.
NGP_SCALE, NGP_OFFSET = 0.33, 0.5
#: The single-file split rule: frame k (file-name order) is test when k % 8 == 0, val when k % 8 == 4.
HOLDOUT_EVERY, TEST_AT, VAL_AT = 8, 0, 4


@dataclass(frozen=True)
class Intrinsics:
    """A pinhole camera as a transforms file gives it; keys it does not give are None (filled from the image
    size and the other keys by ``resolve``)."""

    fl_x: float | None = None
    fl_y: float | None = None
    cx: float | None = None
    cy: float | None = None
    w: int | None = None
    h: int | None = None
    camera_angle_x: float | None = None
    camera_angle_y: float | None = None

    def over(self, base: Intrinsics) -> Intrinsics:
        """These values where given, ``base``'s elsewhere (a frame's keys over the file's)."""
        given = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(base, **{name: value for name, value in given.items() if value is not None})

    @property
    def has_focal(self) -> bool:
        return any(v is not None for v in (self.fl_x, self.fl_y, self.camera_angle_x, self.camera_angle_y))

    def resolve(self, width: int, height: int) -> np.ndarray:
        """(fx, fy, cx, cy) in pixels, float64 [4], for an image of ``width`` x ``height`` pixels."""
        fx = self.fl_x if self.fl_x is not None else (
            focal_from_fov(width, self.camera_angle_x) if self.camera_angle_x is not None else None)
        fy = self.fl_y if self.fl_y is not None else (
            focal_from_fov(height, self.camera_angle_y) if self.camera_angle_y is not None else None)
        fx = fy if fx is None else fx
        fy = fx if fy is None else fy
        cx = width / 2 if self.cx is None else self.cx
        cy = height / 2 if self.cy is None else self.cy
        return np.array([fx, fy, cx, cy], dtype=np.float64)


@dataclass(frozen=True)
class Frame:
    """One camera: the image it names (as written in the JSON), its pose, intrinsics and optional depth file."""

    file_path: str
    c2w: np.ndarray  # [4, 4] float64, OpenGL camera-to-world
    depth_path: str | None = None
    intrinsics: Intrinsics = Intrinsics()


@dataclass(frozen=True)
class Transforms:
    """A parsed camera file: its frames, the scene box it implies (``aabb_scale``) and, for a single
    ``transforms.json``, nerfstudio's per-split file lists."""

    path: Path
    frames: list[Frame]
    bound: float | None = None
    split_lists: dict[str, list[str]] = field(default_factory=dict)


def split_file(root: Path, split: str) -> Path:
    return Path(root) / f"transforms_{split}.json"


def read_transforms(root: Path, split: str) -> Transforms:
    """Parse and check ``root/transforms_{split}.json``; any problem is a one-line NstrError naming the file."""
    path = split_file(root, split)
    if not path.is_file():
        raise NstrError(f"'{path}' is missing: a Blender-format scene needs transforms_{{train,val,test}}.json "
                        f"in '{root}'")
    return parse_transforms(path, _read_json(path))


def read_single(path: Path) -> Transforms:
    """Parse and check one nerfstudio / Instant-NGP ``transforms.json`` (all views, split by ``split_frames``)."""
    if not path.is_file():
        raise NstrError(f"'{path}' is missing: give a transforms.json file or a folder holding one")
    return parse_transforms(path, _read_json(path), single=True)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except OSError as exc:
        raise NstrError(f"'{path}' could not be read ({exc.strerror}); check its permissions") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NstrError(f"'{path}' is not valid JSON ({first}); fix or regenerate it") from None


def parse_transforms(path: Path, data: Any, single: bool = False) -> Transforms:
    """The checked cameras of a transforms file's JSON ``data`` (``single``: also its split lists)."""
    if not isinstance(data, dict):
        raise NstrError(f"'{path}' must hold a JSON object with camera_angle_x (or fl_x) and frames")
    _check_camera_model(data, path)
    opencv = _convention(data, path) == "opencv"
    base = _intrinsics(data, path, "the file")
    frames = data.get("frames")
    if not isinstance(frames, list) or not frames:
        raise NstrError(f"'{path}' has no frames; give a non-empty \"frames\" list of file_path/transform_matrix")
    parsed = [_frame(frame, k, path, base, opencv) for k, frame in enumerate(frames)]
    return Transforms(path, parsed, _bound(data, path), _split_lists(data, path) if single else {})


def _frame(frame: Any, index: int, path: Path, base: Intrinsics, opencv: bool) -> Frame:
    if not isinstance(frame, dict) or not isinstance(frame.get("file_path"), str) or not frame["file_path"]:
        raise NstrError(f"'{path}': frame {index} has no file_path string; every frame needs file_path and "
                        "transform_matrix")
    name = frame["file_path"]
    if "transform_matrix" not in frame:
        raise NstrError(f"'{path}': frame '{name}' has no transform_matrix; add its 4x4 camera-to-world matrix")
    depth = frame.get("depth_path")
    if depth is not None and (not isinstance(depth, str) or not depth):
        raise NstrError(f"'{path}': frame '{name}' has a depth_path that is not a file name; fix or remove it")
    intrinsics = _intrinsics(frame, path, f"frame '{name}'").over(base)
    if not intrinsics.has_focal:
        raise NstrError(f"'{path}' has no camera_angle_x or fl_x (frame '{name}'); add the horizontal field of view "
                        "in radians (nerf_synthetic uses 0.6911112070083618) or the focal length in pixels")
    c2w = _matrix(frame["transform_matrix"], name, path)
    return Frame(name, c2w @ OPENCV_TO_OPENGL if opencv else c2w, depth, intrinsics)


def _intrinsics(data: dict[str, Any], path: Path, where: str) -> Intrinsics:
    """The intrinsics keys present in ``data`` (the file's top level or one frame), checked."""
    distorted = {key: data[key] for key in DISTORTION if key in data}
    for key, value in distorted.items():
        if not is_number(value) or not math.isfinite(value):
            raise NstrError(f"'{path}': {where} has {key} {value!r}, not a number; fix it")
    nonzero = {key: value for key, value in distorted.items() if value != 0}
    if nonzero:
        listed = ", ".join(f"{key}={value:g}" for key, value in nonzero.items())
        raise NstrError(f"'{path}': {where} has lens distortion ({listed}) but nstr renders pinhole cameras "
                        "only; undistort the images first (e.g. COLMAP's image_undistorter) and give their PINHOLE "
                        "intrinsics")
    values: dict[str, Any] = {}
    for key in ("fl_x", "fl_y"):
        if key in data:
            values[key] = _positive(data[key], key, path, where)
    for key in ("cx", "cy"):
        if key in data:
            if not is_number(data[key]) or not math.isfinite(data[key]):
                raise NstrError(f"'{path}': {where} has {key} {data[key]!r}, not a number of pixels; fix it")
            values[key] = float(data[key])
    for key in ("w", "h"):
        if key in data:
            size = data[key]
            if not is_number(size) or not math.isfinite(size) or size != int(size) or size < 1:
                raise NstrError(f"'{path}': {where} has {key} {size!r}, not a whole number of pixels; fix it")
            values[key] = int(size)
    for key in ("camera_angle_x", "camera_angle_y"):
        if key in data:
            angle = data[key]
            if not is_number(angle) or not math.isfinite(angle) or not 0 < angle < math.pi:
                raise NstrError(f"'{path}': {key} {angle!r} ({where}) is not a field of view in (0, pi) radians; "
                                "fix it")
            values[key] = float(angle)
    return Intrinsics(**values)


def _positive(value: Any, key: str, path: Path, where: str) -> float:
    if not is_number(value) or not math.isfinite(value) or value <= 0:
        raise NstrError(f"'{path}': {where} has {key} {value!r}, not a positive number; fix it")
    return float(value)


def _check_camera_model(data: dict[str, Any], path: Path) -> None:
    model = data.get("camera_model")
    if model is not None and model not in PINHOLE_MODELS:
        raise NstrError(f"'{path}': camera_model {model!r} is not a pinhole camera; nstr renders pinhole cameras "
                        f"only ({', '.join(PINHOLE_MODELS)} with zero distortion): undistort the images first")


def _convention(data: dict[str, Any], path: Path) -> str:
    convention = data.get("camera_convention", "opengl")
    if not isinstance(convention, str) or convention.lower() not in CONVENTIONS:
        raise NstrError(f"'{path}': camera_convention {convention!r} must be 'opengl' (Blender, nerfstudio, "
                        "Instant-NGP) or 'opencv' (COLMAP)")
    return convention.lower()


def _bound(data: dict[str, Any], path: Path) -> float | None:
    """Half side of the scene box implied by Instant-NGP's ``aabb_scale`` and ``scale``; None without it."""
    offset = data.get("offset", [NGP_OFFSET] * 3)
    if is_number(offset):
        offset = [offset] * 3
    if not (isinstance(offset, list) and len(offset) == 3 and all(is_number(v) for v in offset)):
        raise NstrError(f"'{path}': offset {offset!r} is not a list of 3 numbers; fix it")
    if any(abs(v - NGP_OFFSET) > 1e-9 for v in offset):
        raise NstrError(f"'{path}': offset {offset} moves the scene box off the origin, and nstr's box is centred on "
                        "it; move the poses instead (subtract the box centre from each camera position)")
    scale = _positive(data.get("scale", NGP_SCALE), "scale", path, "the file")
    if "aabb_scale" not in data:
        return None
    aabb = data["aabb_scale"]
    if not is_number(aabb) or not math.isfinite(aabb) or aabb <= 0:
        raise NstrError(f"'{path}': aabb_scale {aabb!r} is not a positive number; fix it")
    return 0.5 * float(aabb) / scale


def _split_lists(data: dict[str, Any], path: Path) -> dict[str, list[str]]:
    lists = {}
    for split in SPLITS:
        key = f"{split}_filenames"
        if key in data:
            names = data[key]
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
                raise NstrError(f"'{path}': {key} must be a non-empty list of file names; fix or remove it")
            lists[split] = names
    return lists


def split_frames(transforms: Transforms) -> dict[str, list[Frame]]:
    """The frames of a single ``transforms.json`` per split (see the module docstring for the rule)."""
    path, frames = transforms.path, transforms.frames
    if transforms.split_lists:
        lists = dict(transforms.split_lists)
        if "train" not in lists or not ({"val", "test"} & set(lists)):
            raise NstrError(f"'{path}' lists {', '.join(f'{s}_filenames' for s in lists)} but needs train_filenames "
                            "and test_filenames (or val_filenames); give both or neither")
        lists.setdefault("val", lists.get("test", []))
        lists.setdefault("test", lists["val"])
        by_name = {frame_key(frame.file_path): frame for frame in frames}
        chosen = {}
        for split in SPLITS:
            missing = [name for name in lists[split] if frame_key(name) not in by_name]
            if missing:
                raise NstrError(f"'{path}': {split}_filenames names '{missing[0]}', which no frame's file_path is; "
                                "fix the list")
            chosen[split] = [by_name[frame_key(name)] for name in lists[split]]
        return chosen
    if len(frames) <= VAL_AT:
        raise NstrError(f"'{path}' has {len(frames)} frames; holding out test and val views needs at least "
                        f"{VAL_AT + 1} (or give train_filenames and test_filenames)")
    ordered = sorted(frames, key=lambda frame: frame.file_path)
    place = {TEST_AT: "test", VAL_AT: "val"}
    chosen = {split: [] for split in SPLITS}
    for k, frame in enumerate(ordered):
        chosen[place.get(k % HOLDOUT_EVERY, "train")].append(frame)
    return chosen


def frame_key(name: str) -> str:
    """A file name as a split list or a frame may write it, normalised so the two compare: './a/b' is 'a/b', and
    '.png' is appended when it has no image extension (as for the image itself)."""
    if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
        name += ".png"
    return os.path.normpath(name)


def _matrix(value: Any, name: str, path: Path) -> np.ndarray:
    """A checked camera-to-world matrix: 4x4 finite numbers, affine bottom row, invertible rotation part."""
    if not is_matrix4(value):
        raise NstrError(f"'{path}': frame '{name}' transform_matrix is not a 4x4 list of numbers; fix it")
    return check_pose(np.array(value, dtype=np.float64), f"'{path}': frame '{name}' transform_matrix")


def is_matrix4(value: Any) -> bool:
    """Whether a JSON value is a 4x4 list of lists of numbers."""
    return isinstance(value, list) and len(value) == 4 and all(
        isinstance(row, list) and len(row) == 4 and all(is_number(x) for x in row) for row in value)


def check_pose(matrix: np.ndarray, what: str) -> np.ndarray:
    """``matrix`` [4, 4] if it is a usable camera-to-world matrix, else a one-line NstrError starting ``what``."""
    if not np.isfinite(matrix).all():
        raise NstrError(f"{what} has non-finite values (NaN or Infinity)")
    if not np.array_equal(matrix[3], [0.0, 0.0, 0.0, 1.0]):
        raise NstrError(f"{what} bottom row is {matrix[3].tolist()}, not [0, 0, 0, 1]; give a camera-to-world matrix")
    det = float(np.linalg.det(matrix[:3, :3]))
    if abs(det) < MIN_ABS_DET:
        raise NstrError(f"{what} rotation part is singular (det {det:.3g}); give an invertible camera-to-world "
                        "matrix")
    return matrix


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)
