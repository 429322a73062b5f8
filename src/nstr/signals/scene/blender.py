"""Load a scene: the Blender synthetic NeRF layout (the public nerf_synthetic folders such as ``lego``) or one
``transforms.json`` as nerfstudio and Instant-NGP write it.

Layouts (``load_blender`` tells them apart):

* Blender, three splits: ``transforms_train.json``, ``transforms_val.json`` and ``transforms_test.json`` beside
  the image folders, each ``{"camera_angle_x": float, "frames": [{"file_path": "./train/r_0",
  "transform_matrix": 4x4}, ...]}``. Give the folder (or one of the three files).
* Single file: one ``transforms.json`` holding every view (nerfstudio's ``ns-process-data`` and Instant-NGP's
  ``colmap2nerf.py`` write it), split into train, val and test views by ``transforms.split_frames``. Give the
  file, or a folder holding it and no ``transforms_train.json``.

Both read the same keys (``nstr.signals.scene.transforms`` lists them: intrinsics ``fl_x, fl_y, cx, cy, w, h`` or
``camera_angle_x``, per-frame intrinsics, ``aabb_scale``, lens distortion refused, OpenCV poses converted where
the file says so). ``file_path`` is relative to the JSON's folder; ".png" is appended when it has no image
extension. A frame may also carry ``depth_path`` (a float32 .npy of [H, W] distances along the ray,
0 = background, as written by ``nstr scene make``); depths are loaded when every frame of a split has one.

Conventions (the same as ``nstr.render.cameras``, whose ``camera_rays`` and ``focal_from_fov`` are the reference):

* ``transform_matrix`` is camera-to-world in the OpenGL/Blender camera frame: the camera looks down its -z
  axis, +x points right in the image and +y up. The world is z-up in nerf_synthetic.
* ``camera_angle_x`` is the horizontal field of view in radians (the full angle between the left and right
  image edges), so the focal length in pixels is ``focal = 0.5 * W / tan(0.5 * camera_angle_x)``. Loading with
  ``downscale=N`` divides focal lengths by N (and moves the principal point with the centre crop).
* Pixel (row i, column j) is seen through its centre (j + 0.5, i + 0.5).
* Images are RGBA with straight (not premultiplied) colour, or RGB (opaque). They are composited over a uniform
  background as ``rgb * alpha + bg * (1 - alpha)``; downscaling averages premultiplied colour and alpha before
  that. Most papers score nerf_synthetic on a white background, hence the default; ``alphas`` are kept so a
  model can be trained on random backgrounds instead.
* The nerf_synthetic objects lie inside the box [-1.5, 1.5]^3 around the origin (the usual scene bound for
  occupancy grids and hash encodings); cameras sit about 4 units from the origin. Poses are used as written:
  unlike nerfstudio's loader, nstr does not re-centre or rescale them.

Converting other poses: COLMAP and OpenCV cameras look down +z with +y pointing *down* the image. For an
OpenCV camera-to-world matrix (COLMAP stores world-to-camera ``[R | t]``: invert it first) flip the camera y
and z axes, i.e. negate the second and third columns: ``c2w_gl = c2w_cv @ diag(1, -1, -1, 1)``, or write
``"camera_convention": "opencv"`` in a single ``transforms.json`` and the loader does it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nstr.core.errors import NstrError
from nstr.render.compositing import BACKGROUNDS
from nstr.signals.scene.pixels import centre_offsets, over_background, read_depth, read_rgba, shrink_depth, shrink_rgba
from nstr.signals.scene.transforms import (
    IMAGE_SUFFIXES,
    SPLITS,
    Frame,
    Transforms,
    read_single,
    read_transforms,
    split_file,
    split_frames,
)

SINGLE_FILE = "transforms.json"


@dataclass
class Views:
    """The images and cameras of one split, ready for
    ``nstr.render.cameras.camera_rays(c2w[k], height, width, focal, intrinsics[k])``."""

    images: torch.Tensor  # [V, H, W, 3] float32 in [0, 1], composited on the background
    alphas: torch.Tensor  # [V, H, W] float32 in [0, 1]
    c2w: torch.Tensor  # [V, 4, 4] float32, OpenGL camera-to-world
    focal: float  # pixels, after downscale: the first view's fx (novel views use it with square pixels)
    intrinsics: torch.Tensor  # [V, 4] float32 (fx, fy, cx, cy) of each view, pixels, after downscale
    height: int
    width: int
    files: list[str]  # image paths as read
    depths: torch.Tensor | None = None  # [V, H, W] float32 distance along the ray, 0 = background


@dataclass
class BlenderScene:
    """A loaded scene: one ``Views`` per split, and the scene box's half side when the file gives one
    (``aabb_scale``)."""

    root: Path
    background: str
    downscale: int
    splits: dict[str, Views]
    bound: float | None = None


def load_blender(source: str | Path, downscale: int = 1, background: str = "white",
                 splits: Sequence[str] = SPLITS) -> BlenderScene:
    """Read the cameras and images of ``splits`` from either layout (every JSON is checked before any image is
    decoded)."""
    source = Path(source)
    if isinstance(downscale, bool) or not isinstance(downscale, int) or downscale < 1:
        raise NstrError(f"downscale must be a positive whole number, not {downscale!r}")
    if background not in BACKGROUNDS:
        raise NstrError(f"background must be one of {', '.join(BACKGROUNDS)}, not {background!r}")
    if isinstance(splits, str) or not splits or not set(splits) <= set(SPLITS):
        raise NstrError(f"splits must be a non-empty list of split names such as {SPLITS}, not {splits!r}")
    root, single = scene_layout(source)
    if single is not None:
        transforms = read_single(single)
        chosen = split_frames(transforms)
        per_split = {split: Transforms(transforms.path, chosen[split]) for split in splits}
        bound = transforms.bound
    else:
        per_split = {split: read_transforms(root, split) for split in splits}
        bound = next((t.bound for t in per_split.values() if t.bound is not None), None)
    reference = _Reference()
    views = {split: _load_split(root, t, downscale, background, reference) for split, t in per_split.items()}
    return BlenderScene(root, background, downscale, views, bound)


def scene_layout(source: Path) -> tuple[Path, Path | None]:
    """(the folder file paths are relative to, the single ``transforms.json`` or None for three splits)."""
    if source.suffix.lower() == ".json" and not source.is_dir():
        if source.name in {split_file(Path(), split).name for split in SPLITS}:
            return source.parent, None
        return source.parent, source
    if not source.is_dir():
        raise NstrError(f"scene folder '{source}' not found; give a folder holding transforms_{{train,val,test}}.json "
                        "or a transforms.json")
    if not split_file(source, "train").exists() and (source / SINGLE_FILE).is_file():
        return source, source / SINGLE_FILE
    return source, None


@dataclass
class _Reference:
    """The first image read: every other image must have its size."""

    path: Path | None = None
    shape: tuple[int, int] = (0, 0)

    def check(self, path: Path, shape: tuple[int, int], downscale: int) -> None:
        if self.path is None:
            if shape[0] < downscale or shape[1] < downscale:
                raise NstrError(f"'{path}' is {shape[1]}x{shape[0]} pixels, smaller than downscale {downscale}; "
                                "use a smaller downscale")
            self.path, self.shape = path, shape
        elif shape != self.shape:
            raise NstrError(f"'{path}' is {shape[1]}x{shape[0]} pixels but '{self.path}' is "
                            f"{self.shape[1]}x{self.shape[0]}; all images of a scene must have the same size")


def _load_split(root: Path, transforms: Transforms, downscale: int, background: str, reference: _Reference) -> Views:
    frames = transforms.frames
    with_depth = all(frame.depth_path is not None for frame in frames)
    images = alphas = depths = None
    intrinsics = np.empty((len(frames), 4), np.float64)
    files: list[str] = []
    for k, frame in enumerate(frames):
        path = image_path(root, frame, transforms.path)
        rgba = read_rgba(path)
        reference.check(path, rgba.shape[:2], downscale)
        intrinsics[k] = frame_intrinsics(frame, rgba.shape[:2], downscale, transforms.path)
        premultiplied, alpha = shrink_rgba(rgba, downscale)
        if images is None:
            h, w = alpha.shape
            images = np.empty((len(frames), h, w, 3), np.float32)
            alphas = np.empty((len(frames), h, w), np.float32)
            depths = np.empty((len(frames), h, w), np.float32) if with_depth else None
        images[k] = over_background(premultiplied, alpha, background)
        alphas[k] = alpha
        if depths is not None:
            depths[k] = shrink_depth(read_depth(root / frame.depth_path, rgba.shape[:2]), downscale)
        files.append(str(path))
    height, width = reference.shape
    c2w = np.stack([frame.c2w for frame in frames]).astype(np.float32)
    return Views(
        images=torch.from_numpy(images), alphas=torch.from_numpy(alphas), c2w=torch.from_numpy(c2w),
        focal=float(intrinsics[0, 0]), intrinsics=torch.from_numpy(intrinsics.astype(np.float32)),
        height=height // downscale, width=width // downscale, files=files,
        depths=None if depths is None else torch.from_numpy(depths))


def frame_intrinsics(frame: Frame, shape: tuple[int, int], downscale: int, transforms_path: Path) -> np.ndarray:
    """(fx, fy, cx, cy) [4] of a frame's image of ``shape`` (H, W) after the centre crop and ``downscale``; the
    file's ``w`` and ``h``, when given, must be the image's size."""
    height, width = shape
    given = frame.intrinsics
    if (given.w is not None and given.w != width) or (given.h is not None and given.h != height):
        raise NstrError(f"'{transforms_path}': frame '{frame.file_path}' says w x h = {given.w} x {given.h} but its "
                        f"image is {width} x {height}; fix w and h (and the intrinsics) or the image")
    fx, fy, cx, cy = given.resolve(width, height)
    top, left = centre_offsets(height, width, downscale)
    return np.array([fx / downscale, fy / downscale, (cx - left) / downscale, (cy - top) / downscale])


def image_path(root: Path, frame: Frame, transforms_path: Path) -> Path:
    """The image file a frame names: ``root / file_path`` plus ".png" unless it already has an image suffix."""
    path = root / frame.file_path
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        path = path.with_name(path.name + ".png")
    if not path.is_file():
        raise NstrError(f"'{path}' is missing (frame '{frame.file_path}' of '{transforms_path}'); restore it or "
                        "remove the frame")
    return path
