"""Camera paths for ``nstr render RUN path.json out.mp4``: camera-to-world poses with a field of view.

nstr's format, a JSON object::

    {"fov": 40.0,                       # vertical field of view in degrees (as three.js and nerfstudio);
                                        # or "camera_angle_x": horizontal, radians (as transforms.json)
     "width": 200, "height": 200,       # optional: the scene's view size; nstr render --size overrides both
     "fps": 20,                         # optional, frames per second of the video (default 20)
     "poses": [[[r00, r01, r02, tx],    # one 4x4 camera-to-world matrix per frame, OpenGL camera axes
                [r10, r11, r12, ty],    # (the camera looks down -z, +y up: as transform_matrix in a scene),
                [r20, r21, r22, tz],    # in the scene's own units and world
                [0, 0, 0, 1]], ...]}

nerfstudio's ``camera_path.json`` (what its viewer exports) is read too: ``render_width``, ``render_height``,
``fps`` and ``camera_path``, a list of ``{"camera_to_world": 16 numbers row by row (or 4x4), "fov": vertical
degrees}``; ``camera_type`` must be perspective. Its poses are in the world nerfstudio trained in, which its
loader re-centres and rescales from the dataset's (``dataparser_transforms.json`` in its output records how):
they match a scene fitted here only when that transform is the identity, so map them back first otherwise.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nstr.core.errors import NstrError
from nstr.signals.scene.transforms import check_pose, is_matrix4, is_number

DEFAULT_FPS = 20


@dataclass(frozen=True)
class CameraPath:
    """Poses [F, 4, 4] (OpenGL camera-to-world, float64) with one field of view per frame: ``angles`` [F] in
    radians across the image's width (``axis`` "x") or height ("y"). ``width``/``height`` None: not given."""

    poses: np.ndarray
    angles: np.ndarray
    axis: str
    width: int | None
    height: int | None
    fps: float

    def focals(self, height: int, width: int) -> np.ndarray:
        """Focal lengths [F] in pixels for frames of ``height`` x ``width`` pixels (square pixels)."""
        side = width if self.axis == "x" else height
        return 0.5 * side / np.tan(0.5 * self.angles)


def read_camera_path(path: Path) -> CameraPath:
    """Parse and check a camera path file (nstr's format or nerfstudio's); any problem is one NstrError line
    naming the file."""
    path = Path(path)
    if not path.is_file():
        raise NstrError(f"camera path '{path}' not found; give a JSON file of poses (see 'nstr render --help')")
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NstrError(f"camera path '{path}' is not readable JSON ({first}); fix it") from None
    if not isinstance(data, dict):
        raise NstrError(f"camera path '{path}' must hold a JSON object with \"poses\" and \"fov\"")
    if "camera_path" in data:
        return _nerfstudio(data, path)
    poses = data.get("poses")
    if not isinstance(poses, list) or not poses:
        raise NstrError(f"camera path '{path}' has no poses; give \"poses\": a non-empty list of 4x4 matrices")
    matrices = np.stack([_pose(pose, k, path) for k, pose in enumerate(poses)])
    if "fov" in data:
        angle, axis = math.radians(_angle(data["fov"], "fov", 180.0, path)), "y"
    elif "camera_angle_x" in data:
        angle, axis = _angle(data["camera_angle_x"], "camera_angle_x", math.pi, path), "x"
    else:
        raise NstrError(f"camera path '{path}' has no field of view; add \"fov\" (vertical, degrees) or "
                        "\"camera_angle_x\" (horizontal, radians)")
    return CameraPath(matrices, np.full(len(matrices), angle), axis, _size(data, "width", path),
                      _size(data, "height", path), _fps(data, path))


def _nerfstudio(data: dict[str, Any], path: Path) -> CameraPath:
    kind = data.get("camera_type", "perspective")
    if kind != "perspective":
        raise NstrError(f"camera path '{path}' has camera_type {kind!r}; nstr renders perspective cameras only")
    cameras = data["camera_path"]
    if not isinstance(cameras, list) or not cameras:
        raise NstrError(f"camera path '{path}' has an empty camera_path; give at least one camera")
    poses, angles = [], []
    for k, camera in enumerate(cameras):
        if not isinstance(camera, dict) or "camera_to_world" not in camera or "fov" not in camera:
            raise NstrError(f"camera path '{path}': camera {k} needs camera_to_world and fov")
        matrix = camera["camera_to_world"]
        if isinstance(matrix, list) and len(matrix) == 16 and all(is_number(x) for x in matrix):
            matrix = [matrix[4 * r : 4 * r + 4] for r in range(4)]
        poses.append(_pose(matrix, k, path))
        angles.append(math.radians(_angle(camera["fov"], f"camera {k} fov", 180.0, path)))
    return CameraPath(np.stack(poses), np.array(angles), "y", _size(data, "render_width", path),
                      _size(data, "render_height", path), _fps(data, path))


def _pose(value: Any, index: int, path: Path) -> np.ndarray:
    if not is_matrix4(value):
        raise NstrError(f"camera path '{path}': pose {index} is not a 4x4 list of numbers; fix it")
    return check_pose(np.array(value, dtype=np.float64), f"camera path '{path}': pose {index}")


def _angle(value: Any, name: str, limit: float, path: Path) -> float:
    if not is_number(value) or not math.isfinite(value) or not 0 < value < limit:
        raise NstrError(f"camera path '{path}': {name} {value!r} is not a field of view in (0, {limit:g}); fix it")
    return float(value)


def _size(data: dict[str, Any], key: str, path: Path) -> int | None:
    if key not in data:
        return None
    value = data[key]
    if not is_number(value) or not math.isfinite(value) or value != int(value) or value < 1:
        raise NstrError(f"camera path '{path}': {key} {value!r} is not a whole number of pixels; fix it")
    return int(value)


def _fps(data: dict[str, Any], path: Path) -> float:
    fps = data.get("fps", DEFAULT_FPS)
    if not is_number(fps) or not math.isfinite(fps) or fps <= 0:
        raise NstrError(f"camera path '{path}': fps {fps!r} is not a positive number; fix it")
    return float(fps)
