"""Radiance-field models for scenes: a ray (origin, unit direction) [N, 6] -> its rendered colour [N, 3].

Each model is a geometry network over the scene box mapped to [-1, 1]^3, giving a raw density and features,
and a colour network on those features and the view direction (16 spherical harmonics), as in Instant-NGP:
sigma = trunc_exp(raw), rgb = sigmoid(colour(features, SH(d))). Rays are rendered by ``nstr.render.compositing`` with an
occupancy grid (``nstr.render.occupancy``) that the model refreshes every ``occupancy_every`` training steps
(in ``before_step``, which the fit calls before each step; rendering itself changes no state).
The three geometry networks are the comparison the NSTR paper makes:

- ``nerf-nstr``: NSTR's spectral field S(x) modulating K sinusoids, decoded to density and features
  (the paper's f(x, d) = g_phi(sum_i S_i(x) sin(omega_i . x), d) with d entering the colour half of g_phi);
- ``nerf-hashgrid``: Instant-NGP's multiresolution hash grid and one-hidden-layer density MLP;
- ``nerf-triplane``: TensoRF's vector-matrix factorisation (planes times lines), density and appearance.

``nstr fit SCENE --model nstr|hashgrid|triplane`` picks these (``nstr.signals.scene.signal.Scene.model_name``).
Training state (the occupancy grid and the count of steps it was kept up to date for) lives in buffers, so
checkpoints resume exactly; sample jitter is seeded by the step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import torch

from nstr.core.device import module_device
from nstr.models.base import Field, ModelConfig, option
from nstr.models.hashgrid import HashGridConfig, HashGridField
from nstr.models.nstr import NSTR, NSTRConfig
from nstr.models.registry import register
from nstr.nn.mlp import mlp
from nstr.nn.sh import SH_FEATURES, spherical_harmonics, trunc_exp
from nstr.nn.tensorf import TensoRFGeometry
from nstr.render.compositing import BACKGROUNDS, render_rays
from nstr.render.occupancy import OccupancyGrid

SAMPLERS = ("occupancy", "importance")


@dataclass(frozen=True)
class RenderConfig(ModelConfig):
    """Options every radiance-field model shares: the scene box, sampling and the colour network."""

    bound: float = option(1.5, "half side of the scene box [-bound, bound]^3 in world units (nerf_synthetic: 1.5)")
    background: str = option("white", "colour behind the scene: white or black (a scene sets its own)")
    samples_per_ray: int = option(128, "march steps across the box diagonal (step = 2 sqrt(3) bound / N)")
    sampler: str = option("occupancy", "occupancy (even steps, empty cells skipped) or importance "
                                       "(stratified density pass, then samples drawn from its weights)")
    coarse_samples: int = option(64, "importance sampler: stratified samples per ray in the density pass")
    fine_samples: int = option(64, "importance sampler: samples per ray drawn from the density pass")
    density_bias: float = option(-2.0, "added to the raw density before exp: an initial density of e^bias per "
                                       "world unit, so the untrained scene starts nearly empty")
    occupancy_res: int = option(64, "occupancy grid cells per axis")
    occupancy_every: int = option(16, "training steps between occupancy-grid updates")
    geo_features: int = option(15, "features the geometry network passes to the colour network")
    colour_width: int = option(64, "width of the colour network")
    colour_layers: int = option(2, "hidden layers of the colour network")

    def __post_init__(self) -> None:
        """Check the inner model's options (the next config in the MRO: list RenderConfig first among the
        bases of a combined config), then the rendering options."""
        inner = getattr(super(), "__post_init__", None)
        if inner is not None:
            inner()
        self.check_render()

    def check_render(self) -> None:
        if not math.isfinite(self.density_bias):
            raise ValueError(f"density_bias must be a finite number, got {self.density_bias}")
        if not (math.isfinite(self.bound) and self.bound > 0):
            raise ValueError(f"bound must be a positive number, got {self.bound}")
        if self.background not in BACKGROUNDS:
            raise ValueError(f"background must be white or black, got '{self.background}'")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be occupancy or importance, got '{self.sampler}'")
        for name in ("samples_per_ray", "coarse_samples", "fine_samples", "occupancy_res", "occupancy_every",
                     "geo_features", "colour_width"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.colour_layers < 0:
            raise ValueError("colour_layers must be >= 0")


def _sub_config(config: ModelConfig, cls: type[ModelConfig], **overrides: Any) -> ModelConfig:
    """The ``cls`` part of a combined config (the inner model's own options)."""
    return cls(**{f.name: getattr(config, f.name) for f in fields(cls)}, **overrides)


class RadianceModel(Field):
    """Base of the radiance-field models: ``geometry`` maps x in [-1, 1]^3 -> [N, 1 + features].

    A subclass either names a registered coordinate model as ``inner`` (built from the matching fields of the
    combined config, and lending its learning rate and Adam options) or overrides ``build_geometry``.
    """

    in_dims = (6,)
    inner: ClassVar[type[Field] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.inner is not None:
            for name in ("default_lr", "adam_options"):
                if name not in cls.__dict__:
                    setattr(cls, name, getattr(cls.inner, name))

    def __init__(self, in_dim: int, out_dim: int, config: RenderConfig | None = None, **options: Any):
        super().__init__(in_dim, out_dim, config, **options)
        if out_dim != 3:
            raise ValueError(f"a radiance field renders 3 colour channels, not {out_dim}")
        cfg: RenderConfig = self.config
        self.geometry = self.build_geometry()
        self.colour = mlp(cfg.geo_features + SH_FEATURES, cfg.colour_width, cfg.colour_layers, 3)
        self.occupancy = OccupancyGrid(cfg.occupancy_res, cfg.bound)
        self.register_buffer("steps_seen", torch.zeros((), dtype=torch.long))
        self.register_buffer("background_rgb", torch.full((3,), BACKGROUNDS[cfg.background]), persistent=False)

    def build_geometry(self) -> torch.nn.Module:
        if self.inner is None:  # pragma: no cover - a subclass without inner overrides this
            raise NotImplementedError
        return self.inner(3, 1 + self.config.geo_features, config=_sub_config(self.config, self.inner.Config))

    @property
    def step(self) -> float:
        """March step length in world units."""
        return 2 * math.sqrt(3) * self.config.bound / self.config.samples_per_ray

    # -- the field ----------------------------------------------------------------------------------------
    def field(self, x: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(density [N], colour [N, 3]) at world points x [N, 3] seen along unit directions d [N, 3]."""
        h = self.geometry(x / self.config.bound)
        rgb = torch.sigmoid(self.colour(torch.cat([h[:, 1:], spherical_harmonics(d)], dim=1)))
        return trunc_exp(h[:, 0] + self.config.density_bias), rgb

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """Density [N] at world points x [N, 3]."""
        return trunc_exp(self.geometry(x / self.config.bound)[:, 0] + self.config.density_bias)

    # -- rendering -----------------------------------------------------------------------------------------
    def render(self, rays: torch.Tensor, generator: torch.Generator | None = None,
               background: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Colour [N, 3], depth [N] (distance along the ray) and opacity [N] of rays [N, 6], composited over
        ``background`` ([3] or one colour per ray [N, 3]; the model's own by default)."""
        cfg, step = self.config, self.step
        return render_rays(
            self.field, rays[:, :3], rays[:, 3:], bound=cfg.bound, step=step,
            background=self.background_rgb if background is None else background,
            occupied=lambda p: self.occupancy.occupied(p, step), generator=generator, sampler=cfg.sampler,
            coarse=cfg.coarse_samples, fine=cfg.fine_samples, density=self.density,
        )

    def before_step(self, step: int) -> None:
        """Refresh the occupancy grid before training step ``step`` every ``occupancy_every`` steps (the whole
        grid at step 0, a quarter of its cells later), once per step even if the step is run again after an
        interrupt: ``steps_seen`` (saved with the weights, like the grid) counts the steps prepared."""
        due = step % self.config.occupancy_every == 0 and step >= int(self.steps_seen)
        if due and self.config.sampler == "occupancy":
            self.occupancy.update(self.density, fraction=1.0 if step == 0 else 0.25)
        self.steps_seen.fill_(max(int(self.steps_seen), step + 1))

    def training_render(self, rays: torch.Tensor, background: torch.Tensor | None = None, step: int = 0,
                        seed: int = 0) -> dict[str, torch.Tensor]:
        """``render`` for training step ``step``, with samples jittered by a generator seeded by (seed, step):
        a function of its inputs and the model's state, so a resumed fit repeats exactly."""
        generator = torch.Generator(device=rays.device).manual_seed((seed * 1_000_003 + step) * 7919 + 17)
        return self.render(rays, generator, background)

    def forward(self, rays: torch.Tensor) -> torch.Tensor:
        """Rendered colour [N, 3]. In train mode with gradients on, the samples are jittered from the global
        random state (a fit renders through ``training_render`` instead, jittered as a function of the step);
        otherwise they are regular."""
        generator = None
        if self.training and torch.is_grad_enabled():
            seed = int(torch.randint(1 << 62, (), device="cpu"))  # from the global (CPU) random state
            generator = torch.Generator(device=rays.device).manual_seed(seed)
        return self.render(rays, generator)["rgb"]

    @torch.no_grad()
    def render_chunked(self, rays: torch.Tensor, samples: int = 1 << 19) -> dict[str, torch.Tensor]:
        """``render`` of many rays [N, 6] in chunks of about ``samples`` points before empty space is skipped
        (evaluation: regular samples), each chunk on the model's device, results on the device of ``rays``."""
        per_ray = self.config.samples_per_ray if self.config.sampler == "occupancy" else self.config.coarse_samples
        chunk = max(64, samples // per_ray)
        was_training = self.training
        self.eval()
        try:
            device = module_device(self)
            parts = [{key: value.to(rays.device) for key, value in self.render(rays[i : i + chunk].to(device)).items()}
                     for i in range(0, rays.shape[0], chunk)]
        finally:
            self.train(was_training)
        return {key: torch.cat([p[key] for p in parts]) for key in ("rgb", "depth", "opacity")}

    def regularisers(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The geometry network's own terms (NSTR's transport term) at uniform points of the box, one per ray."""
        own = getattr(self.geometry, "regularisers", None)
        if own is None:
            return {}
        return own(torch.rand(x.shape[0], 3, device=x.device) * 2 - 1)

    def param_groups(self) -> list[dict[str, Any]]:
        inner = getattr(self.geometry, "param_groups", None)
        groups = inner() if inner is not None else [{"params": list(self.geometry.parameters()), "lr_scale": 1.0}]
        return [*groups, {"params": list(self.colour.parameters()), "lr_scale": 1.0}]


@dataclass(frozen=True)
class NeRFNSTRConfig(RenderConfig, NSTRConfig):
    log2_table: int = option(15, "levels with more vertices than 2^log2_table are hashed into that many")
    max_res: int = option(512, "cells per axis of the finest level (levels > 1)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.basis_init != "gaussian":
            raise ValueError("basis_init spectrum draws the basis from an image's spectrum; a radiance field has "
                             "none: use basis_init gaussian")


@register("nerf-nstr")
class NeRFNSTR(RadianceModel):
    """NSTR radiance field: spectral field over x decoded to density and features; view direction into colour."""

    Config = NeRFNSTRConfig
    inner = NSTR


@dataclass(frozen=True)
class NeRFHashGridConfig(RenderConfig, HashGridConfig):
    log2_table: int = option(17, "log2 of the entries per hashed level T (the paper uses 14..24)")
    max_res: int = option(512, "finest resolution N_max, in cells across the scene box")
    layers: int = option(1, "hidden layers of the density MLP (Instant-NGP: 1)")


@register("nerf-hashgrid")
class NeRFHashGrid(RadianceModel):
    """Instant-NGP radiance field: hash grid -> density MLP (density + features) -> colour MLP with SH(d)."""

    Config = NeRFHashGridConfig
    inner = HashGridField


@dataclass(frozen=True)
class NeRFTriPlaneConfig(RenderConfig):
    resolution: int = option(128, "cells per axis of the planes and lines")
    density_components: int = option(16, "density components per mode (TensoRF VM: 16)")
    appearance_components: int = option(48, "appearance components per mode (TensoRF VM: 48)")
    geo_features: int = option(27, "appearance features the basis passes to the colour network (TensoRF: 27)")
    basis_lr_scale: float = option(0.05, "basis and colour network learn at this multiple of the factors' lr")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.resolution < 2 or min(self.density_components, self.appearance_components) < 1:
            raise ValueError("resolution must be >= 2 and component counts >= 1")
        if not (math.isfinite(self.basis_lr_scale) and self.basis_lr_scale > 0):
            raise ValueError("basis_lr_scale must be a positive number")


@register("nerf-triplane")
class NeRFTriPlane(RadianceModel):
    """TensoRF-style radiance field: vector-matrix factors (planes x lines) for density and appearance."""

    Config = NeRFTriPlaneConfig
    default_lr = 2e-2  # TensoRF's factor learning rate; the basis and colour network use 1e-3
    adam_options = {"betas": (0.9, 0.99)}

    def build_geometry(self) -> TensoRFGeometry:
        cfg = self.config
        return TensoRFGeometry(cfg.resolution, cfg.density_components, cfg.appearance_components, cfg.geo_features)

    def density(self, x: torch.Tensor) -> torch.Tensor:
        return trunc_exp(self.geometry.density(x / self.config.bound) + self.config.density_bias)

    def param_groups(self) -> list[dict[str, Any]]:
        factors = [*self.geometry.density_factors.parameters(), *self.geometry.appearance_factors.parameters()]
        rest = [*self.geometry.basis.parameters(), *self.colour.parameters()]
        return [{"params": factors, "lr_scale": 1.0}, {"params": rest, "lr_scale": self.config.basis_lr_scale}]
