"""Does ||dS/dx|| follow curvature? The reference surface's mean curvature, and its rank correlation with
the spectral gradient of a fitted NSTR field (the paper's claim that S(x) varies where the shape bends).

Mean curvature is the discrete one of libigl (cotangent Laplacian over Voronoi area, |H| = |M^-1 L V| / 2),
computed on the mesh with duplicate vertices merged (``trimesh``), so triangle soups such as STL files work.
"""

from __future__ import annotations

import numpy as np
import torch

from nstr.core.device import module_device
from nstr.core.lazy import lazy_import
from nstr.signals.shape.mesh_io import Mesh

igl = lazy_import("igl")
sp = lazy_import("scipy.sparse")
trimesh = lazy_import("trimesh")  # loaded on first use (0.3 s)
scipy_stats = lazy_import("scipy.stats")


def face_mean_curvature(mesh: Mesh) -> np.ndarray:
    """|H| per face [F] (mean of its vertices'), in the mesh's units of 1/length."""
    merged = trimesh.Trimesh(mesh.vertices, mesh.faces, process=True)  # merges duplicates, keeps face order
    v, f = np.asarray(merged.vertices, dtype=np.float64), np.asarray(merged.faces, dtype=np.int64)
    if len(f) != len(mesh.faces):  # trimesh dropped faces: fall back to the mesh as given
        v, f = mesh.vertices, mesh.faces
    laplacian = igl.cotmatrix(v, f)
    area = np.asarray(igl.massmatrix(v, f, igl.MASSMATRIX_TYPE_VORONOI).diagonal())
    inverse = sp.diags(np.divide(1.0, area, out=np.zeros_like(area), where=area > 0))
    vertex_h = 0.5 * np.linalg.norm(inverse @ (laplacian @ v), axis=1)
    return vertex_h[f].mean(axis=1)


@torch.no_grad()
def spectral_gradient_norm(model, points: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """||dS/dx|| (Frobenius over K x 3) at ``points`` [N, 3], for a model with ``spectrum_jacobian``."""
    x = torch.from_numpy(np.asarray(points, dtype=np.float32))
    device = module_device(model)
    was_training = model.training
    model.eval()
    try:
        parts = [model.spectrum_jacobian(x[i : i + chunk].to(device))[1].flatten(1).norm(dim=1).cpu()
                 for i in range(0, len(x), chunk)]
    finally:
        model.train(was_training)
    return torch.cat(parts).numpy()


def gradient_curvature_correlation(model, points: np.ndarray, faces: np.ndarray, curvature: np.ndarray) -> float:
    """Spearman rank correlation between ||dS/dx|| and |H| at surface points lying on ``faces``."""
    rho = scipy_stats.spearmanr(spectral_gradient_norm(model, points), curvature[faces]).statistic
    return float(rho) if np.isfinite(rho) else float("nan")
