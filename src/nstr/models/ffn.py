"""Fourier-feature MLP (Tancik et al. 2020): Gaussian random features then a ReLU or GELU MLP."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nstr.models.base import Field, ModelConfig, option
from nstr.models.registry import register
from nstr.nn.hashgrid import FourierFeatures
from nstr.nn.mlp import mlp


@dataclass(frozen=True)
class FourierMLPConfig(ModelConfig):
    sigma: float = option(5.0, "std of the Gaussian frequencies B, cycles per unit on [-1, 1] "
                               "(5 here = Tancik's 10 on [0, 1))")
    features: int = option(256, "number of frequencies (the encoding has 2x this many values)")
    hidden: int = option(256, "width of each hidden layer")
    layers: int = option(4, "number of hidden layers")
    activation: str = option("relu", "hidden activation: relu or gelu")

    def __post_init__(self) -> None:
        if self.features < 1 or self.hidden < 1 or self.layers < 1:
            raise ValueError("features, hidden and layers must be >= 1")
        if not (math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError("sigma must be positive and finite")
        if self.activation not in ("relu", "gelu"):
            raise ValueError(f"activation must be relu or gelu, got '{self.activation}'")


@register("ffn")
class FourierMLP(Field):
    """x -> [sin(2 pi B x), cos(2 pi B x)] -> (Linear, activation) x layers -> Linear."""

    Config = FourierMLPConfig
    default_lr = 1e-3

    def __init__(self, in_dim: int, out_dim: int, config: FourierMLPConfig | None = None, **options):
        super().__init__(in_dim, out_dim, config, **options)
        cfg: FourierMLPConfig = self.config
        self.encoding = FourierFeatures(in_dim, cfg.features, cfg.sigma)
        self.mlp = mlp(self.encoding.out_dim, cfg.hidden, cfg.layers, out_dim, activation=cfg.activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.encoding(x))
