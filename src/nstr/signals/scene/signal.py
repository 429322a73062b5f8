"""Radiance-field scenes: ``nstr fit path/to/lego --model nstr``.

A scene is a folder in the Blender synthetic layout (``transforms_{train,val,test}.json`` and RGBA images) or one
``transforms.json`` as nerfstudio and Instant-NGP write it (``nstr.signals.scene.blender`` documents both and the
conventions; ``nstr scene make DIR`` writes the first). Samples are rays: coordinates [origin, unit direction]
[N, 6] and values the pixels' colours [N, 3] in [0, 1], composited over the scene's background (unlike other
kinds, colours are not mapped to [-1, 1]: volume rendering composites in [0, 1]).

Samples (as the SDF kind): ``coords`` are this step's training rays, ``eval_coords`` fixed evaluation rays from
the val views. Every step ``rays`` training rays are drawn at random from all pixels of the train views, as a
function of (seed, step) (``nstr.signals.sampling.Resampler``), so resumed fits repeat exactly; the ``psnr``
logged during training is a held-out number on the evaluation rays (the fit keeps the weights that maximise
it, renders only those rays to score them, and refuses ``--holdout``). At the end every test view is rendered
whole: ``psnr`` and ``ssim`` in metrics.json are means over the test split (``psnr_views`` lists each; SSIM
as NeRF papers compute it, an 11 x 11 Gaussian window), with the mean absolute depth error where the scene has
depth maps, and test renders, depth maps and an orbit of novel views are written. Ray draws, sample jitter and
random backgrounds are functions of (seed, step).
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
from nstr.core.errors import NstrError
from nstr.core.io import cache_dir, write_npy
from nstr.core.metrics import psnr, ssim
from nstr.models.base import Field
from nstr.nn.lpips import lpips_metric
from nstr.render.cameras import pixel_rays
from nstr.render.compositing import BACKGROUNDS
from nstr.signals.base import SignalConfig
from nstr.signals.registry import register_signal
from nstr.signals.sampling import ResampledSignal, Resampler, step_seed
from nstr.signals.scene.blender import Views, load_blender
from nstr.signals.scene.export import render_scene_run
from nstr.signals.scene.make import make_scene
from nstr.signals.scene.pictures import save_depth, save_orbit, save_rgb, save_test_sheet, view_preview
from nstr.signals.scene.staging import made_once
from nstr.signals.scene.views import depth_map, render_views

#: Training target columns: colour (0-2, over the scene's background), alpha.
ALPHA_COLUMN = 3
#: ``--model`` names on a scene and the radiance-field models they mean.
SCENE_MODELS = {"nstr": "nerf-nstr", "hashgrid": "nerf-hashgrid", "triplane": "nerf-triplane",
                "tensorf": "nerf-triplane"}
#: Built-in scenes by name: ``nstr scene make`` settings, generated once into the cache (a few seconds).
BUILTIN_SCENES = {"analytic": {"size": 100, "train": 100, "val": 10, "test": 20, "seed": 0}}


def builtin_scene_dir(name: str) -> Path:
    """The folder of a built-in scene, generated on first use under $NSTR_CACHE (default ~/.cache/nstr)."""
    settings = BUILTIN_SCENES[name]
    cache = cache_dir()
    label = "-".join(f"{k}{v}" for k, v in settings.items())
    folder = cache / "scenes" / f"{name}-{label}"
    whole = folder / "transforms_test.json"  # in every whole scene (made_once moves scenes in whole)
    if not whole.exists():
        with made_once(folder) as private:
            make_scene(private, **settings)
    if not whole.exists():  # made_once never fills a non-empty folder
        raise NstrError(f"'{folder}' is not a whole scene (no transforms_test.json); delete it and nstr makes the "
                        f"built-in scene {name!r} again")
    return folder


@dataclass(frozen=True)
class SceneConfig(SignalConfig):
    """Load options of a scene: view size, background, rays per step and what is scored and written."""

    downscale: int = option(1, "shrink every view by this integer factor")
    background: str = option("white", "colour the views are composited over (the model composites over it too)",
                             choices=tuple(BACKGROUNDS))
    rays: int = option(4096, "training rays per step, drawn from all pixels of the train views")
    eval_rays: int = option(4096, "fixed val-view rays scored during training (the logged psnr)")
    test_views: int = option(0, "score and write only the first N test views, 0 = all")
    orbit_frames: int = option(40, "frames of orbit.gif, 0 = none")
    seed: int = option(0, "seed of the evaluation rays (the fit's seed varies the training draws)", cli=False)

    def __post_init__(self) -> None:
        if self.rays < 1 or self.eval_rays < 1 or self.test_views < 0 or self.orbit_frames < 0:
            raise NstrError("rays and eval rays must be >= 1, test views and orbit frames >= 0")
        if self.background not in BACKGROUNDS:
            raise NstrError(f"background must be one of {', '.join(BACKGROUNDS)}, not {self.background!r}")


@register_signal
class Scene(ResampledSignal):
    """A scene (a Blender-layout folder or a transforms.json) fitted as a radiance field, scored on its test views.

    ``Scene("lego", downscale=2, background="white", rays=4096)``, ``Scene("capture/transforms.json")``;
    ``Scene("analytic")`` is the built-in generated scene (100 x 100 pixels, 100 / 10 / 20 views). Options:
    ``downscale`` (integer image shrink), ``background`` (white or black), ``rays`` (training rays per step),
    ``eval_rays`` (fixed val-view rays scored during training), ``test_views`` (how many test views to score and
    write; 0 = all), ``orbit_frames`` (frames of the novel-view orbit; 0 = none), ``seed`` (the evaluation rays;
    the fit's seed varies the training draws).

    Training targets [N, 4]: colour over the scene's background (3) and alpha of rays redrawn every step;
    evaluation: fixed rays at random pixels of the val views and their colours.
    """

    kind = "scene"
    Config = SceneConfig
    description = "scene folders (transforms_train.json) and transforms.json files"
    #: Each step renders the ``rays`` the scene drew (and evaluation its fixed rays) whole: no minibatch of them.
    fit_defaults = {"batch_size": 0}

    def __init__(self, source: str | Path, config: SceneConfig | None = None, *, resize: Any = None,
                 **options: Any):
        if resize is not None:
            raise NstrError("--resize applies to images; shrink a scene's views with --downscale N")
        self.config = c = self.make_config(config, options)
        downscale, background, rays, eval_rays = c.downscale, c.background, c.rays, c.eval_rays
        test_views, orbit_frames, seed = c.test_views, c.orbit_frames, c.seed
        start = time.perf_counter()
        self.source, self.downscale, self.background = str(source), downscale, background
        self.rays, self.eval_rays, self.test_views, self.orbit_frames, self.seed = (
            rays, eval_rays, test_views, orbit_frames, seed)
        self.data = load_blender(scene_source(source), downscale=downscale, background=background)
        self.train_views = self.data.splits["train"]
        self.test = self.data.splits["test"]
        if test_views:
            self.test = _first_views(self.test, test_views)
        val = self.data.splits["val"]
        pick = torch.randint(val.images[..., 0].numel(), (eval_rays,), generator=torch.Generator().manual_seed(seed))
        eval_coords, eval_targets = _rays_at(val, pick)
        self._eval_coords, self._eval_values = eval_coords, eval_targets[:, :3]
        self.resampler = Resampler(self._draw, seed)  # new training rays every step
        self.load_seconds = time.perf_counter() - start
        self._cache: tuple[Any, dict[str, Any]] | None = None

    @classmethod
    def accepts(cls, source: str) -> bool:
        path = Path(source)
        return (str(source) in BUILTIN_SCENES or path.is_dir()
                or (path.suffix.lower() == ".json" and path.name.startswith("transforms")))

    @classmethod
    def model_name(cls, name: str) -> str:
        if name.startswith("nerf-"):
            return name
        if name not in SCENE_MODELS:
            raise NstrError(f"model '{name}' has no radiance-field form; a scene fits one of "
                            f"{', '.join(sorted(SCENE_MODELS))} (or the nerf-* names)")
        return SCENE_MODELS[name]

    # -- samples ---------------------------------------------------------------------------------------
    def _draw(self, generator: torch.Generator) -> None:
        """``rays`` training rays at random pixels of the train views (``self.resampler`` calls this with a
        generator seeded by (stream, step))."""
        pick = torch.randint(self.train_views.images[..., 0].numel(), (self.rays,), generator=generator,
                             device=generator.device)
        self.coords, self._targets = _rays_at(self.train_views, pick)
        self.values = self._targets[:, :3]  # colour over the scene's background

    def move_tensors(self, move: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """The rays and the pixels of the train views they are drawn from (the test views stay on the host: they
        are rendered view by view and scored there)."""
        super().move_tensors(move)
        views = self.train_views
        self.train_views = replace(views, images=move(views.images), alphas=move(views.alphas), c2w=move(views.c2w),
                                   intrinsics=move(views.intrinsics))

    def loss_terms(self, model: Field, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Squared colour error over a random background per ray (Instant-NGP's trick: with one fixed
        background, opaque fog of that colour in empty space would fit the images as well as empty space does,
        and the occupancy grid could skip nothing), plus the model's regularisers."""
        if model.config.background != self.background:
            raise NstrError(f"the model composites over {model.config.background} but the scene's images are on "
                            f"{self.background}; build it with background='{self.background}' (Scene.model_defaults)")
        stream, step = self.resampler.stream, self.resampler.period
        generator = torch.Generator(device=x.device).manual_seed(step_seed(stream, step) * 7919 + 5)
        background = torch.rand(x.shape[0], 3, generator=generator, device=x.device)
        scene_background = BACKGROUNDS[self.background]
        target = y[:, :3] + (1.0 - y[:, ALPHA_COLUMN : ALPHA_COLUMN + 1]) * (background - scene_background)
        pred = model.training_render(x, background, step=step, seed=stream)["rgb"]
        return {"task": torch.mean((pred - target) ** 2), **model.regularisers(x)}

    # -- evaluation ------------------------------------------------------------------------------------
    def psnr(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        """PSNR (peak 1) of the colours on the rays given."""
        return psnr(pred.clamp(0, 1), target)

    def metrics(self, pred: torch.Tensor) -> dict[str, float]:
        return {"psnr_val_rays": self.psnr(pred, self.eval_values), "rays_per_step": self.rays,
                "load_seconds": self.load_seconds}

    def training_metrics(self, steps: int, seconds: float) -> dict[str, float]:
        return {"rays_per_second": steps * self.rays / seconds if seconds > 0 else float("nan")}

    def renders(self, model: Field) -> dict[str, Any]:
        """Test-view renders and their scores, cached per weights (field_metrics and the outputs share them)."""
        key = model.weights_key()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        views = self.test
        start = time.perf_counter()
        images, depths, opacities = render_views(model, views.c2w, views.height, views.width, views.focal,
                                                 views.intrinsics, desc="rendering test views")
        seconds = time.perf_counter() - start
        truth = views.images.numpy()
        psnrs = [psnr(torch.from_numpy(images[k]), views.images[k]) for k in range(len(images))]
        ssims = [ssim(images[k], truth[k], window="gaussian") for k in range(len(images))]
        metrics = {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims)), **lpips_metric(images, truth),
                   "psnr_views": psnrs, "test_views": len(images), "render_seconds": seconds,
                   "render_rays_per_second": images[..., 0].size / seconds}
        if views.depths is not None:
            truth_depth = views.depths.numpy()
            hit = truth_depth > 0
            metrics["depth_mae"] = float(np.abs(depths - truth_depth)[hit].mean()) if hit.any() else float("nan")
        result = {"images": images, "depths": depths, "opacities": opacities, "metrics": metrics}
        self._cache = (key, result)
        return result

    def field_metrics(self, model: Field) -> dict[str, Any]:
        return dict(self.renders(model)["metrics"])

    def write_outputs(self, pred: torch.Tensor, out_dir: Path) -> list[Path]:
        return []  # everything worth writing comes from rendering the field (write_field_outputs)

    def write_field_outputs(self, model: Field, out_dir: Path) -> list[Path]:
        """Per test view test/r_{k}.png, test/r_{k}_depth.png (a picture) and test/r_{k}_depth.npy (float32
        distance along the ray in scene units, 0 where the ray is mostly empty), test_views.png, orbit.gif."""
        out_dir = Path(out_dir)
        result = self.renders(model)
        (out_dir / "test").mkdir(exist_ok=True)
        written = []
        for k, name in enumerate(self.test.files):
            stem = Path(name).stem
            depth, opacity = result["depths"][k], result["opacities"][k]
            written.append(save_rgb(out_dir / "test" / f"{stem}.png", result["images"][k]))
            written.append(save_depth(out_dir / "test" / f"{stem}_depth.png", depth, opacity))
            write_npy(out_dir / "test" / f"{stem}_depth.npy", depth_map(depth, opacity))
            written.append(out_dir / "test" / f"{stem}_depth.npy")
        written.append(save_test_sheet(out_dir / "test_views.png", self.test.images.numpy(), result["images"],
                                       result["depths"], result["opacities"], result["metrics"]["psnr_views"]))
        if self.orbit_frames:
            host_cameras = self.data.splits["train"].c2w  # the train views' cameras, on the host
            written.append(save_orbit(out_dir / "orbit.gif", model, host_cameras, self.orbit_frames,
                                      self.test.height, self.test.width, self.test.focal))
        return written

    # -- description -----------------------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: dict[str, Any], run_dir: Path | None) -> Scene:
        return cls(spec["source"], cls.config_from_spec(spec))

    def spec(self, run_dir: Path | None = None) -> dict[str, Any]:
        source = self.source if self.source in BUILTIN_SCENES else str(Path(self.source).resolve())
        return {"kind": self.kind, "source": source, **self.config.to_dict(),
                "height": self.train_views.height, "width": self.train_views.width}

    def model_defaults(self, model_name: str) -> dict[str, Any]:
        """The scene's background, so the model composites over what the images were composited over, and the
        scene box the file implies (Instant-NGP's ``aabb_scale``), when it gives one."""
        bound = {} if self.data.bound is None else {"bound": self.data.bound}
        return {"background": self.background, **bound}

    def preview(self, model: Field, pred: torch.Tensor) -> np.ndarray:
        """The first test view rendered small (``view_preview``)."""
        views = self.test
        return view_preview(model, views.c2w[0], views.height, views.width, views.focal)

    def summary(self, metrics: dict[str, Any]) -> str:
        line = (f"test psnr {metrics['psnr']:.2f} dB, ssim {metrics['ssim']:.4f} over {metrics['test_views']} "
                f"views")
        if metrics.get("lpips") is not None:
            line += f", lpips {metrics['lpips']:.4f}"
        if math.isfinite(metrics.get("depth_mae", float("nan"))):
            line += f", depth error {metrics['depth_mae']:.4f}"
        if "rays_per_second" in metrics:
            line += f", {metrics['rays_per_second']:,.0f} rays/s in training"
        return line

    def output_names(self) -> str:
        names = "test/*.png, test/*_depth.npy, test_views.png, curve.png, metrics.json, model.safetensors"
        return ("orbit.gif, " if self.orbit_frames else "") + names

    @classmethod
    def render_run(cls, model: Field, spec: dict[str, Any], output: Path, options: dict[str, Any]) -> str:
        """Novel views, depth maps, orbits, camera paths or a mesh (``nstr.signals.scene.export``), by suffix."""
        train = load_blender(scene_source(spec["source"]), downscale=spec["downscale"], background=spec["background"],
                             splits=("train",)).splits["train"]
        return render_scene_run(model, train, output, options)


def _rays_at(views: Views, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays [B, 6] and [colour, alpha] [B, 4] of flat pixel indices into views [V, H, W]."""
    per_view = views.height * views.width
    view, rest = flat // per_view, flat % per_view
    rows, cols = rest // views.width, rest % views.width
    origins, directions = pixel_rays(views.c2w[view], rows, cols, views.height, views.width, views.focal,
                                     views.intrinsics[view])
    targets = torch.cat([views.images[view, rows, cols], views.alphas[view, rows, cols][:, None]], dim=1)
    return torch.cat([origins, directions], dim=1), targets


def _first_views(views: Views, n: int) -> Views:
    return replace(views, images=views.images[:n], alphas=views.alphas[:n], c2w=views.c2w[:n],
                   intrinsics=views.intrinsics[:n], files=views.files[:n],
                   depths=None if views.depths is None else views.depths[:n])


def scene_source(source: str | Path) -> Path:
    """The folder or transforms file a scene source names (a built-in name: its generated folder)."""
    if str(source) in BUILTIN_SCENES:
        return builtin_scene_dir(str(source))
    return Path(source)
