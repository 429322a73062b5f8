"""``make_scene``: a small Blender-format scene rendered by exact analytic ray casting.

Why: a NeRF test scene with exact ground truth (colour, alpha and depth) that takes seconds to make, needs
no download and is identical on every machine. Three textured objects (``SCENE``: a checkered sphere, a
striped box and a gradient cylinder) stand inside [-1.2, 1.2]^3; cameras sit on a sphere of radius 4
looking at the origin with ``camera_angle_x`` as nerf_synthetic's lego. Train and val cameras are random
(seeded separately) over elevations 10 to 60 degrees; test cameras are a turntable at 30 degrees.

Each view is ``{split}/r_{k}.png`` (8-bit RGBA, transparent background, straight colour, anti-aliased by
s x s supersampling: premultiplied colour and alpha averaged over the sub-pixels) and
``{split}/r_{k}_depth.npy`` (float32 [H, W] distance along the unit pixel-centre ray of
``nstr.render.cameras.camera_rays`` to the first hit, 0 for background). ``scene.json`` records the settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from nstr.core.errors import NstrError
from nstr.core.io import write_atomic, write_json, write_npy
from nstr.core.png import encode_png
from nstr.render.cameras import camera_rays, focal_from_fov, random_orbit, ring_orbit
from nstr.signals.scene.analytic import AnalyticScene, Box, Cylinder, Sphere
from nstr.signals.scene.staging import check_target, staged_directory

CAMERA_ANGLE_X = 0.6911112070083618  # nerf_synthetic lego's horizontal field of view, radians
RADIUS = 4.0
ELEVATION_DEG = (10.0, 60.0)
TEST_ELEVATION_DEG = 30.0
CHUNK = 1 << 16  # rays cast at a time, to bound memory at large sizes
SPLIT_STREAMS = {"train": 0, "val": 1}  # seed streams: val cameras never repeat train cameras

#: The objects every generated scene shows; their surfaces are what the depth maps measure.
SCENE = AnalyticScene(objects=(
    Sphere(centre=(0.5, 0.3, -0.05), radius=0.55, colours=((0.85, 0.2, 0.15), (0.95, 0.9, 0.8))),
    Box(low=(-0.95, -0.2, -0.6), high=(-0.25, 0.6, 0.1),
        colours=((0.1, 0.45, 0.9), (0.95, 0.75, 0.1), (0.2, 0.7, 0.3))),
    Cylinder(centre=(0.0, -0.6), radius=0.35, z_low=-0.6, z_high=0.8, bottom=(0.15, 0.2, 0.8),
             top=(0.95, 0.85, 0.2)),
))


def make_scene(out: str | Path, size: int = 100, train: int = 100, val: int = 10, test: int = 20, seed: int = 0,
               supersample: int = 2, overwrite: bool = False) -> Path:
    """Render and write a scene folder ``out`` (all or nothing); returns its path."""
    out = Path(out)
    for name, value in (("size", size), ("train", train), ("val", val), ("test", test),
                        ("supersample", supersample)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise NstrError(f"{name} must be a whole number >= 1, not {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise NstrError(f"seed must be a whole number >= 0, not {seed!r}")
    check_target(out, overwrite)
    poses = {
        "train": random_orbit(train, np.random.default_rng([seed, SPLIT_STREAMS["train"]]), RADIUS, ELEVATION_DEG),
        "val": random_orbit(val, np.random.default_rng([seed, SPLIT_STREAMS["val"]]), RADIUS, ELEVATION_DEG),
        "test": ring_orbit(test, RADIUS, TEST_ELEVATION_DEG),
    }
    with staged_directory(out, overwrite) as staging:
        for split, c2ws in poses.items():
            (staging / split).mkdir()
            frames = [_write_view(staging, split, k, c2w, size, supersample) for k, c2w in enumerate(c2ws)]
            write_json(staging / f"transforms_{split}.json", {"camera_angle_x": CAMERA_ANGLE_X, "frames": frames})
        write_json(staging / "scene.json", settings(size, train, val, test, seed, supersample))
    return out


def settings(size: int, train: int, val: int, test: int, seed: int, supersample: int) -> dict[str, Any]:
    """What ``scene.json`` records: everything needed to make the same scene again."""
    return {
        "generator": "nstr.signals.scene.make", "size": size, "train": train, "val": val, "test": test, "seed": seed,
        "supersample": supersample, "camera_angle_x": CAMERA_ANGLE_X, "camera_radius": RADIUS,
        "elevation_deg": list(ELEVATION_DEG), "test_elevation_deg": TEST_ELEVATION_DEG, "background": "transparent",
        "scene_box": [[-1.2, -1.2, -1.2], [1.2, 1.2, 1.2]], **SCENE.describe(),
    }


def _write_view(folder: Path, split: str, k: int, c2w: np.ndarray, size: int, supersample: int) -> dict[str, Any]:
    rgba, depth = render_view(c2w, size, supersample)
    stem = f"{split}/r_{k}"
    write_atomic(folder / f"{stem}.png", encode_png(rgba))
    write_npy(folder / f"{stem}_depth.npy", depth)
    return {"file_path": f"./{stem}", "transform_matrix": c2w.tolist(), "depth_path": f"./{stem}_depth.npy"}


def render_view(c2w: np.ndarray, size: int, supersample: int = 2,
                scene: AnalyticScene = SCENE) -> tuple[np.ndarray, np.ndarray]:
    """One square view: 8-bit straight RGBA [size, size, 4] (s x s supersampled) and float32 depth [size, size]
    at the pixel centres."""
    s = supersample
    focal = focal_from_fov(size, CAMERA_ANGLE_X)
    rgb, alpha, _ = _render(scene, torch.from_numpy(c2w), size * s, focal * s)
    premultiplied = (rgb * alpha[..., None]).reshape(size, s, size, s, 3).mean(axis=(1, 3))
    alpha = alpha.reshape(size, s, size, s).mean(axis=(1, 3))
    straight = premultiplied / np.maximum(alpha, 1e-12)[..., None]
    rgba = np.concatenate([straight, alpha[..., None]], axis=-1)
    _, _, depth = _render(scene, torch.from_numpy(c2w), size, focal, colour=False)
    return np.rint(np.clip(rgba, 0.0, 1.0) * 255).astype(np.uint8), depth.astype(np.float32)


def _render(scene: AnalyticScene, c2w: torch.Tensor, size: int, focal: float,
            colour: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Straight rgb [size, size, 3], alpha and depth [size, size] of the rays of ``camera_rays``, in chunks."""
    origins, directions = camera_rays(c2w, size, size, focal)
    origins = origins.reshape(-1, 3).numpy().astype(np.float64)
    directions = directions.reshape(-1, 3).numpy().astype(np.float64)
    rgb, alpha, depth = np.zeros((len(origins), 3)), np.zeros(len(origins)), np.zeros(len(origins))
    for start in range(0, len(origins), CHUNK):
        part = slice(start, start + CHUNK)
        if colour:
            rgb[part], alpha[part], depth[part] = scene.render(origins[part], directions[part])
        else:
            hits = scene.cast(origins[part], directions[part])
            depth[part] = np.where(hits.hit, hits.t, 0.0)
    return rgb.reshape(size, size, 3), alpha.reshape(size, size), depth.reshape(size, size)
