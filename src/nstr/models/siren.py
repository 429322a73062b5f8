"""SIREN (Sitzmann et al. 2020): sine activations with the paper's initialisation."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from nstr.core.precision import full_precision
from nstr.models.base import Field, ModelConfig, option
from nstr.models.registry import register


@dataclass(frozen=True)
class SIRENConfig(ModelConfig):
    hidden: int = option(256, "width of each hidden layer")
    layers: int = option(3, "hidden (width x width) sine layers after the first")
    omega0: float = option(30.0, "frequency scale of the first layer (30 images, 3000 audio)")
    omega_hidden: float = option(30.0, "frequency scale of the hidden layers")

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.layers < 0:
            raise ValueError("hidden must be >= 1 and layers >= 0")
        if not (math.isfinite(self.omega0) and self.omega0 > 0 and self.omega_hidden > 0):
            raise ValueError("omega0 and omega_hidden must be positive and finite")


@register("siren")
class SIREN(Field):
    """x -> sin(omega0 (W0 x + b0)) -> [sin(omega (W h + b))] x layers -> linear.

    Initialisation as the paper: first layer U(-1/n, 1/n), later layers U(-sqrt(6/n)/omega, sqrt(6/n)/omega)
    (the final linear layer too), biases PyTorch's default U(-1/sqrt(n), 1/sqrt(n)).
    """

    Config = SIRENConfig
    default_lr = 1e-4

    def __init__(self, in_dim: int, out_dim: int, config: SIRENConfig | None = None, **options):
        super().__init__(in_dim, out_dim, config, **options)
        cfg: SIRENConfig = self.config
        widths = [in_dim] + [cfg.hidden] * (cfg.layers + 1)
        self.sines = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.omegas = [cfg.omega0] + [cfg.omega_hidden] * cfg.layers
        self.last = nn.Linear(cfg.hidden, out_dim)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        first = self.sines[0]
        first.weight.uniform_(-1 / self.in_dim, 1 / self.in_dim)
        for layer in [*self.sines[1:], self.last]:
            bound = math.sqrt(6 / layer.in_features) / self.config.omega_hidden
            layer.weight.uniform_(-bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with full_precision(x):  # omega0 (W0 x + b0) spans tens of radians: float32 under autocast
            h = torch.sin(self.omegas[0] * self.sines[0](x))
        for layer, omega in zip(self.sines[1:], self.omegas[1:], strict=True):
            h = torch.sin(omega * layer(h))
        return self.last(h)
