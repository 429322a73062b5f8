"""Training and evaluation samples around a mesh: a pool drawn once, then batches by tensor indexing.

Kinds of sample (column ``KIND`` of the targets): points on the surface (area-weighted, with the face
normal), near-surface points (a surface point plus Gaussian noise at two scales, DeepSDF style) and
points uniform in the box [-1, 1]^3. Every non-surface point carries its exact signed distance
(``nstr.signals.shape.distance``). Drawing a batch is ``randint`` per kind into that kind's block of the pool,
so resampling costs one index and one gather, never a distance query.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nstr.signals.shape.distance import signed_distance
from nstr.signals.shape.mesh_io import Mesh

#: Target columns: signed distance, surface normal (x, y, z; zero off the surface), kind.
SDF, NORMAL, KIND = 0, slice(1, 4), 4
TARGET_WIDTH = 5
#: Kinds.
SURFACE, NEAR_FINE, NEAR_COARSE, UNIFORM = 0, 1, 2, 3
#: Standard deviations of the near-surface noise, normalised units (the shape spans [-0.9, 0.9]); DeepSDF
#: perturbs with variances 0.0025 and 0.00025 on a unit sphere, about these on our scale.
NEAR_SIGMAS = {NEAR_FINE: 0.01, NEAR_COARSE: 0.05}
#: Share of each kind in the pool.
POOL_SHARES = {SURFACE: 0.3, NEAR_FINE: 0.25, NEAR_COARSE: 0.25, UNIFORM: 0.2}
#: Share of each kind in a training batch, per loss: the DeepSDF-style regression sees mostly
#: near-surface points; SIREN's point-cloud loss half surface, half uniform points (as its reference code).
MIXTURES = {
    "sdf": {SURFACE: 0.2, NEAR_FINE: 0.35, NEAR_COARSE: 0.3, UNIFORM: 0.15},
    "siren": {SURFACE: 0.5, UNIFORM: 0.5},
}
#: The held-fixed evaluation set: the near-surface band (where the surface is decided) and the box.
EVAL_MIXTURE = {NEAR_FINE: 0.4, NEAR_COARSE: 0.4, UNIFORM: 0.2}


def surface_samples(mesh: Mesh, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` points uniform over the surface area [n, 3], their face normals [n, 3] and face indices [n]."""
    areas, normals = mesh.face_areas_normals()
    cdf = np.cumsum(areas)
    faces = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(areas) - 1)
    u, v = rng.random(n), rng.random(n)
    flip = u + v > 1  # reflect into the triangle: uniform barycentric coordinates
    u, v = np.where(flip, 1 - u, u), np.where(flip, 1 - v, v)
    t = mesh.triangles[faces]
    points = t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])
    return points, normals[faces], faces


def labelled_samples(mesh: Mesh, counts: dict[int, int], rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Points [N, 3] and targets [N, TARGET_WIDTH], kind by kind in ``counts`` order."""
    points, targets = [], []
    for kind, n in counts.items():
        target = np.zeros((n, TARGET_WIDTH))
        target[:, KIND] = kind
        if kind == UNIFORM:
            p = rng.uniform(-1.0, 1.0, (n, 3))
        else:
            p, normals, _ = surface_samples(mesh, n, rng)
            if kind == SURFACE:
                target[:, NORMAL] = normals
            else:
                p = np.clip(p + rng.normal(0.0, NEAR_SIGMAS[kind], p.shape), -1.0, 1.0)
        points.append(p)
        targets.append(target)
    points_all, targets_all = np.concatenate(points), np.concatenate(targets)
    off = targets_all[:, KIND] != SURFACE
    targets_all[off, SDF] = signed_distance(points_all[off], mesh)[0]
    return points_all, targets_all


def split_counts(total: int, shares: dict[int, float]) -> dict[int, int]:
    """``total`` split by ``shares`` (rounded, summing exactly to ``total``)."""
    kinds = list(shares)
    weights = np.array([shares[k] for k in kinds], dtype=np.float64)
    counts = np.floor(weights / weights.sum() * total).astype(int)
    counts[np.argmax(weights)] += total - counts.sum()
    return dict(zip(kinds, counts.tolist(), strict=True))


@dataclass
class SamplePool:
    """Points [P, 3] and targets [P, TARGET_WIDTH] (float32 tensors), stored kind by kind in ``blocks``."""

    points: torch.Tensor
    targets: torch.Tensor
    blocks: dict[int, tuple[int, int]]

    @classmethod
    def build(cls, mesh: Mesh, size: int, seed: int) -> SamplePool:
        counts = split_counts(size, POOL_SHARES)
        points, targets = labelled_samples(mesh, counts, np.random.default_rng(seed))
        starts = np.cumsum([0, *counts.values()])
        blocks = {kind: (int(starts[i]), int(starts[i + 1])) for i, kind in enumerate(counts)}
        return cls(torch.from_numpy(points.astype(np.float32)), torch.from_numpy(targets.astype(np.float32)), blocks)

    def draw(self, counts: dict[int, int], generator: torch.Generator) -> torch.Tensor:
        """Indices into the pool: ``counts[kind]`` of each kind, uniform with replacement within its block, on
        the generator's device (the pool's)."""
        parts = [start + torch.randint(stop - start, (counts[kind],), generator=generator, device=generator.device)
                 for kind, (start, stop) in self.blocks.items() if counts.get(kind)]
        return torch.cat(parts)
