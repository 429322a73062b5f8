"""Analytic textured objects and exact ray casting, for the synthetic scene generator.

Why analytic: a scene whose depth and colour are known in closed form gives exact ground truth for a
radiance field's depth and novel views, with no Blender and no download. Each object answers three
questions: where a ray first hits it (``intersect``), how far a point is from its surface (``distance``,
for checks) and its colour at a surface point (``albedo``). Shading is Lambertian from one fixed light plus
ambient, so a surface point has the same colour from every view. Arrays are float64 numpy; rays are
origins [N, 3] and unit directions [N, 3] as made by ``nstr.render.cameras.camera_rays``. The world is z-up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

EPS = 1e-9  # hits closer than this to the ray origin are ignored


class Shape(Protocol):
    def intersect(self, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
    def bounds(self) -> tuple[np.ndarray, float]: ...
    def distance(self, points: np.ndarray) -> np.ndarray: ...
    def albedo(self, points: np.ndarray) -> np.ndarray: ...
    def describe(self) -> dict[str, Any]: ...


def _first_positive(candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest candidate t > EPS per row of [N, K] (inf for none) and its column."""
    candidates = np.where(candidates > EPS, candidates, np.inf)
    column = candidates.argmin(axis=1)
    return candidates[np.arange(len(candidates)), column], column


