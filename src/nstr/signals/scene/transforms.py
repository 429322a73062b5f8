"""Read and check one ``transforms_{split}.json`` of a Blender-format scene (cameras only, no pixels).

Kept apart from the image loading so that every JSON problem is reported, with the file named, before any
image is decoded: a typo in a matrix should not cost a minute of PNG decoding first.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nstr.core.errors import NstrError

SPLITS = ("train", "val", "test")
MIN_ABS_DET = 1e-6


@dataclass(frozen=True)
class Frame:
    """One camera of a split: the image it names (as written in the JSON), its pose and optional depth file."""

    file_path: str
    c2w: np.ndarray  # [4, 4] float64, OpenGL camera-to-world
    depth_path: str | None = None


@dataclass(frozen=True)
class Transforms:
    """A parsed ``transforms_{split}.json``."""

    path: Path
    camera_angle_x: float
    frames: list[Frame]


def split_file(root: Path, split: str) -> Path:
    return Path(root) / f"transforms_{split}.json"


def read_transforms(root: Path, split: str) -> Transforms:
    """Parse and check ``root/transforms_{split}.json``; any problem is a one-line NstrError naming the file."""
    path = split_file(root, split)
    if not path.is_file():
        raise NstrError(f"'{path}' is missing: a Blender-format scene needs transforms_{{train,val,test}}.json "
                        f"in '{root}'")
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise NstrError(f"'{path}' could not be read ({exc.strerror}); check its permissions") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NstrError(f"'{path}' is not valid JSON ({first}); fix or regenerate it") from None
    if not isinstance(data, dict):
        raise NstrError(f"'{path}' must hold a JSON object with camera_angle_x and frames")
    angle = _camera_angle(data, path)
    frames = data.get("frames")
    if not isinstance(frames, list) or not frames:
        raise NstrError(f"'{path}' has no frames; give a non-empty \"frames\" list of file_path/transform_matrix")
    return Transforms(path, angle, [_frame(frame, k, path) for k, frame in enumerate(frames)])


def _camera_angle(data: dict[str, Any], path: Path) -> float:
    if "camera_angle_x" not in data:
        raise NstrError(f"'{path}' has no camera_angle_x; add the horizontal field of view in radians "
                        "(nerf_synthetic uses 0.6911112070083618)")
    angle = data["camera_angle_x"]
    if not _is_number(angle) or not math.isfinite(angle) or not 0 < angle < math.pi:
        raise NstrError(f"'{path}': camera_angle_x {angle!r} is not a field of view in (0, pi) radians; fix it")
    return float(angle)


def _frame(frame: Any, index: int, path: Path) -> Frame:
    if not isinstance(frame, dict) or not isinstance(frame.get("file_path"), str) or not frame["file_path"]:
        raise NstrError(f"'{path}': frame {index} has no file_path string; every frame needs file_path and "
                        "transform_matrix")
    name = frame["file_path"]
    if "transform_matrix" not in frame:
        raise NstrError(f"'{path}': frame '{name}' has no transform_matrix; add its 4x4 camera-to-world matrix")
    depth = frame.get("depth_path")
    if depth is not None and (not isinstance(depth, str) or not depth):
        raise NstrError(f"'{path}': frame '{name}' has a depth_path that is not a file name; fix or remove it")
    return Frame(name, _matrix(frame["transform_matrix"], name, path), depth)


def _matrix(value: Any, name: str, path: Path) -> np.ndarray:
    """A checked camera-to-world matrix: 4x4 finite numbers, affine bottom row, invertible rotation part."""
    rows_ok = isinstance(value, list) and len(value) == 4 and all(
        isinstance(row, list) and len(row) == 4 and all(_is_number(x) for x in row) for row in value)
    if not rows_ok:
        raise NstrError(f"'{path}': frame '{name}' transform_matrix is not a 4x4 list of numbers; fix it")
    matrix = np.array(value, dtype=np.float64)
    if not np.isfinite(matrix).all():
        raise NstrError(f"'{path}': frame '{name}' transform_matrix has non-finite values (NaN or Infinity)")
    if not np.array_equal(matrix[3], [0.0, 0.0, 0.0, 1.0]):
        raise NstrError(f"'{path}': frame '{name}' transform_matrix bottom row is {matrix[3].tolist()}, "
                        "not [0, 0, 0, 1]; give a camera-to-world matrix")
    det = float(np.linalg.det(matrix[:3, :3]))
    if abs(det) < MIN_ABS_DET:
        raise NstrError(f"'{path}': frame '{name}' transform_matrix rotation part is singular (det {det:.3g}); "
                        "give an invertible camera-to-world matrix")
    return matrix


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)
