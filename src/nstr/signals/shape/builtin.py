"""Built-in shapes made with trimesh's primitives, so examples and tests need no mesh file.

``part``: a machined part, a flat ring (annulus) with sharp rims around a square pillar that stands through
its hole: flat faces, sharp convex and concave creases and two separate components, the features that make
fandisk a hard SDF target, in 780 faces. It is written once, as an OFF file in millimetres (the ring is 40 mm
across), under $NSTR_CACHE (default ~/.cache/nstr).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nstr.core.io import cache_dir, write_atomic
from nstr.core.lazy import lazy_import

trimesh = lazy_import("trimesh")  # loaded on first use (0.3 s)

#: The part is modelled on a ring 2 units across and written in millimetres: 40 mm across, 24 mm tall.
MILLIMETRES = 20.0


def _part() -> trimesh.Trimesh:
    ring = trimesh.creation.annulus(r_min=0.45, r_max=1.0, height=0.5, sections=96)
    pillar = trimesh.creation.box(extents=(0.5, 0.5, 1.2))
    pillar.apply_transform(trimesh.transformations.rotation_matrix(0.3, (0, 0, 1)))
    part = trimesh.util.concatenate([ring, pillar])
    part.apply_scale(MILLIMETRES)
    return part


#: name -> builder of the mesh.
BUILTIN_SHAPES: dict[str, Callable[[], trimesh.Trimesh]] = {"part": _part}


def builtin_shape_path(name: str) -> Path:
    """The OFF file of a built-in shape, written on first use."""
    path = cache_dir() / "shapes" / f"{name}-v1.off"  # bump the version when a shape changes
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, trimesh.exchange.off.export_off(BUILTIN_SHAPES[name]()).encode())
    return path
