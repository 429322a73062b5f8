"""Instant-NGP (Mueller et al. 2022): a multiresolution hash grid followed by a small ReLU MLP."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nstr.models.base import Field, ModelConfig, option
from nstr.models.registry import register
from nstr.nn.hashgrid import BACKENDS, HashGrid
from nstr.nn.mlp import mlp


@dataclass(frozen=True)
class HashGridConfig(ModelConfig):
    levels: int = option(16, "number of grid resolutions L")
    features: int = option(2, "features per level F (the encoding has L x F values)")
    log2_table: int = option(19, "log2 of the entries per hashed level T (the paper uses 14..24)")
    base_res: int = option(16, "coarsest resolution N_min, in cells across the whole [-1, 1] domain")
    max_res: int = option(2048, "finest resolution N_max, in cells across the domain; at least the "
                                "signal's samples per axis (2048 covers images up to 2048 px a side)")
    hidden: int = option(64, "width of each hidden layer of the MLP")
    layers: int = option(2, "number of hidden ReLU layers of the MLP")
    backend: str = option("torch", "hash-grid encoding: torch (pure PyTorch, any device, twice differentiable), "
                                   "tcnn (tiny-cuda-nn, CUDA only) or auto (tcnn when it is installed and the fit "
                                   "runs on CUDA, else torch; recorded in config.json)")

    def __post_init__(self) -> None:
        if self.levels < 1 or self.features < 1:
            raise ValueError("levels and features must be >= 1")
        if not 4 <= self.log2_table <= 30:
            raise ValueError(f"log2_table must be in 4..30, got {self.log2_table}")
        if self.base_res < 1 or self.max_res < self.base_res:
            raise ValueError(f"need 1 <= base_res <= max_res, got base_res={self.base_res}, max_res={self.max_res}")
        if self.hidden < 1 or self.layers < 1:
            raise ValueError("hidden and layers must be >= 1")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got '{self.backend}'")


@register("hashgrid")
class HashGridField(Field):
    """x -> HashGrid(x) [L x F] -> (Linear, ReLU) x layers -> Linear.

    Training defaults as the paper: Adam, lr 1e-2, betas (0.9, 0.99), eps 1e-15. The table is
    ``encoding.table``; see ``nstr.nn.hashgrid.HashGrid`` for the grid conventions. Sizes: the defaults
    hold 5.5 M parameters for an image (12 levels dense, 4 hashed) and 12.2 M in 3-D; log2_table=14,
    max_res=512 gives 0.29 M for an RGB image. A max_res far above the signal's own resolution leaves
    fine levels untrained between samples, so unseen coordinates interpolate poorly.
    """

    Config = HashGridConfig
    default_lr = 1e-2
    adam_options = {"betas": (0.9, 0.99), "eps": 1e-15}

    def __init__(self, in_dim: int, out_dim: int, config: HashGridConfig | None = None, **options):
        super().__init__(in_dim, out_dim, config, **options)
        cfg: HashGridConfig = self.config
        self.encoding = HashGrid(
            in_dim, levels=cfg.levels, features=cfg.features, log2_table=cfg.log2_table,
            base_res=cfg.base_res, max_res=cfg.max_res, backend=cfg.backend,
        )
        self.mlp = mlp(self.encoding.out_dim, cfg.hidden, cfg.layers, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.encoding(x))