@dataclass(frozen=True)
class Sphere:
    """A sphere with a latitude/longitude checker texture."""

    centre: tuple[float, float, float]
    radius: float
    colours: tuple[tuple[float, float, float], tuple[float, float, float]]
    cells: tuple[int, int] = (12, 6)  # longitude x latitude cells

    def intersect(self, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        oc = origins - np.asarray(self.centre)
        b = (oc * directions).sum(-1)
        c = (oc * oc).sum(-1) - self.radius**2
        disc = b * b - c
        root = np.sqrt(np.maximum(disc, 0.0))
        t, _ = _first_positive(np.stack([-b - root, -b + root], axis=1))
        t = np.where(disc >= 0, t, np.inf)
        normals = (origins + np.nan_to_num(t, posinf=0.0)[:, None] * directions - np.asarray(self.centre))
        return t, normals / self.radius

    def bounds(self) -> tuple[np.ndarray, float]:
        return np.asarray(self.centre, dtype=np.float64), self.radius

    def distance(self, points: np.ndarray) -> np.ndarray:
        return np.linalg.norm(points - np.asarray(self.centre), axis=-1) - self.radius

    def albedo(self, points: np.ndarray) -> np.ndarray:
        local = (points - np.asarray(self.centre)) / self.radius
        longitude = np.arctan2(local[:, 1], local[:, 0]) + np.pi  # [0, 2 pi]
        latitude = np.arcsin(np.clip(local[:, 2], -1.0, 1.0)) + np.pi / 2  # [0, pi]
        cell = np.floor(longitude / (2 * np.pi / self.cells[0])) + np.floor(latitude / (np.pi / self.cells[1]))
        return np.asarray(self.colours)[(cell % 2).astype(int)]

    def describe(self) -> dict[str, Any]:
        return {"kind": "sphere", **asdict(self)}


@dataclass(frozen=True)
class Box:
    """An axis-aligned box with diagonal colour stripes (period ``stripe`` along x + y + z)."""

    low: tuple[float, float, float]
    high: tuple[float, float, float]
    colours: tuple[tuple[float, float, float], ...]
    stripe: float = 0.2

    def intersect(self, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        safe = np.where(np.abs(directions) < 1e-12, 1e-12, directions)
        t1, t2 = (np.asarray(self.low) - origins) / safe, (np.asarray(self.high) - origins) / safe
        near, far = np.minimum(t1, t2), np.maximum(t1, t2)
        t_near, t_far = near.max(axis=1), far.min(axis=1)
        rows = np.arange(len(origins))
        entry, exit_ = near.argmax(axis=1), far.argmin(axis=1)
        inside = t_near <= EPS  # the ray starts inside the box: it hits the exit face
        axis = np.where(inside, exit_, entry)
        t = np.where(inside, t_far, t_near)
        t = np.where((t_far >= t_near) & (t > EPS), t, np.inf)
        normals = np.zeros_like(origins)
        sign = np.sign(safe[rows, axis])
        normals[rows, axis] = np.where(inside, sign, -sign)
        return t, normals

    def bounds(self) -> tuple[np.ndarray, float]:
        low, high = np.asarray(self.low, dtype=np.float64), np.asarray(self.high, dtype=np.float64)
        return (low + high) / 2, float(np.linalg.norm(high - low) / 2)

    def distance(self, points: np.ndarray) -> np.ndarray:
        centre = (np.asarray(self.low) + np.asarray(self.high)) / 2
        q = np.abs(points - centre) - (np.asarray(self.high) - np.asarray(self.low)) / 2
        return np.linalg.norm(np.maximum(q, 0.0), axis=-1) + np.minimum(q.max(axis=-1), 0.0)

    def albedo(self, points: np.ndarray) -> np.ndarray:
        band = np.floor(points.sum(-1) / self.stripe) % len(self.colours)
        return np.asarray(self.colours)[band.astype(int)]

    def describe(self) -> dict[str, Any]:
        return {"kind": "box", **asdict(self)}


@dataclass(frozen=True)
class Cylinder:
    """A vertical (z-axis) cylinder with flat caps, coloured by a gradient from ``bottom`` to ``top``."""

    centre: tuple[float, float]  # x, y of the axis
    radius: float
    z_low: float
    z_high: float
    bottom: tuple[float, float, float]
    top: tuple[float, float, float]

    def intersect(self, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        oxy, dxy = origins[:, :2] - np.asarray(self.centre), directions[:, :2]
        a = (dxy * dxy).sum(-1)
        b = (oxy * dxy).sum(-1)
        c = (oxy * oxy).sum(-1) - self.radius**2
        disc = b * b - a * c
        with np.errstate(divide="ignore", invalid="ignore"):
            root = np.sqrt(np.maximum(disc, 0.0))
            sides = np.stack([(-b - root) / a, (-b + root) / a], axis=1)
            sides = np.where(((disc >= 0) & (a > 1e-12))[:, None], sides, np.inf)
            z_side = origins[:, 2:3] + sides * directions[:, 2:3]
            sides = np.where((z_side >= self.z_low) & (z_side <= self.z_high), sides, np.inf)
            caps = (np.array([self.z_low, self.z_high]) - origins[:, 2:3]) / directions[:, 2:3]
            caps = np.where(np.isfinite(caps), caps, np.inf)
        cap_xy = oxy[:, None, :] + np.nan_to_num(caps, posinf=0.0)[..., None] * dxy[:, None, :]
        caps = np.where((cap_xy**2).sum(-1) <= self.radius**2, caps, np.inf)
        t, column = _first_positive(np.concatenate([sides, caps], axis=1))
        hit_xy = oxy + np.nan_to_num(t, posinf=0.0)[:, None] * dxy
        normals = np.concatenate([hit_xy / self.radius, np.zeros_like(t)[:, None]], axis=1)
        normals[column == 2] = (0.0, 0.0, -1.0)
        normals[column == 3] = (0.0, 0.0, 1.0)
        return t, normals

    def bounds(self) -> tuple[np.ndarray, float]:
        half = (self.z_high - self.z_low) / 2
        return np.array([*self.centre, self.z_low + half]), float(np.hypot(self.radius, half))

    def distance(self, points: np.ndarray) -> np.ndarray:
        radial = np.linalg.norm(points[:, :2] - np.asarray(self.centre), axis=-1) - self.radius
        axial = np.abs(points[:, 2] - (self.z_low + self.z_high) / 2) - (self.z_high - self.z_low) / 2
        outside = np.sqrt(np.maximum(radial, 0.0) ** 2 + np.maximum(axial, 0.0) ** 2)
        return outside + np.minimum(np.maximum(radial, axial), 0.0)

    def albedo(self, points: np.ndarray) -> np.ndarray:
        w = np.clip((points[:, 2] - self.z_low) / (self.z_high - self.z_low), 0.0, 1.0)[:, None]
        return (1 - w) * np.asarray(self.bottom) + w * np.asarray(self.top)

    def describe(self) -> dict[str, Any]:
        return {"kind": "cylinder", **asdict(self)}


@dataclass(frozen=True)
class Hits:
    """The first hit of each ray: distance t (inf on a miss), object index (-1 on a miss), unit normal."""

    t: np.ndarray
    index: np.ndarray
    normals: np.ndarray

    @property
    def hit(self) -> np.ndarray:
        return self.index >= 0


@dataclass(frozen=True)
class AnalyticScene:
    """Objects lit by one directional light (``light`` points towards the light) plus ambient."""

    objects: tuple[Shape, ...]
    light: tuple[float, float, float] = (0.5, 0.3, 0.8)
    ambient: float = 0.25

    def cast(self, origins: np.ndarray, directions: np.ndarray) -> Hits:
        """Exact first hit of rays [N, 3] against every object (each tested only on the rays that pass
        through its bounding sphere: objects cover a small part of a view)."""
        t = np.full(len(origins), np.inf)
        index = np.full(len(origins), -1)
        normals = np.zeros_like(origins)
        for k, shape in enumerate(self.objects):
            centre, radius = shape.bounds()
            oc = origins - centre
            along = (oc * directions).sum(-1)
            near = (oc * oc).sum(-1) - along**2 <= (radius * (1 + 1e-6)) ** 2
            rows = np.flatnonzero(near)
            if rows.size == 0:
                continue
            t_k, normal_k = shape.intersect(origins[rows], directions[rows])
            closer = t_k < t[rows]
            rows, t_k, normal_k = rows[closer], t_k[closer], normal_k[closer]
            t[rows], index[rows], normals[rows] = t_k, k, normal_k
        return Hits(t, index, normals)

    def shade(self, points: np.ndarray, hits: Hits) -> np.ndarray:
        """Straight colour [N, 3] of hit points: albedo * (ambient + (1 - ambient) * max(0, n . light))."""
        light = np.asarray(self.light) / np.linalg.norm(self.light)
        lambert = np.maximum(hits.normals @ light, 0.0)[:, None]
        rgb = np.zeros_like(points)
        for k, shape in enumerate(self.objects):
            mine = hits.index == k
            if mine.any():
                rgb[mine] = shape.albedo(points[mine]) * (self.ambient + (1 - self.ambient) * lambert[mine])
        return rgb

    def render(self, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Straight rgb [N, 3], alpha [N] (1 hit, 0 miss) and depth [N] (0 on a miss) of rays."""
        hits = self.cast(origins, directions)
        depth = np.where(hits.hit, hits.t, 0.0)
        rgb = self.shade(origins + depth[:, None] * directions, hits)
        return rgb, hits.hit.astype(np.float64), depth

    def describe(self) -> dict[str, Any]:
        return {"objects": [shape.describe() for shape in self.objects], "light": list(self.light),
                "ambient": self.ambient}
