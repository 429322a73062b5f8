"""3-D shapes as signed distance fields: ``nstr fit bunny.off --model hashgrid``.

A mesh (OBJ, OFF, PLY, STL, GLB) is normalised into [-1, 1]^3 (bounding box centred, longest side spanning
[-0.9, 0.9]; the transform is kept, so every mesh written goes back to the file's units). At load, a pool
of samples is drawn once (``nstr.signals.shape.sampling``: surface points with normals, near-surface points at two
noise scales, uniform points, each with its exact signed distance from ``nstr.signals.shape.distance``); every
``resample_every`` steps the training samples are redrawn from it by tensor indexing.

Samples: ``coords`` are the current training samples (redrawn by ``nstr.signals.sampling.Resampler``);
``eval_coords`` are held-fixed evaluation points drawn apart from the pool, so ``psnr`` on them is a held-out
number comparable between evaluations (the fit keeps the weights that maximise it, and refuses ``--holdout``).
``psnr`` is on distances clamped to +-0.1 (the band that decides the surface), peak-to-peak 0.2.

Losses (``loss``): ``sdf``, DeepSDF's clamped L1 regression, or ``siren``, SIREN's point-cloud loss with
the eikonal term (``nstr.signals.shape.losses``). At the end of a fit the zero level set is extracted by marching
cubes at ``resolution`` samples per axis, scored (``nstr.signals.shape.metrics``: chamfer, normal_consistency,
iou, fscore; definitions there) and written as ``mesh.ply`` in the original units, with pictures.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nstr.core.config import option
from nstr.core.device import accumulation_dtype
from nstr.core.errors import NstrError
from nstr.core.progress import Stages
from nstr.models.base import Field
from nstr.signals.base import PREVIEW_SIZE, SignalConfig
from nstr.signals.registry import register_signal
from nstr.signals.sampling import ResampledSignal, Resampler
from nstr.signals.shape import losses
from nstr.signals.shape.builtin import BUILTIN_SHAPES, builtin_shape_path
from nstr.signals.shape.curvature import face_mean_curvature, gradient_curvature_correlation
from nstr.signals.shape.extract import extract_mesh
from nstr.signals.shape.mesh_io import MESH_SUFFIXES, Mesh, Normalisation, load_mesh, save_mesh
from nstr.signals.shape.metrics import ShapeReference, iou
from nstr.signals.shape.pictures import save_gradient_curvature, save_mesh_render, save_sdf_slices, slice_preview
from nstr.signals.shape.sampling import (
    EVAL_MIXTURE,
    MIXTURES,
    SamplePool,
    labelled_samples,
    split_counts,
    surface_samples,
)
from nstr.signals.shape.sampling import SDF as SDF_COLUMN

#: Near-surface band of the evaluation PSNR (DeepSDF's clamp).
PSNR_CLAMP = losses.CLAMP
#: Reference surface samples on which the NSTR gradient-curvature correlation is measured.
CURVATURE_SAMPLES = 20_000

#: 3-D settings per model, applied where the user gave none (see ``SDF.model_defaults``). Short measurements on
#: bunny, one thread: SIREN keeps its paper's SDF settings; the Fourier MLP's sigma 1 beat 2 and 4 after 30 s
#: (chamfer_p2s 3.1e-4 against 1.3e-2 and 5.5e-2: higher sigmas leave noise surfaces); the hash grid and NSTR
#: get a 2^16 table (1.7M parameters; the image default of 2^19 up to 2048 cells would be 12M in 3-D); NSTR's
#: own basis sigma 8 edged sigma 2 at 300 steps (chamfer_p2s 1.23e-4 against 1.35e-4 on bunny, 1.75e-4 against
#: 1.83e-4 on fandisk).
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "siren": {"omega0": 30.0, "hidden": 256, "layers": 3},
    "ffn": {"sigma": 1.0, "features": 128, "hidden": 256, "layers": 3},
    "hashgrid": {"levels": 16, "log2_table": 16, "base_res": 16, "max_res": 512},
    "nstr": {"log2_table": 16},
}


@dataclass(frozen=True)
class SDFConfig(SignalConfig):
    """Load options of a shape: its loss, training samples and the end-of-fit mesh extraction."""

    loss: str = option("sdf", "sdf (DeepSDF clamped L1) or siren (point-cloud loss with the eikonal term)",
                       flag="sdf-loss", choices=losses.LOSSES)
    samples: int = option(4096, "training samples at a time (the batch at full batch)")
    resample_every: int = option(1, "steps between redraws of the training samples from the pool")
    pool: int = option(250_000, "samples drawn once at load, from which the training samples are redrawn")
    eval_samples: int = option(8192, "held-fixed evaluation points (the logged psnr)")
    resolution: int = option(128, "marching-cubes samples per axis of the mesh extracted at the end")
    metric_samples: int = option(100_000, "surface and volume samples of the shape metrics")
    seed: int = option(0, "seed of the pool and evaluation points (the fit's seed varies the redraws)", cli=False)

    def __post_init__(self) -> None:
        if self.loss not in losses.LOSSES:
            raise NstrError(f"--sdf-loss must be one of {', '.join(losses.LOSSES)}, got '{self.loss}'")
        if self.samples < 64:
            raise NstrError(f"--samples must be at least 64, got {self.samples}")
        if self.resample_every < 1:
            raise NstrError(f"--resample-every must be at least 1 step, got {self.resample_every}")
        if self.pool < 1000 or self.eval_samples < 100:
            raise NstrError("the sample pool needs at least 1000 points and evaluation 100, got "
                            f"{self.pool} and {self.eval_samples}")
        if self.metric_samples < 1000:
            raise NstrError(f"the shape metrics need at least 1000 samples, got {self.metric_samples}")
        if not 8 <= self.resolution <= 1024:
            raise NstrError(f"the mesh resolution must be in 8..1024 samples per axis, got {self.resolution}")


@register_signal
class SDF(ResampledSignal):
    """A 3-D shape given as a triangle mesh, fitted as a signed distance field (negative inside).

    ``SDF("bunny.off", loss="siren", samples=4096, resample_every=1)``, or ``SDF("part")``, the built-in
    machined part (``nstr.signals.shape.builtin``). Options: ``loss`` ("sdf" or
    "siren"), ``samples`` (training samples at a time: the batch at full batch), ``resample_every``
    (steps between redraws), ``pool`` (samples drawn at load), ``eval_samples`` (held-fixed evaluation
    points), ``resolution`` (marching-cubes samples per axis at the end of a fit), ``seed`` (the pool and
    evaluation points; the fit's seed varies the redraws), ``metric_samples`` (surface and volume samples
    of the shape metrics; 100k as defined in ``nstr.signals.shape.metrics``).

    Training targets [N, 5]: signed distance, surface normal (3), kind (``nstr.signals.shape.sampling``);
    evaluation: held-fixed points near the surface and in the box with their exact signed distances.
    """

    kind = "sdf"
    Config = SDFConfig
    description = f"mesh files ({' '.join(MESH_SUFFIXES)})"
    suffixes = MESH_SUFFIXES

    @classmethod
    def accepts(cls, source: str) -> bool:
        """A mesh file, or the name of a built-in shape (``part``)."""
        return str(source) in BUILTIN_SHAPES or super().accepts(source)

    def __init__(self, source: str | Path, config: SDFConfig | None = None, *, resize: Any = None, **options: Any):
        if resize is not None:
            raise NstrError("--resize applies to images; a mesh is normalised into [-1, 1]^3 by itself")
        self.config = c = self.make_config(config, options)
        loss, samples, resample_every, pool = c.loss, c.samples, c.resample_every, c.pool
        eval_samples, resolution, seed, metric_samples = c.eval_samples, c.resolution, c.seed, c.metric_samples
        self.source, self.loss, self.samples, self.resample_every = str(source), loss, samples, resample_every
        self.pool_size, self.eval_samples, self.resolution, self.seed = pool, eval_samples, resolution, seed
        self.metric_samples = metric_samples
        start = time.perf_counter()
        original = load_mesh(builtin_shape_path(self.source) if self.source in BUILTIN_SHAPES else self.source)
        self.transform = Normalisation.fit(original)
        self.mesh = Mesh(self.transform.to_unit(original.vertices), original.faces)
        self.pool = SamplePool.build(self.mesh, pool, seed)
        points, targets = labelled_samples(self.mesh, split_counts(eval_samples, EVAL_MIXTURE),
                                           np.random.default_rng(seed + 1))
        self._eval_coords = torch.from_numpy(points.astype(np.float32))
        self._eval_values = torch.from_numpy(targets[:, SDF_COLUMN : SDF_COLUMN + 1].astype(np.float32))
        self._counts = split_counts(samples, MIXTURES[loss])
        self.resampler = Resampler(self._draw, seed, resample_every)
        self.load_seconds = time.perf_counter() - start
        self._reference = None
        self._curvature: np.ndarray | None = None
        self._cache: tuple[Any, dict[str, Any]] | None = None

    # -- samples ---------------------------------------------------------------------------------------
    def _draw(self, generator: torch.Generator) -> None:
        """``samples`` training samples from the pool, by kind as the loss's mixture (``self.resampler`` calls
        this with a generator seeded by (stream, period))."""
        index = self.pool.draw(self._counts, generator)
        self.coords = self.pool.points[index]
        self._targets = self.pool.targets[index]
        self.values = self._targets[:, SDF_COLUMN : SDF_COLUMN + 1]

    def move_tensors(self, move: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """The samples, the evaluation set and the pool they are redrawn from."""
        super().move_tensors(move)
        self.pool = replace(self.pool, points=move(self.pool.points), targets=move(self.pool.targets))

    def loss_terms(self, model: Field, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return losses.loss_terms(self.loss, model, x, y)

    # -- evaluation ------------------------------------------------------------------------------------
    def psnr(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        """PSNR of the signed distance clamped to +-0.1 (peak-to-peak 0.2) on the samples given."""
        error = (pred.clamp(-PSNR_CLAMP, PSNR_CLAMP) - target.clamp(-PSNR_CLAMP, PSNR_CLAMP)
                 ).to(accumulation_dtype(pred.device)).pow(2).mean()
        return float(10 * torch.log10((2 * PSNR_CLAMP) ** 2 / error.clamp_min(1e-20)))

    def metrics(self, pred: torch.Tensor) -> dict[str, float]:
        return {"psnr": self.psnr(pred, self.eval_values), "load_seconds": self.load_seconds}

    @property
    def reference(self):
        """Reference samples for the shape metrics, built on first use (not needed to train)."""
        if self._reference is None:
            self._reference = ShapeReference.build(self.mesh, self.seed, self.metric_samples, self.metric_samples)
        return self._reference

    def extraction(self, model: Field) -> dict[str, Any]:
        """Extracted mesh (normalised units, or None) and the shape metrics, cached per weights."""
        key = (model.weights_key(), self.resolution)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        curvature = hasattr(model, "spectrum_jacobian") and getattr(model, "exact_jacobian", True)
        with Stages("shape metrics", 3 if curvature else 2) as stages:
            with stages.stage(f"marching cubes at {self.resolution}^3"):
                start = time.perf_counter()
                extracted = extract_mesh(model, self.resolution)
                seconds = time.perf_counter() - start
            mesh = Mesh(*extracted) if extracted is not None and len(extracted[1]) else None
            with stages.stage("Chamfer, normals, IoU, F-score"):
                scores = self._score(model, mesh)
            result = {"mesh": mesh, "metrics": {**scores, "mesh_resolution": self.resolution,
                                                "mesh_faces": 0 if mesh is None else len(mesh.faces),
                                                "extract_seconds": seconds}}
            if curvature:
                with stages.stage("||dS/dx|| against curvature"):
                    result["metrics"]["grad_curvature_spearman"] = self._gradient_curvature(model)
        self._cache = (key, result)
        return result

    def _score(self, model: Field, mesh: Mesh | None) -> dict[str, float]:
        reference = self.reference
        occupancy = model.predict(torch.from_numpy(reference.volume_points.astype(np.float32)))[:, 0].numpy() < 0
        if mesh is None:
            nan = float("nan")
            return {"chamfer": nan, "chamfer_p2s": nan, "normal_consistency": nan,
                    "iou": iou(reference.volume_inside, occupancy), "fscore": 0.0}
        points, normals, _ = surface_samples(mesh, len(reference.points), np.random.default_rng(self.seed + 2))
        return reference.score(mesh, points, normals, occupancy)

    def face_curvature(self) -> np.ndarray:
        if self._curvature is None:
            self._curvature = face_mean_curvature(self.mesh)
        return self._curvature

    def _gradient_curvature(self, model: Field) -> float:
        ref = self.reference
        n = min(CURVATURE_SAMPLES, len(ref.points))
        return gradient_curvature_correlation(model, ref.points[:n], ref.faces[:n], self.face_curvature())

    def field_metrics(self, model: Field) -> dict[str, Any]:
        return dict(self.extraction(model)["metrics"])

    def write_outputs(self, pred: torch.Tensor, out_dir: Path) -> list[Path]:
        return []  # everything worth writing comes from the field itself (write_field_outputs)

    def write_field_outputs(self, model: Field, out_dir: Path) -> list[Path]:
        """mesh.ply (original units), sdf_slices.png, mesh.png; for NSTR also gradient_curvature.png."""
        out_dir = Path(out_dir)
        result = self.extraction(model)
        mesh, m = result["mesh"], result["metrics"]
        written = []
        if mesh is not None:
            written.append(save_mesh(out_dir / "mesh.ply", self.transform.to_original(mesh.vertices), mesh.faces))
        written.append(save_sdf_slices(out_dir / "sdf_slices.png", model, self.mesh))
        title = f"marching cubes at {self.resolution}^3: {self.summary(m)}"
        written.append(save_mesh_render(out_dir / "mesh.png", mesh, self.mesh, title))
        if "grad_curvature_spearman" in m:
            written.append(save_gradient_curvature(out_dir / "gradient_curvature.png", model, self.mesh,
                                                   self.face_curvature(), m["grad_curvature_spearman"]))
        return written

    # -- description -----------------------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: dict[str, Any], run_dir: Path | None) -> SDF:
        path = spec["source"]
        if run_dir is not None and path not in BUILTIN_SHAPES and not Path(path).is_absolute():
            path = str(Path(run_dir) / path)
        signal = cls(path, cls.config_from_spec(spec))
        saved = Normalisation.from_dict(spec["transform"])
        if not np.allclose([*signal.transform.centre, signal.transform.scale], [*saved.centre, saved.scale],
                           rtol=1e-9, atol=1e-12 * saved.scale):
            raise NstrError(f"mesh '{path}' changed since the run was fitted (its bounding box differs)")
        return signal

    def spec(self, run_dir: Path | None = None) -> dict[str, Any]:
        source = self.source if self.source in BUILTIN_SHAPES else str(Path(self.source).resolve())
        return {"kind": self.kind, "source": source, **self.config.to_dict(),
                "transform": self.transform.to_dict()}

    def model_defaults(self, model_name: str) -> dict[str, Any]:
        """3-D settings (measured on bunny and fandisk, see the README's 3-D section)."""
        return dict(MODEL_DEFAULTS.get(model_name, {}))

    def preview(self, model: Field, pred: torch.Tensor) -> np.ndarray:
        """The fitted field on the plane z = 0 (``slice_preview``)."""
        return slice_preview(model, PREVIEW_SIZE // 2)

    def summary(self, metrics: dict[str, Any]) -> str:
        def num(key: str, fmt: str) -> str:
            value = metrics.get(key, float("nan"))
            return "n/a" if value is None or not math.isfinite(value) else format(value, fmt)

        if metrics.get("mesh_faces") == 0:
            return f"no surface found (the field does not change sign), iou {num('iou', '.4f')}"
        return (f"chamfer {num('chamfer', '.3e')} (point-to-surface {num('chamfer_p2s', '.2e')}) of the diagonal, "
                f"normal consistency {num('normal_consistency', '.4f')}, iou {num('iou', '.4f')}, "
                f"f-score {num('fscore', '.4f')}")

    def output_names(self) -> str:
        return "mesh.ply, mesh.png, sdf_slices.png, curve.png, metrics.json, model.safetensors"

    @classmethod
    def render_run(cls, model: Field, spec: dict[str, Any], output: Path, options: dict[str, Any]) -> str:
        """Extract the zero level set at ``options['resolution']`` (default: the fit's) into a mesh file."""
        if output.suffix.lower() not in MESH_SUFFIXES:
            raise NstrError(f"OUTPUT '{output}' must end in one of {', '.join(MESH_SUFFIXES)} for a shape run")
        resolution = int(options.get("resolution") or spec["resolution"])
        extracted = extract_mesh(model, resolution)
        if extracted is None or not len(extracted[1]):
            raise NstrError("the fitted field has no zero level set inside [-1, 1]^3: there is no surface to write")
        vertices, faces = extracted
        save_mesh(output, Normalisation.from_dict(spec["transform"]).to_original(vertices), faces)
        return f"wrote {output} ({len(vertices):,} vertices, {len(faces):,} faces; marching cubes at {resolution}^3)"

