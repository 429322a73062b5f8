"""DINR: dynamical implicit neural representations (arXiv 2511.21787), after the official code's architecture.

    z(0) = embedding(x)                       Fourier features, a SIREN first layer, or NSTR's spectral features
    dz/dt = F(z, t),  t in [0, t1]            time-conditioned residual blocks (Euler, RK4 or dopri5)
    f(x) = W z(t1) + b                        linear decoder
    loss = task + ke_weight * 0.5 int mean(F^2) dt      (kinetic energy; see nstr.nn.ode for each solver's estimate)

The vector field concatenates t to the state once, runs residual blocks at width hidden + 1 and maps back
with Linear(hidden + 1 -> hidden), as the official code does. Blocks, by ``activation``:

* gelu / relu / silu (Dynamical FFNet): h + Dropout(Linear(Dropout(act(Linear(LayerNorm(h)))))); the official
  block applies its dropout after the activation and again after the second Linear.
* sine (Dynamical SIREN): h + sin(w Linear(sin(w Linear(h)))), SIREN's hidden initialisation, no LayerNorm.

Dropout is a training regulariser of the loss, not part of the field: ``forward`` (and ``predict``) is
always the deterministic function, and only ``loss_terms`` in training mode drops units. That keeps
f(x) a function (twice differentiable, reproducible) for every other use.

Speed (the function is unchanged; tests check it against the official computation): the layers' weights are
prepared once per integration (sine frequencies folded into them) and shared by its 12 evaluations, the
kinetic energy is one reduction per evaluation, dropout masks come from ``nstr.nn.dropout``, and the training
loss runs the vector field in bfloat16 where the device multiplies it natively (``field_precision``: 3x the
float32 matrix rate on our CPU; the state z, the embedding, the decoder and every evaluation stay float32).
Measured on the perf suite's step (16,384 coordinates, ~300k parameters, one thread on a loaded 2-core EPYC,
CPU time): dinr-siren 5.8 -> 2.8 s, dinr-ffn and dinr 8.1-8.8 -> 3.4-3.6 s; in float32 alone 1.0-1.2x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nstr.core.precision import autocast_dtype, full_precision, native_bf16
from nstr.models.base import Field, ModelConfig, option
from nstr.models.nstr import NSTR
from nstr.models.registry import register
from nstr.nn.dropout import dropout as drop
from nstr.nn.hashgrid import FourierFeatures
from nstr.nn.ode import ADAPTIVE, SOLVERS, kinetic_energy, odeint_adaptive, odeint_fixed

EMBEDDINGS = ("ffn", "siren", "nstr")
FIELD_ACTIVATIONS = ("gelu", "relu", "silu", "sine")
FIELD_PRECISIONS = ("auto", "bf16", "fp32")


@dataclass(frozen=True)
class DINRConfig(ModelConfig):
    embedding: str = option("ffn", "z(0) from: ffn (Fourier features), siren (a sine first layer), nstr "
                                   "(NSTR's grid + modulated sinusoids)")
    hidden: int = option(256, "width of the latent state z")
    blocks: int = option(3, "residual blocks in the vector field")
    activation: str = option("gelu", "vector-field blocks: gelu, relu or silu (LayerNorm residual blocks) or sine "
                                     "(SIREN residual pairs)")
    dropout: float = option(0.0, "dropout in the vector-field blocks while training (official 0.1; 0 with dopri5). "
                                 "Developer measurement (issue 18 note; dinr-ffn, camera 64 px, 10k parameters, "
                                 "300 full-batch steps, sigma 10, 12 steps): 0.1 bought nothing (14.2 dB with, "
                                 "15.3 without) and costs a third more per step (207 against 152 ms at 150k "
                                 "parameters, 4 steps and 4,096 coordinates)")
    mapping: int = option(256, "Fourier encoding width, even (mapping/2 frequencies, sin and cos); 0 = hidden; "
                               "a Linear maps it to hidden unless the two are equal")
    sigma: float = option(2.5, "std of the Fourier frequencies, cycles per unit of x on [-1, 1] (official 10, "
                               "whose coordinates are also on [-1, 1], leaves the flow almost no low frequencies "
                               "to start from). Developer measurement (issue 18 note; camera 64 px, 10k "
                               "parameters, 300 full-batch steps, no dropout): sigma 10 / 5 / 2.5 reach 15.3 / "
                               "23.0 / 28.9 dB with 17 frequencies (mapping = hidden, as the suite sizes it); with "
                               "128 (mapping 256, 7k parameters, 4 steps) 10 / 5 / 4 / 2.5 reach 25.1 / 32.9 / 34.0 "
                               "/ 32.0; 2.5 is never far from the best")
    omega0: float = option(30.0, "frequency scale of the SIREN embedding")
    omega_hidden: float = option(30.0, "frequency scale of sine blocks")
    k: int = option(16, "NSTR embedding: number of basis frequencies K")
    levels: int = option(16, "NSTR embedding: grid levels")
    log2_table: int = option(13, "NSTR embedding: entries per hashed grid level, log2")
    grid_lr_scale: float = option(10.0, "NSTR embedding: grid features learn at this multiple of the learning "
                                        "rate (10 x 1e-3 = the hash grid's 1e-2)")
    solver: str = option("euler", "ODE solver: euler (official), rk4 or dopri5 (adaptive)")
    ode_steps: int = option(4, "fixed solver steps over [0, t1] (euler, rk4; official 12). Developer measurement "
                               "(issue 18 note; 150k parameters, one thread): a dinr-siren step costs 145 / 287 / "
                               "452 ms at 4 / 8 / 12 steps (4,096 coordinates); 300 full-batch steps at lr 1e-3 "
                               "on held-out 64 x 96 photographs reach 49.6 dB at 4 steps and 49.7 at 12 on one, "
                               "46.5 at 4 and 19.4 at 12 (stalled) on another (static SIREN: 36.2, 33.7)")
    t1: float = option(1.0, "integration time T")
    ke_weight: float = option(0.1, "weight lambda of the kinetic-energy term (official 0.1 for images)")
    rtol: float = option(1e-3, "dopri5 relative tolerance")
    atol: float = option(1e-4, "dopri5 absolute tolerance")
    field_precision: str = option("auto", "vector-field products in the training loss: bf16, fp32 (the fit's "
                                          "--precision) or auto (bf16 for euler/rk4 where the device has native "
                                          "bf16, else fp32); evaluation is always float32")

    def __post_init__(self) -> None:
        for name, allowed in (("embedding", EMBEDDINGS), ("activation", FIELD_ACTIVATIONS), ("solver", SOLVERS),
                              ("field_precision", FIELD_PRECISIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got '{getattr(self, name)}'")
        if self.ode_steps < 1:
            raise ValueError(f"ode_steps must be >= 1 (fixed solver steps over [0, t1]), got {self.ode_steps}")
        if self.hidden < 1 or self.blocks < 0 or self.k < 1 or self.levels < 1:
            raise ValueError("hidden, k and levels must be >= 1 and blocks >= 0")
        if self.mapping < 0 or self.mapping % 2:
            raise ValueError(f"mapping must be an even number >= 0 (0 = hidden), got {self.mapping}")
        for name in ("sigma", "omega0", "omega_hidden", "t1", "rtol", "atol", "grid_lr_scale"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive and finite, got {value}")
        if not (math.isfinite(self.ke_weight) and self.ke_weight >= 0):
            raise ValueError(f"ke_weight must be a finite number >= 0, got {self.ke_weight}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.solver == ADAPTIVE and self.dropout > 0:
            raise ValueError("dopri5 needs a deterministic field: a random dropout mask at every evaluation "
                             "defeats its step-size control; pass dropout 0 (--dropout 0)")


# -- building blocks ----------------------------------------------------------------------------------


def _siren_uniform_(layer: nn.Linear, omega: float) -> nn.Linear:
    """SIREN's hidden-layer init: weights U(-sqrt(6/n)/omega, sqrt(6/n)/omega), biases PyTorch's default."""
    bound = math.sqrt(6 / layer.in_features) / omega
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound)
    return layer


class SineEmbedding(nn.Module):
    """x -> sin(omega0 (W x + b)), SIREN's first layer and its init W ~ U(-1/d, 1/d)."""

    def __init__(self, in_dim: int, width: int, omega0: float):
        super().__init__()
        self.linear, self.omega0 = nn.Linear(in_dim, width), omega0
        with torch.no_grad():
            self.linear.weight.uniform_(-1 / in_dim, 1 / in_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with full_precision(x):  # tens of radians: float32 under autocast (nstr.core.precision)
            return torch.sin(self.omega0 * self.linear(x))


class FourierEmbedding(nn.Module):
    """x -> [sin(2 pi x B), cos(2 pi x B)] (``nstr.nn.hashgrid.FourierFeatures``), then Linear to the state width
    unless the encoding already has that width (the official code skips the projection then)."""

    def __init__(self, in_dim: int, width: int, mapping: int, sigma: float):
        super().__init__()
        self.features = FourierFeatures(in_dim, mapping // 2, sigma)
        self.project = nn.Identity() if mapping == width else nn.Linear(mapping, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.features(x))


Affine = tuple[torch.Tensor, torch.Tensor]  #: (weight [out, in], bias [out]) of one Linear, ready to multiply


def _affine(layer: nn.Linear, dtype: torch.dtype, scale: float = 1.0) -> Affine:
    """``layer``'s (scale * W, scale * b) in ``dtype``: computed once per integration and shared by its evaluations."""
    if scale == 1.0:
        return layer.weight.to(dtype), layer.bias.to(dtype)
    return (scale * layer.weight).to(dtype), (scale * layer.bias).to(dtype)


class NormResidualBlock(nn.Module):
    """h + Dropout(Linear(Dropout(act(Linear(LayerNorm(h)))))) (Dynamical FFNet's block)."""

    def __init__(self, width: int, activation: str):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.first, self.second = nn.Linear(width, width), nn.Linear(width, width)
        self.act = {"gelu": nn.GELU, "relu": nn.ReLU, "silu": nn.SiLU}[activation]()

    def forward(self, h: torch.Tensor, dropout: float) -> torch.Tensor:
        return h + self.branch(h, self.weights(h.dtype), dropout)

    def weights(self, dtype: torch.dtype) -> list[Affine]:
        """LayerNorm's (gamma, beta) and the two Linears in ``dtype``."""
        return [(self.norm.weight.to(dtype), self.norm.bias.to(dtype)), _affine(self.first, dtype),
                _affine(self.second, dtype)]

    def branch(self, h: torch.Tensor, weights: list[Affine], dropout: float) -> torch.Tensor:
        """The residual branch (everything but the skip) at the state-and-time row h."""
        (gamma, beta), first, second = weights
        out = self.act(F.linear(F.layer_norm(h, gamma.shape, gamma, beta, self.norm.eps), *first))
        out = drop(out, dropout)
        return drop(F.linear(out, *second), dropout)


class SineResidualBlock(nn.Module):
    """h + sin(w Linear(sin(w Linear(h)))) with SIREN's hidden init (Dynamical SIREN's block).

    Evaluated as sin(addmm(w b, h, (w W)^T)): the frequency is folded into the weights once per integration, so
    each layer is one GEMM and one sine (the same values up to float rounding)."""

    def __init__(self, width: int, omega: float):
        super().__init__()
        self.first = _siren_uniform_(nn.Linear(width, width), omega)
        self.second = _siren_uniform_(nn.Linear(width, width), omega)
        self.omega = omega

    def forward(self, h: torch.Tensor, dropout: float) -> torch.Tensor:
        return h + self.branch(h, self.weights(h.dtype), dropout)

    def weights(self, dtype: torch.dtype) -> list[Affine]:
        """Both layers' (w W, w b) in ``dtype``."""
        return [_affine(self.first, dtype, self.omega), _affine(self.second, dtype, self.omega)]

    def branch(self, h: torch.Tensor, weights: list[Affine], dropout: float) -> torch.Tensor:
        """The residual branch (everything but the skip) at the state-and-time row h."""
        out = drop(torch.sin(F.linear(h, *weights[0])), dropout)
        return drop(torch.sin(F.linear(out, *weights[1])), dropout)


class VectorField(nn.Module):
    """F(z, t): [z, t] -> residual blocks at width + 1 -> Linear(width + 1 -> width), as the official code does.

    The row [z, t] keeps its time column through the blocks (each skip carries it), so the blocks run at width + 1
    and [z, t] is built once per evaluation (measured: the concatenation is 0.5 % of a step and the extra column
    under 1 % of the products, so folding t into a bias would buy nothing). ``evaluate`` takes the layers'
    weights prepared once per integration (``weights``: sine frequencies folded in, cast to the compute dtype);
    ``forward`` is the same function with the weights prepared per call.
    """

    def __init__(self, width: int, blocks: int, activation: str, omega: float):
        super().__init__()
        make = (lambda: SineResidualBlock(width + 1, omega)) if activation == "sine" else (
            lambda: NormResidualBlock(width + 1, activation))
        self.blocks = nn.ModuleList(make() for _ in range(blocks))
        self.out = nn.Linear(width + 1, width)

    def forward(self, t: float | torch.Tensor, z: torch.Tensor, dropout: float = 0.0) -> torch.Tensor:
        return self.evaluate(self.weights(z.dtype), t, z, dropout)

    def weights(self, dtype: torch.dtype) -> list[list[Affine]]:
        """Every block's prepared weights, then the output layer's, in ``dtype``."""
        return [block.weights(dtype) for block in self.blocks] + [[_affine(self.out, dtype)]]

    def evaluate(self, weights: list[list[Affine]], t: float | torch.Tensor, z: torch.Tensor,
                 dropout: float = 0.0) -> torch.Tensor:
        """F(z, t) with prepared ``weights``, computed in their dtype (z is cast to it; so is the result)."""
        (out,) = weights[-1]
        z = z.to(out[0].dtype)
        h = torch.cat([z, torch.as_tensor(t, dtype=z.dtype, device=z.device).expand(z.shape[0], 1)], dim=1)
        for block, block_weights in zip(self.blocks, weights[:-1], strict=True):
            h = h + block.branch(h, block_weights, dropout)
        return F.linear(h, *out)


# -- the model -----------------------------------------------------------------------------------------


@register("dinr")
class DINR(Field):
    """z(0) = embedding(x), dz/dt = F(z, t) over [0, t1], f(x) = Linear(z(t1)); kinetic-energy regulariser.

    Defaults are the official Dynamical FFNet image architecture (``dinr-ffn``) with training settings chosen by
    measurement at equal steps (sigma 2.5, no dropout, 4 Euler steps: see the options' help); ``dinr-siren`` is
    the Dynamical SIREN architecture, and ``dinr-official`` the official Dynamical SIREN with the official
    recipe. ``embedding="nstr"`` starts the flow from NSTR's spectral features (the paper's open
    question on positional encodings): an ``NSTR`` field with no hidden decoder layers is exactly
    Linear([S_i(x) sin(omega_i.x + b_i), grid features]) -> hidden, so the embedding reuses it whole.

    Optimiser: the official code trains with AdamW (lr 1e-3, weight decay 1e-5) and ReduceLROnPlateau; the
    ``dinr-official`` preset does exactly that (its ``fit_defaults``). These presets use the fit's Adam with a
    cosine schedule over the budget, like every other model, at the official rate 1e-3, except ``dinr-siren``
    (5e-4: see its docstring). Developer measurements of dinr-siren at 150k parameters, 300 full-batch steps:
    on one held-out 64 x 96 photograph lr 1e-3 49.7 dB, 3e-4 41.6, 1e-4 35.5 (static SIREN at its 1e-4: 36.2);
    on another (kodim20) 1e-3 stalled at 14.8-18.1 dB over 3 seeds where 5e-4 reached 44.7-44.8.
    """

    Config = DINRConfig
    default_lr = 1e-3

    def __init__(self, in_dim: int, out_dim: int, config: DINRConfig | None = None, **options: Any):
        super().__init__(in_dim, out_dim, config, **options)
        cfg: DINRConfig = self.config
        if cfg.embedding == "ffn":
            mapping = cfg.mapping or 2 * (cfg.hidden // 2)  # 0: the state width, made even (sin and cos pairs)
            self.embedding = FourierEmbedding(in_dim, cfg.hidden, mapping, cfg.sigma)
        elif cfg.embedding == "siren":
            self.embedding = SineEmbedding(in_dim, cfg.hidden, cfg.omega0)
        else:
            self.embedding = NSTR(in_dim, cfg.hidden, k=cfg.k, levels=cfg.levels, log2_table=cfg.log2_table,
                                  decoder_layers=0)
        self.field = VectorField(cfg.hidden, cfg.blocks, cfg.activation, cfg.omega_hidden)
        self.decoder = nn.Linear(cfg.hidden, out_dim)
        self._evaluations: list[int] = []  #: dopri5's field evaluations per training integration (step_metrics)
        if cfg.activation == "sine":  # the official Dynamical SIREN gives its decoder SIREN's init
            _siren_uniform_(self.decoder, cfg.omega_hidden)

    def integrate(self, x: torch.Tensor, dropout: float = 0.0, energy: bool = True, training: bool = False
                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(f(x) [N, out_dim], KE or None): one integration gives the prediction and the unweighted kinetic
        energy 0.5 int mean(F^2) dt (nstr.nn.ode explains each solver's estimate). dopri5 always carries the
        energy as a state, so its prediction does not depend on ``energy``. ``training``: the training loss's
        integration, whose vector field may run in bf16 (``field_dtype``); the state z stays float32."""
        cfg: DINRConfig = self.config
        z0 = self.embedding(x)
        dtype = self.field_dtype(z0, training)
        with full_precision(z0):  # the field's dtype is chosen here, not by autocast
            weights = self.field.weights(dtype)
            calls = [0]

            def field(t: float | torch.Tensor, z: torch.Tensor) -> torch.Tensor:
                calls[0] += 1
                return self.field.evaluate(weights, t, z, dropout)

            if cfg.solver == ADAPTIVE:
                z1, ke = odeint_adaptive(field, z0, 0.0, cfg.t1, rtol=cfg.rtol, atol=cfg.atol)
                if training:
                    self._evaluations.append(calls[0])
            else:
                z1, evaluations = odeint_fixed(field, z0, 0.0, cfg.t1, cfg.ode_steps, cfg.solver)
                ke = kinetic_energy(evaluations) if energy else None
        return self.decoder(z1), ke

    def field_dtype(self, z0: torch.Tensor, training: bool) -> torch.dtype:
        """The vector field's compute dtype: autocast's when the fit autocasts; bf16 in the training loss when
        ``field_precision`` asks for it (auto: a float32 model, a fixed-step solver and native bf16 on the
        device: measured to lose nothing, see the README); else the state's own dtype."""
        lowered = autocast_dtype(z0.device)
        if lowered is not None:
            return lowered
        choice = self.config.field_precision
        if training and z0.dtype == torch.float32 and (choice == "bf16" or (
                choice == "auto" and self.config.solver != ADAPTIVE and native_bf16(z0.device))):
            return torch.bfloat16
        return z0.dtype

    def step_metrics(self) -> dict[str, float]:
        """dopri5: ``nfe``, the vector-field evaluations of the last training integration, and ``nfe_per_step``,
        their mean over this process's training steps (forward evaluations; the backward re-uses them)."""
        if not self._evaluations:
            return {}
        return {"nfe": float(self._evaluations[-1]), "nfe_per_step": sum(self._evaluations) / len(self._evaluations)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The deterministic field (no dropout in any mode)."""
        return self.integrate(x, energy=False)[0]

    def _train_dropout(self) -> float:
        return self.config.dropout if self.training else 0.0

    def loss_terms(self, x: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Squared error and the weighted kinetic energy from a single integration (with dropout in training)."""
        weight = self.config.ke_weight
        pred, ke = self.integrate(x, self._train_dropout(), energy=weight > 0, training=self.training)
        terms = {"task": torch.mean((pred - target) ** 2)}
        if weight > 0:
            terms["ke"] = weight * ke
        return terms

    def regularisers(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"ke": ke_weight * KE} at ``x`` for signals with their own task loss (costs one more integration;
        ``loss_terms`` avoids it). Empty when ke_weight is 0."""
        weight = self.config.ke_weight
        if weight == 0:
            return {}
        return {"ke": weight * self.integrate(x, self._train_dropout(), training=self.training)[1]}

    def param_groups(self) -> list[dict[str, Any]]:
        """With the NSTR embedding its grid table learns at ``grid_lr_scale`` times the rate; else one group."""
        if self.config.embedding != "nstr":
            return super().param_groups()
        table = self.embedding.grid.table
        rest = [p for p in self.parameters() if p is not table]
        return [{"params": [table], "lr_scale": self.config.grid_lr_scale}, {"params": rest, "lr_scale": 1.0}]


@dataclass(frozen=True)
class DINRFFNConfig(DINRConfig):
    """The official Dynamical FFNet image architecture (Kodak: mapping 256, hidden 256, 3 GELU blocks, lambda 0.1)
    with our measured training defaults: sigma 2.5, no dropout, 4 Euler steps (the official 10, 0.1 and 12 are
    flags away: ``--sigma 10 --dropout 0.1 --ode-steps 12``); the generic ``dinr`` shares these defaults."""


@register("dinr-ffn")
class DINRFFN(DINR):
    """Dynamical FFNet: Fourier features, LayerNorm GELU residual blocks with dropout."""

    Config = DINRFFNConfig


@dataclass(frozen=True)
class DINRSirenConfig(DINRConfig):
    """The official Dynamical SIREN image architecture (Kodak: hidden 192, 2 sine blocks, omega 30, no dropout)
    integrated with 2 Euler steps (the official 12: ``dinr-official``)."""

    embedding: str = option("siren", "z(0) from: ffn, siren or nstr")
    hidden: int = option(192, "width of the latent state z")
    blocks: int = option(2, "residual blocks (pairs of sine layers) in the vector field")
    activation: str = option("sine", "vector-field blocks: sine (SIREN residual pairs), gelu, relu or silu")
    dropout: float = option(0.0, "dropout in the vector-field blocks while training")
    ode_steps: int = option(2, "fixed solver steps over [0, t1] (euler, rk4; official 12). Measured (dinr and "
                               "dinr-steps suites, camera and astronaut, 150k parameters, 3 seeds): 2 Euler steps "
                               "reach 27.7 dB on camera in 60 s against 25.0 at 4 (about twice the steps, on one "
                               "core of a slow 2-core machine), and at 300 equal steps 33.8 / 33.2 against 33.8 / 32.9 "
                               "(camera / astronaut): the same quality per step at about half the cost")


@register("dinr-siren")
class DINRSiren(DINR):
    """Dynamical SIREN: a sine first layer, then residual pairs of sine layers as the vector field.

    Learning rate 5e-4, half the official 1e-3: at 1e-3 the omega-30 sines of the shared vector field, applied
    at every solver step, made 300 full-batch steps stall (developer measurement, issue 18 note: held-out
    kodim20 at 96 x 64, seeds 0-2, 15.4 / 14.8 / 18.1 dB; camera at 96 x 96 17.7) where 5e-4 reached 44.7 /
    44.7 / 44.8 and 48.2 (static SIREN at its 1e-4: 36.5 on kodim20). With only ~30 steps (60 s on a
    384 x 256 image at the default minibatch) 1e-3 is ahead: 25.5 dB against 24.4.

    Minibatch 8,192 pixels (``fit_defaults``; the image default is 65,536), the dinr-steps suite's: a step costs
    several SIREN steps, so a time budget buys few of them. Developer measurement, held-out kodim20 at 384 x 256,
    ``nstr fit --max-seconds 60`` on a 2-core AVX2 CPU (64 GFLOP/s), seed 0: 65,536 pixels 19.96 dB in 13 steps,
    16,384 26.21 (50 steps; seed 1 26.89), 8,192 28.80 (113), 4,096 29.23 (210).
    """

    Config = DINRSirenConfig
    default_lr = 5e-4
    fit_defaults = {"batch_size": 1 << 13}


@dataclass(frozen=True)
class DINROfficialConfig(DINRSirenConfig):
    """The official Dynamical SIREN image preset exactly (hidden 192, 2 sine blocks, omega 30, 12 Euler steps,
    lambda 0.1), its vector field trained in float32."""

    ode_steps: int = option(12, "fixed solver steps over [0, t1] (euler, rk4; 12 is the official)")

    field_precision: str = option("fp32", "vector-field products in the training loss: fp32 (the official), bf16 "
                                          "or auto")


@register("dinr-official")
class DINROfficial(DINRSiren):
    """DINR as the paper trains it, one flag away: the official Dynamical SIREN and the official recipe (AdamW,
    lr 1e-3, weight decay 1e-5, ReduceLROnPlateau 0.1 / patience 10 on each epoch's training loss)."""

    Config = DINROfficialConfig
    default_lr = 1e-3
    fit_defaults = {"optimizer": "adamw", "schedule": "plateau"}
