"""What ``nstr render`` makes of a fitted radiance field: novel views (.png) and their depth maps (.npy), orbits
and camera paths (.gif, .mp4, or a .npy stack of depth maps), and a coloured mesh of the density field (.ply,
.obj, .glb, .stl, .off).

The mesh: the density sampled on a ``resolution``^3 grid over the scene box [-bound, bound]^3, the surface
where it crosses ``threshold`` (marching cubes through ``nstr.signals.shape.extract``: scikit-image's, already a
dependency), faces pointing out of the dense region. Each vertex is coloured by the field seen head-on: the
view direction is minus the outward vertex normal (trimesh's, from the faces around it), as a camera facing that
bit of surface would see it. The default threshold, 5 per scene unit (a ray loses half its light within
ln 2 / 5 = 0.14 units there), put the vertices closest to the true surface among 1, 2.5, 5, 10, 20 and 30 in
`benchmarks/nerf_mesh.py` (a hash grid fitted for 60 s to the built-in analytic scene; the README has the
numbers). The default resolution, 128 per axis, takes about 10 s on a CPU core; 256 is 8 times the work.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nstr.core.device import module_device
from nstr.core.errors import NstrError
from nstr.core.io import write_npy
from nstr.core.lazy import lazy_import
from nstr.models.base import Field
from nstr.render.cameras import orbit_poses
from nstr.signals.image.signal import parse_size
from nstr.signals.scene.blender import Views
from nstr.signals.scene.paths import read_camera_path
from nstr.signals.scene.pictures import save_orbit, save_rgb, save_video, to_uint8
from nstr.signals.scene.views import depth_map, render_views
from nstr.signals.shape.extract import marching_cubes, sample_grid
from nstr.signals.shape.mesh_io import MESH_SUFFIXES, save_mesh

trimesh = lazy_import("trimesh")

VIDEO_SUFFIXES = (".gif", ".mp4")
MESH_RESOLUTION = 128
DENSITY_THRESHOLD = 5.0
#: Densities above this are clipped before marching cubes (an overflowing exp stays "inside", not NaN).
DENSITY_CAP = 1e6
#: Points per call of the field when colouring vertices.
CHUNK = 1 << 16


@dataclass(frozen=True)
class ColouredMesh:
    """Vertices [V, 3] (float64, scene units), faces [F, 3] (int64, outward) and vertex colours [V, 3] (uint8)."""

    vertices: np.ndarray
    faces: np.ndarray
    colours: np.ndarray


def density_mesh(density: Callable[[torch.Tensor], torch.Tensor], colour: Callable[[torch.Tensor, torch.Tensor],
                 torch.Tensor], bound: float, resolution: int, threshold: float) -> ColouredMesh:
    """The surface where ``density`` (world points [N, 3] -> [N]) crosses ``threshold`` inside [-bound, bound]^3,
    coloured by ``colour`` (points [N, 3], unit view directions [N, 3] -> rgb [N, 3] in [0, 1]) seen along
    minus the vertex normal. Callables get and return host tensors."""
    if not (math.isfinite(threshold) and threshold > 0):
        raise NstrError(f"--threshold must be a positive density, got {threshold}")
    volume = sample_grid(lambda unit: density(unit * bound), resolution)
    peak = float(np.nanmax(volume)) if np.isfinite(volume).any() else float("nan")
    extracted = marching_cubes(threshold - np.minimum(volume, DENSITY_CAP))
    if extracted is None or not len(extracted[1]):
        raise NstrError(f"the density never crosses --threshold {threshold:g} inside the scene box (its largest value "
                        f"on the grid is {peak:.3g}); choose a threshold between the empty and the solid densities")
    vertices, faces = extracted[0] * bound, extracted[1]
    normals = np.asarray(trimesh.Trimesh(vertices, faces, process=False).vertex_normals, dtype=np.float64)
    points = torch.from_numpy(vertices.astype(np.float32))
    views = torch.from_numpy(-normals.astype(np.float32))
    with torch.no_grad():
        rgb = torch.cat([colour(points[i : i + CHUNK], views[i : i + CHUNK]) for i in range(0, len(points), CHUNK)])
    return ColouredMesh(vertices, faces, to_uint8(rgb.clamp(0, 1).numpy()))


def model_mesh(model: Field, resolution: int, threshold: float) -> ColouredMesh:
    """``density_mesh`` of a fitted radiance model (``model.density``, ``model.field``) over its scene box."""
    device = module_device(model)
    model.eval()

    def density(points: torch.Tensor) -> torch.Tensor:
        return model.density(points.to(device)).float().cpu()

    def colour(points: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
        return model.field(points.to(device), directions.to(device))[1].float().cpu()

    return density_mesh(density, colour, model.config.bound, resolution, threshold)


def render_scene_run(model: Field, train: Views, output: Path, options: dict[str, Any]) -> str:
    """``nstr render`` of a scene run into ``output``, by its suffix (see the module docstring); ``train`` are the
    fitted scene's train views (their cameras set the orbit and the default size)."""
    suffix = output.suffix.lower()
    camera_path = options.get("camera_path")
    if suffix in MESH_SUFFIXES:
        if camera_path is not None:
            raise NstrError(f"a camera path renders views (.gif .mp4 .npy), not a mesh: drop '{camera_path}' to write "
                            f"'{output}'")
        return _write_mesh(model, output, int(options.get("resolution") or MESH_RESOLUTION),
                           float(options.get("threshold", DENSITY_THRESHOLD)))
    if camera_path is not None:
        return _render_path(model, Path(camera_path), output, options, train)
    if suffix not in (*VIDEO_SUFFIXES, ".png", ".npy"):
        raise NstrError(f"OUTPUT '{output}' must end in .gif or .mp4 (an orbit), .png (one view), .npy (its depth) or "
                        f"{' '.join(MESH_SUFFIXES)} (a mesh) for a scene")
    height, width = parse_size(options["size"]) if "size" in options else (train.height, train.width)
    focal = train.focal * width / train.width
    if suffix in VIDEO_SUFFIXES:
        frames = int(options.get("frames", 40))
        save_orbit(output, model, train.c2w, frames, height, width, focal)
        return f"wrote {output} ({frames} frames of {width}x{height} novel views)"
    images, depths, opacities = render_views(model, orbit_poses(train.c2w, 1), height, width, focal)
    if suffix == ".npy":
        write_npy(output, depth_map(depths[0], opacities[0]))
        return f"wrote {output} ({width}x{height} float32 depth of one novel view, scene units, 0 = empty)"
    save_rgb(output, images[0])
    return f"wrote {output} ({width}x{height}, one novel view)"


