"""Read triangle meshes (OBJ, OFF, PLY, STL, GLB) with one-line errors, normalise them, write them back.

``trimesh`` reads and writes every format we support in pure Python (no compiled reader per format) and
flattens a GLB scene graph into one mesh with its transforms applied, so it is the one mesh I/O library.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nstr.core.errors import NstrError
from nstr.core.io import write_atomic
from nstr.core.lazy import lazy_import

trimesh = lazy_import("trimesh")  # loaded on first use (0.3 s)

MESH_SUFFIXES = (".obj", ".off", ".ply", ".stl", ".glb")
#: Half the side of the cube [-EXTENT, EXTENT] the longest side of a mesh's bounding box is scaled to; the
#: margin up to 1 leaves room for near-surface samples and a closed marching-cubes surface.
EXTENT = 0.9


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh as float64 vertices [V, 3] and int64 faces [F, 3], outward-facing."""

    vertices: np.ndarray
    faces: np.ndarray

    @property
    def triangles(self) -> np.ndarray:
        """Corner positions [F, 3, 3]."""
        return self.vertices[self.faces]

    def face_areas_normals(self) -> tuple[np.ndarray, np.ndarray]:
        """Face areas [F] and unit face normals [F, 3] (zero for zero-area faces)."""
        t = self.triangles
        cross = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
        norm = np.linalg.norm(cross, axis=1)
        normals = np.divide(cross, norm[:, None], out=np.zeros_like(cross), where=norm[:, None] > 0)
        return norm / 2, normals

    def signed_volume(self) -> float:
        """Enclosed volume by the divergence theorem; negative when the faces point inwards."""
        t = self.triangles
        return float(np.einsum("ij,ij->i", t[:, 0], np.cross(t[:, 1], t[:, 2])).sum() / 6)

    def bounds(self) -> np.ndarray:
        """[[min x, min y, min z], [max x, max y, max z]]."""
        return np.stack([self.vertices.min(axis=0), self.vertices.max(axis=0)])

    def diagonal(self) -> float:
        lo, hi = self.bounds()
        return float(np.linalg.norm(hi - lo))


@dataclass(frozen=True)
class Normalisation:
    """x_unit = (x - centre) / scale: the mesh's bounding box centred at 0, longest side spanning 2 * EXTENT."""

    centre: tuple[float, float, float]
    scale: float

    @classmethod
    def fit(cls, mesh: Mesh) -> Normalisation:
        lo, hi = mesh.bounds()
        return cls(tuple(float(c) for c in (lo + hi) / 2), float((hi - lo).max() / (2 * EXTENT)))

    def to_unit(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, dtype=np.float64) - np.asarray(self.centre)) / self.scale

    def to_original(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, dtype=np.float64) * self.scale + np.asarray(self.centre)

    def to_dict(self) -> dict[str, Any]:
        return {"centre": list(self.centre), "scale": self.scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Normalisation:
        return cls(tuple(float(c) for c in data["centre"]), float(data["scale"]))


def load_mesh(source: str | Path) -> Mesh:
    """A validated, outward-facing triangle mesh from a file, or NstrError with a one-line reason."""
    path = Path(source)
    if not path.exists():
        raise NstrError(f"mesh '{source}' not found: give an existing {', '.join(MESH_SUFFIXES)} file")
    if path.is_dir():
        raise NstrError(f"'{source}' is a directory, not a mesh file")
    if path.stat().st_size == 0:
        raise NstrError(f"'{source}' is empty (0 bytes)")
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise NstrError(f"'{source}' has an unsupported extension '{path.suffix}': use {', '.join(MESH_SUFFIXES)}")
    vertices, faces = _read(path)
    return validate_mesh(vertices, faces, str(source))


def _read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        loaded = trimesh.load(path, process=False)
    except Exception as exc:  # trimesh raises ValueError, KeyError, IndexError... for corrupt files
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise NstrError(f"'{path}' could not be read as a mesh ({message[:120]})") from None
    if isinstance(loaded, trimesh.Scene):
        meshes = [g for g in loaded.geometry.values() if isinstance(g, trimesh.Trimesh) and len(g.faces)]
        points = sum(len(g.vertices) for g in loaded.geometry.values() if isinstance(g, trimesh.PointCloud))
        if not meshes and points:
            _point_cloud_error(path, points)
        if not meshes:
            raise NstrError(f"'{path}' holds no triangles: it is not a mesh file, or an empty one")
        loaded = loaded.to_mesh()
    if isinstance(loaded, trimesh.PointCloud):
        _point_cloud_error(path, len(loaded.vertices))
    if not isinstance(loaded, trimesh.Trimesh):
        raise NstrError(f"'{path}' holds a {type(loaded).__name__}, not a triangle mesh")
    return np.asarray(loaded.vertices, dtype=np.float64), np.asarray(loaded.faces, dtype=np.int64).reshape(-1, 3)


def _point_cloud_error(path: Path, points: int) -> None:
    raise NstrError(f"'{path}' is a point cloud ({points} points, no faces); a shape needs a triangle mesh: "
                    "reconstruct a surface first (for example Poisson reconstruction)")


def validate_mesh(vertices: np.ndarray, faces: np.ndarray, name: str = "mesh") -> Mesh:
    """Check a mesh can define inside and outside; orient it outwards. One-line NstrError otherwise."""
    vertices = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if len(faces) == 0:
        what = f"{len(vertices)} vertices and no faces" if len(vertices) else "no vertices and no faces"
        raise NstrError(f"'{name}' has {what}: a shape needs a triangle mesh")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise NstrError(f"'{name}' has faces that refer to missing vertices; repair the file")
    if not np.isfinite(vertices).all():
        raise NstrError(f"'{name}' has NaN or infinite vertex coordinates; repair the file")
    mesh = Mesh(vertices, faces)
    areas, _ = mesh.face_areas_normals()
    extent = np.ptp(vertices[np.unique(faces)], axis=0)
    if areas.sum() <= 1e-12 * max(extent.max(), 1e-300) ** 2:
        raise NstrError(f"'{name}' is degenerate: all its {len(faces)} faces have zero area")
    if extent.min() <= 1e-9 * extent.max():
        raise NstrError(f"'{name}' is degenerate: it is flat (no extent along one axis), so it has no inside")
    if mesh.signed_volume() < 0:  # faces point inwards: flip them so normals point out and inside is negative
        mesh = Mesh(vertices, faces[:, ::-1].copy())
    return mesh


def mesh_bytes(vertices: np.ndarray, faces: np.ndarray, suffix: str, colours: np.ndarray | None = None) -> bytes:
    """The mesh encoded as a file of type ``suffix`` (.ply binary, .obj, .stl, .off, .glb), with per-vertex
    ``colours`` (uint8 [V, 3]) where the format holds them (.ply, .obj, .glb)."""
    mesh = trimesh.Trimesh(vertices, faces, vertex_colors=colours, process=False)
    encoded = mesh.export(file_type=suffix.lstrip(".").lower())
    return encoded.encode() if isinstance(encoded, str) else encoded


def save_mesh(path: Path, vertices: np.ndarray, faces: np.ndarray, colours: np.ndarray | None = None) -> Path:
    """Write a mesh atomically (never half-written), format by suffix; ``colours`` as in ``mesh_bytes``."""
    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise NstrError(f"'{path}' must end in one of {', '.join(MESH_SUFFIXES)} to write a mesh")
    write_atomic(path, mesh_bytes(vertices, faces, path.suffix, colours))
    return path
