"""GaussianImage (Zhang et al., ECCV 2024) in pure PyTorch: an image as a sum of N 2-D Gaussians.

    f(x) = sum_i c_i exp(-(x - mu_i)^T Sigma_i^-1 (x - mu_i) / 2)  for (x - mu_i)^T Sigma_i^-1 (x - mu_i) <= r^2

Each Gaussian has a position mu_i (2 numbers, in the image's [-1, 1] coordinates), the Cholesky factor L_i of
its covariance Sigma_i = L_i L_i^T (3 numbers: L = [[a, 0], [b, c]]) and a colour c_i (one number per channel,
which absorbs GaussianImage's opacity): 8 numbers for RGB. The sum is order independent (no sorting, no alpha
blending), as GaussianImage's accumulated summation. Gaussians live in normalised coordinates, so the same
model draws the image at any size.

Rendering, chosen by what the coordinates are (``forward``):
- a whole pixel grid (``nstr.render.image_grid.grid_shape`` recognises ``pixel_centres(H, W)`` from the
  first point and one comparison): ``nstr.render.splat_grid``, each Gaussian drawn in a window sized from its
  covariance, windows grouped by size and scatter-added, with a closed-form backward. This is how the model
  trains (it draws the whole image every step: ``fit_defaults`` batch size 0), evaluates and renders at any size.
- pixels of the image it was fitted on, at least a quarter of them (a fit with a held-out fraction): the
  whole grid, then the pixels asked for.
- anything else (random minibatches, points off the grid, derivatives in x): ``nstr.render.splat_points``,
  points binned into tiles and Gaussians paired with the tiles their cut-off overlaps, in plain autograd.
Why both: the grid path needs no sorting and no per-point gathers, so the whole image costs less than a random
quarter of it on the general path (Gaussians fitted to kodim05, forward and backward, one thread: 237 ms of CPU
for all 768 x 512 pixels, 309 ms for a random quarter, 208 ms for 65,536 random points); the general path keeps
the Field contract (any coordinates, twice differentiable in x) without a second model.

Initialisation (``initialise``, from the training pixels): positions drawn by the image's gradient magnitude
mixed with a uniform share, standard deviations from the local density of positions, colours from the pixels
they sit on divided by the summed weight of the Gaussians there (so overlapping Gaussians do not add up).
Learning rates per parameter group: colours at the fit's lr, positions and Cholesky factors at multiples of
the training pixel size (``position_lr``, ``shape_lr``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nstr.models.base import Field, ModelConfig, option
from nstr.models.registry import register
from nstr.render.image_grid import grid_indices, grid_shape
from nstr.render.splat_grid import splat_grid
from nstr.render.splat_points import splat_points

INITS = ("gradient", "random")
#: The diagonal of L is kept off zero: sqrt(a^2 + FLOOR^2), a fraction of a pixel at any practical size.
FLOOR = 1e-5
#: Pixels of the fitted image asked for at once, as a share of all, above which drawing the whole image wins.
GRID_SHARE = 0.25


@dataclass(frozen=True)
class GaussiansConfig(ModelConfig):
    count: int = option(37_500, "number of Gaussians N; each holds 5 + C numbers (8 for RGB: 0.3 M parameters)")
    cutoff: float = option(3.0, "Mahalanobis radius beyond which a Gaussian adds nothing (3 sigma, as gsplat)")
    init: str = option("gradient", "initial positions: gradient (drawn by the image's gradient magnitude) or "
                                   "random (uniform over the pixels)", choices=INITS)
    gradient_share: float = option(0.7, "with init gradient: share of positions drawn by gradient magnitude "
                                        "(the rest uniformly)")
    init_scale: float = option(0.25, "initial standard deviation as a fraction of the local spacing of Gaussians "
                                     "(they grow while training; small ones make the first steps cheap)")
    position_lr: float = option(10.0, "learning rate of positions over the fit's lr, in training pixels "
                                      "(10 at lr 2e-2: 0.2 pixel steps)")
    shape_lr: float = option(2.5, "learning rate of the Cholesky factors over the fit's lr, in training pixels")

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"count must be >= 1, got {self.count}")
        if not (math.isfinite(self.cutoff) and self.cutoff > 0):
            raise ValueError(f"cutoff must be positive, got {self.cutoff}")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}, got '{self.init}'")
        if not 0.0 <= self.gradient_share <= 1.0:
            raise ValueError(f"gradient_share must be in [0, 1], got {self.gradient_share}")
        for name in ("init_scale", "position_lr", "shape_lr"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive, got {value}")


@register("gaussians")
class Gaussians2D(Field):
    """GaussianImage: N 2-D Gaussians (position, Cholesky factor, colour) summed; images only.

    Parameters: ``means`` [N, 2], ``cholesky`` [N, 3] = (a, b, c) of L = [[a, 0], [b, c]] (the diagonal is used
    as sqrt(a^2 + 1e-10), so it stays positive), ``colours`` [N, C]. Buffers: ``pixel``, the size of a training
    pixel in normalised units (sets the learning rates of the geometry), and ``grid``, the fitted image's
    (H, W). Built without data the Gaussians are spread uniformly; ``initialise`` places them on an image.
    """

    Config = GaussiansConfig
    default_lr = 2e-2
    adam_options = {"eps": 1e-15}
    in_dims = (2,)
    fit_defaults = {"batch_size": 0}  # the whole image every step (see the module docstring)
    compilable = False

    def __init__(self, in_dim: int, out_dim: int, config: GaussiansConfig | None = None, **options: Any):
        if in_dim != 2:
            raise ValueError(f"draws images only (2-D coordinates), not {in_dim}-D signals: use another model")
        super().__init__(in_dim, out_dim, config, **options)
        cfg: GaussiansConfig = self.config
        n = cfg.count
        sigma = cfg.init_scale * 2 / math.sqrt(n)  # N Gaussians evenly over the 2 x 2 square
        self.means = nn.Parameter(torch.rand(n, 2) * 2 - 1)
        self.cholesky = nn.Parameter(torch.tensor([sigma, 0.0, sigma]).repeat(n, 1))
        self.colours = nn.Parameter((torch.rand(n, out_dim) - 0.5) / coverage(cfg.init_scale))
        self.register_buffer("pixel", torch.tensor([2 / 512]))  # a 512 x 512 image until initialise
        self.register_buffer("grid", torch.zeros(2, dtype=torch.long))

    def factors(self) -> torch.Tensor:
        """(a, b, c) [N, 3] of each Cholesky factor as drawn, its diagonal kept positive."""
        a, b, c = self.cholesky.unbind(-1)
        floor = FLOOR * FLOOR
        return torch.stack([torch.sqrt(a * a + floor), b, torch.sqrt(c * c + floor)], dim=-1)

    def param_groups(self) -> list[dict[str, Any]]:
        pixel, cfg = float(self.pixel), self.config
        return [{"params": [self.colours], "lr_scale": 1.0},
                {"params": [self.means], "lr_scale": cfg.position_lr * pixel},
                {"params": [self.cholesky], "lr_scale": cfg.shape_lr * pixel}]

    def draw(self, height: int, width: int) -> torch.Tensor:
        """The image at (H, W) pixel centres, [H * W, out_dim] row-major."""
        return splat_grid(self.means, self.factors(), self.colours, height, width, self.config.cutoff)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not x.requires_grad:
            shape = grid_shape(x)
            if shape is not None:
                return self.draw(*shape)
            height, width = self.grid.tolist()
            if height and len(x) >= GRID_SHARE * height * width:
                index = grid_indices(x, height, width)
                if index is not None:
                    return self.draw(height, width).index_select(0, index)
        return splat_points(self.means, self.factors(), self.colours, x, self.config.cutoff)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, chunk: int = 1 << 16) -> torch.Tensor:
        """A whole pixel grid is drawn at once (no chunks: drawing is by Gaussian, not by point); other
        coordinates in chunks, as every model."""
        if grid_shape(x) is None:
            return super().predict(x, chunk)
        return self(x.to(self.means.device)).to(x.device)

    @torch.no_grad()
    def initialise(self, x: torch.Tensor, y: torch.Tensor, seed: int, shape: tuple[int, ...] = ()) -> None:
        """Place the Gaussians on the training pixels ``x`` with values ``y`` (see the module docstring). Samples
        that are not pixels of the (H, W) grid ``shape`` get uniform positions and one global size."""
        device, cfg = self.means.device, self.config
        x, y = x.to(device, self.means.dtype), y[:, : self.out_dim].to(device, self.means.dtype)
        generator = torch.Generator(device=device).manual_seed(seed)
        index = grid_indices(x, *shape) if len(shape) == 2 else None
        if index is None:  # not an image's pixels: uniform positions, one size
            height = width = max(2, round(math.sqrt(len(x))))
            probability = x.new_full((len(x),), 1.0 / len(x))
            density = x.new_full((len(x),), cfg.count / len(x))
        else:
            height, width = shape
            probability, density = _sampling(y, index, height, width, cfg)
            self.grid.copy_(torch.tensor([height, width], device=device))
        pick = torch.multinomial(probability, cfg.count, replacement=cfg.count > len(x), generator=generator)
        jitter = torch.rand(cfg.count, 2, generator=generator, device=device, dtype=x.dtype) - 0.5
        size = x.new_tensor([width, height])
        self.means.copy_(x[pick] + jitter * 2 / size)
        sigma = cfg.init_scale / density[pick].clamp(min=1e-6).sqrt()  # pixels
        sigma = sigma.clamp(min=0.5, max=max(height, width))
        self.cholesky.copy_(torch.stack([sigma * 2 / width, torch.zeros_like(sigma), sigma * 2 / height], dim=1))
        self.pixel.fill_(2 / math.sqrt(height * width))
        # Colours: the pixel's value over the summed weight of all Gaussians there (weights drawn with colour 1).
        self.colours.fill_(1.0)
        overlap = (self.draw(height, width).index_select(0, index) if index is not None
                   else splat_points(self.means, self.factors(), self.colours, x, cfg.cutoff))[pick]
        self.colours.copy_(y[pick] / overlap.clamp(min=0.5))


def coverage(init_scale: float) -> float:
    """Summed weight at a point of Gaussians of standard deviation ``init_scale`` x their spacing: 2 pi s^2."""
    return 2 * math.pi * init_scale * init_scale


def _sampling(y: torch.Tensor, index: torch.Tensor, height: int, width: int, cfg: GaussiansConfig
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """(probability of drawing each training pixel, Gaussians per pixel expected around it) for ``count``
    positions drawn by gradient magnitude (``gradient_share``) and uniformly (the rest)."""
    channels = y.shape[1]
    image = y.new_zeros(height * width, channels + 1)
    image[index] = torch.cat([y, torch.ones_like(y[:, :1])], dim=1)  # values and a mask of known pixels
    image = image.view(height, width, channels + 1).permute(2, 0, 1)[None]
    smooth = nn.functional.avg_pool2d(image, 3, stride=1, padding=1, count_include_pad=False)
    values = smooth[:, :channels] / smooth[:, channels:].clamp(min=1e-6)  # held-out pixels filled from neighbours
    gx = nn.functional.pad(values[..., :, 2:] - values[..., :, :-2], (1, 1, 0, 0), mode="replicate")
    gy = nn.functional.pad(values[..., 2:, :] - values[..., :-2, :], (0, 0, 1, 1), mode="replicate")
    magnitude = torch.sqrt(gx * gx + gy * gy).sum(dim=1)[0].reshape(-1)[index]  # at the training pixels
    share = cfg.gradient_share if cfg.init == "gradient" else 0.0
    uniform = magnitude.new_full(magnitude.shape, 1.0 / len(magnitude))
    total = magnitude.sum()
    probability = uniform if total <= 0 else share * magnitude / total + (1 - share) * uniform
    # Expected Gaussians per pixel, smoothed over a neighbourhood of about the local spacing (9 x 9 pixels).
    per_pixel = probability.new_zeros(height * width)
    per_pixel[index] = probability * cfg.count
    density = nn.functional.avg_pool2d(per_pixel.view(1, 1, height, width), 9, stride=1, padding=4,
                                       count_include_pad=False)
    return probability, density.reshape(-1)[index]