def _write_mesh(model: Field, output: Path, resolution: int, threshold: float) -> str:
    mesh = model_mesh(model, resolution, threshold)
    save_mesh(output, mesh.vertices, mesh.faces, mesh.colours)
    bound = model.config.bound
    return (f"wrote {output} ({len(mesh.vertices):,} vertices, {len(mesh.faces):,} faces: density {threshold:g} "
            f"on a {resolution}^3 grid over [-{bound:g}, {bound:g}]^3, coloured as seen along minus the normal)")


def _render_path(model: Field, camera_path: Path, output: Path, options: dict[str, Any], train: Views) -> str:
    """Every pose of a camera path file: a video (.gif .mp4) or a stack of depth maps [F, H, W] (.npy)."""
    suffix = output.suffix.lower()
    if suffix not in (*VIDEO_SUFFIXES, ".npy"):
        raise NstrError(f"OUTPUT '{output}' must end in .gif or .mp4 (a video) or .npy (depth maps) for a camera path")
    path = read_camera_path(camera_path)
    if "size" in options:
        height, width = parse_size(options["size"])
    else:
        height, width = path.height or train.height, path.width or train.width
    focals = path.focals(height, width)
    intrinsics = torch.tensor([[f, f, width / 2, height / 2] for f in focals], dtype=torch.float32)
    poses = torch.from_numpy(path.poses.astype(np.float32))
    images, depths, opacities = render_views(model, poses, height, width, float(focals[0]), intrinsics)
    if suffix == ".npy":
        write_npy(output, np.stack([depth_map(d, o) for d, o in zip(depths, opacities, strict=True)]))
        return f"wrote {output} ({len(poses)} float32 depth maps of {width}x{height}, scene units, 0 = empty)"
    save_video(output, to_uint8(images), path.fps)
    return f"wrote {output} ({len(poses)} frames of {width}x{height} at {path.fps:g} fps along '{camera_path}')"
