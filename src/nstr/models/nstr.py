"""NSTR: Neural Spectral Transport Representation (our reading of the withdrawn paper; see docs/design.md).

    z(x)  = multilinear interpolation of learnable grid features (one coarse grid, or several levels)
    S(x)  = H_psi([z(x), x])                         in R^K, the local spectrum
    v_i   = S_i(x) sin(omega_i . x + b_i)            K modulated global sinusoids
    f(x)  = g_phi(v)          (compose="vector", the workable reading)
          = g_phi(S_i sin(omega_i . x + b_i + phi_i(x)))   (compose="phase": H_psi also gives phases phi(x), so
                                  basis i has the local frequency omega_i + dphi_i/dx exactly)
          = g_phi(sum_i v_i)  (compose="sum", the paper's literal formula)
          = g_phi(S)          (compose="plain": the same grid + MLP with the sinusoids removed, an ablation)
    loss  = task + lambda_pde mean_x ||dS/dx - F_theta(x, S)||^2 + lambda_smooth mean_x ||dS/dx||^2

The grid is the Instant-NGP encoding (``nstr.nn.hashgrid.HashGrid``: dense levels, hashed where a level
outgrows the table); with ``levels=1`` it is the paper's single coarse grid. dS/dx is exact and cheap: the
grid's Jacobian is analytic (``HashGrid.forward_with_jacobian``) and is pushed through H_psi as d forward
tangents (``TangentMLP``); no reverse pass per spectral channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nstr.core.precision import at_least_float32, full_precision
from nstr.models.base import Field, ModelConfig, option
from nstr.models.registry import register
from nstr.models.spectral_basis import spectrum_frequencies
from nstr.nn.hashgrid import BACKENDS, HashGrid
from nstr.nn.mlp import TangentMLP, mlp

COMPOSITIONS = ("vector", "sum", "plain", "phase")
BASIS_INITS = ("gaussian", "spectrum")


@dataclass(frozen=True)
class NSTRConfig(ModelConfig):
    k: int = option(16, "number of global basis frequencies K")
    basis_sigma: float = option(8.0, "std of the basis frequencies, cycles per unit of x on [-1, 1]")
    basis_init: str = option("gaussian", "gaussian: each frequency N(0, basis_sigma) per axis; spectrum: drawn "
                                         "from the training image's magnitude spectrum (images only)")
    basis_learnable: bool = option(True, "train the basis frequencies and phases")
    grid_res: int = option(16, "cells per axis of the coarsest grid level")
    grid_channels: int = option(2, "feature channels per grid level")
    levels: int = option(16, "grid levels from grid_res up to max_res (1 = the paper's single coarse grid)")
    max_res: int = option(512, "cells per axis of the finest level (levels > 1)")
    log2_table: int = option(13, "levels with more vertices than 2^log2_table are hashed into that many")
    spectral_width: int = option(64, "width of H_psi, the spectral-field MLP")
    spectral_layers: int = option(1, "hidden layers of H_psi")
    decoder_width: int = option(64, "width of the decoder g_phi")
    decoder_layers: int = option(2, "hidden layers of the decoder g_phi (2 hidden = the paper's 3 linear layers)")
    decoder_features: bool = option(True, "also feed the grid features z(x) to the decoder")
    flow_width: int = option(64, "width of the transport network F_theta")
    flow_layers: int = option(2, "hidden layers of F_theta")
    compose: str = option("vector", "vector: g(S_i sin(w_i.x+b_i)); sum: g(sum of them); plain: g(S), no sines; "
                                    "phase: g(S_i sin(w_i.x+b_i+phi_i(x))), phases phi from H_psi too")
    lambda_pde: float = option(0.0, "weight of the transport residual ||dS/dx - F(x, S)||^2 (paper: 0.1; "
                                    "0 measured best, see BENCHMARKS.md)")
    lambda_smooth: float = option(0.0, "weight of ||dS/dx||^2")
    reg_fraction: float = option(0.25, "fraction of each batch on which the transport and smoothness terms "
                                       "are estimated (unbiased; cuts their cost)")
    grid_lr_scale: float = option(1.0, "grid features learn at this multiple of the base learning rate")
    backend: str = option("torch", "grid encoding: torch (any device; exact dS/dx), tcnn (tiny-cuda-nn, CUDA only, "
                                   "no dS/dx: needs lambda_pde and lambda_smooth 0) or auto (tcnn when it is "
                                   "installed, the fit runs on CUDA and no term needs dS/dx, else torch)")

    def __post_init__(self) -> None:
        positive = ("k", "grid_res", "grid_channels", "levels", "max_res", "spectral_width", "decoder_width",
                    "flow_width")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if min(self.spectral_layers, self.decoder_layers, self.flow_layers) < 0:
            raise ValueError("layer counts must be >= 0")
        if self.compose not in COMPOSITIONS:
            raise ValueError(f"compose must be one of {', '.join(COMPOSITIONS)}, got '{self.compose}'")
        if not 0 < self.reg_fraction <= 1:
            raise ValueError("reg_fraction must be in (0, 1]")
        for name in ("basis_sigma", "lambda_pde", "lambda_smooth", "grid_lr_scale"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0")
        if not 4 <= self.log2_table <= 26:
            raise ValueError("log2_table must be in 4..26")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got '{self.backend}'")
        if self.basis_init not in BASIS_INITS:
            raise ValueError(f"basis_init must be one of {', '.join(BASIS_INITS)}, got '{self.basis_init}'")
        if self.backend == "tcnn" and self.needs_tangents:
            raise ValueError("backend tcnn has no exact dS/dx: the transport and smoothness terms need backend "
                             "torch (or lambda_pde and lambda_smooth 0)")

    @property
    def needs_tangents(self) -> bool:
        """Whether training needs dS/dx (the transport or smoothness term is on)."""
        return self.lambda_pde > 0 or self.lambda_smooth > 0


@register("nstr")
class NSTR(Field):
    """Spectral field S(x) from multilinear grid features modulating K global sinusoids, with transport loss."""

    Config = NSTRConfig
    default_lr = 1e-2
    adam_options = {"betas": (0.9, 0.99), "eps": 1e-15}
    auxiliary_modules = ("transport",)

    def __init__(self, in_dim: int, out_dim: int, config: NSTRConfig | None = None, **options: Any):
        super().__init__(in_dim, out_dim, config, **options)
        cfg: NSTRConfig = self.config
        backend = "torch" if cfg.backend == "auto" and cfg.needs_tangents else cfg.backend
        self.grid = HashGrid(in_dim, levels=cfg.levels, features=cfg.grid_channels, log2_table=cfg.log2_table,
                             base_res=cfg.grid_res, max_res=max(cfg.max_res, cfg.grid_res), backend=backend)
        heads = 2 if cfg.compose == "phase" else 1  # amplitudes S, and phases phi with compose="phase"
        self.spectral = TangentMLP(self.grid.out_dim + in_dim, cfg.spectral_width, cfg.spectral_layers, heads * cfg.k)
        omega = torch.randn(cfg.k, in_dim) * (2 * math.pi * cfg.basis_sigma)
        phase = (torch.rand(cfg.k) * 2 - 1) * math.pi
        if cfg.basis_learnable:
            self.omega, self.phase = nn.Parameter(omega), nn.Parameter(phase)
        else:
            self.register_buffer("omega", omega)
            self.register_buffer("phase", phase)
        decoder_in = 1 if cfg.compose == "sum" else cfg.k
        decoder_in += self.grid.out_dim if cfg.decoder_features else 0
        self.decoder = mlp(decoder_in, cfg.decoder_width, cfg.decoder_layers, out_dim)
        # F_theta exists only when the transport term trains it; an untrained flow would be noise in pictures.
        self.transport = (mlp(in_dim + cfg.k, cfg.flow_width, cfg.flow_layers, cfg.k * in_dim, activation="silu")
                          if cfg.lambda_pde > 0 else None)

    # -- the spectral field -------------------------------------------------------------------------
    def spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """S(x) [N, K]: the amplitudes (compose="phase" also has phases: ``phases``)."""
        z = self.grid(x)
        return self.spectral(torch.cat([z, x], dim=1))[:, : self.config.k]

    def phases(self, x: torch.Tensor) -> torch.Tensor:
        """phi(x) [N, K], the phase modulation of compose="phase"."""
        if self.config.compose != "phase":
            raise ValueError("only compose='phase' has phases phi(x)")
        z = self.grid(x)
        return self.spectral(torch.cat([z, x], dim=1))[:, self.config.k :]

    @property
    def exact_jacobian(self) -> bool:
        """Whether dS/dx is available: the grid runs on the torch backend (tiny-cuda-nn's has no tangents)."""
        return self.grid.backend == "torch"

    def spectrum_jacobian(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(S [N, K], dS/dx [N, K, d]), exact, by forward tangents through the grid and H_psi."""
        s, tangents, _ = self._spectrum_tangents(x)
        k = self.config.k
        return s[:, :k], tangents[..., :k].permute(1, 2, 0)

    def _spectrum_tangents(self, x: torch.Tensor):
        """H_psi's output [N, K] (or [N, 2K]: amplitudes, then phases), its tangents direction-major [d, N, .],
        and the grid features z [N, C]."""
        z, dz = self.grid.forward_with_tangents(x)
        eye = torch.eye(self.in_dim, dtype=x.dtype, device=x.device)[:, None, :].expand(-1, x.shape[0], -1)
        s, ds = self.spectral.forward_with_tangents(torch.cat([z, x], dim=1), torch.cat([dz, eye], dim=2))
        return s, ds, z

    def flow(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """F_theta(x, S) [N, K, d]: the transport law dS/dx should follow (needs lambda_pde > 0)."""
        if self.transport is None:
            raise ValueError("this NSTR has no transport network: it was built with lambda_pde = 0")
        return self.transport(torch.cat([x, s], dim=1)).view(-1, self.config.k, self.in_dim)

    def local_frequency(self, x: torch.Tensor) -> torch.Tensor:
        """Dominant local frequency [N, d] in cycles per unit of x (Proposition 1).

        omega(x) = sum_i p_i(x) sigma_i omega_i / (2 pi), with energy weights p_i = S_i^2 / sum_j S_j^2 and
        sigma_i = +-1 turning each basis vector to point into the half-space of the first axis (sin(-w.x+b)
        is -sin(w.x-b), so a frequency and its negative are the same frequency). The paper writes
        T(S) = sum_i S_i omega_i, which assumes S on the simplex; the energy weights put it there.
        With compose="phase" basis i oscillates at omega_i + dphi_i/dx(x) exactly, so that replaces omega_i.
        """
        omega = self.omega.detach()
        if self.config.compose == "phase":
            out, tangents, _ = self._spectrum_tangents(x)
            k = self.config.k
            s, local = out[:, :k], omega + tangents[..., k:].permute(1, 2, 0)  # [N, K, d]
        else:
            s, local = self.spectrum(x), omega.expand(x.shape[0], -1, -1)
        weights = s.pow(2) / s.pow(2).sum(dim=1, keepdim=True).clamp_min(1e-12)
        lead = local[..., 0]
        sign = torch.where(lead < 0, -torch.ones_like(lead), torch.ones_like(lead))
        return torch.einsum("nk,nkd->nd", weights, local * sign.unsqueeze(-1)) / (2 * math.pi)

    # -- decoding and training -------------------------------------------------------------------------
    def _decode(self, x: torch.Tensor, s: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        compose, k = self.config.compose, self.config.k
        if compose == "plain":
            terms = s
        else:
            with full_precision(x):  # basis phases of tens of radians: float32 under autocast
                phases = x @ self.omega.t() + self.phase
                if compose == "phase":
                    phases = phases + s[:, k:]
            terms = s[:, :k] * torch.sin(phases)
            if compose == "sum":
                terms = terms.sum(dim=1, keepdim=True)
        if self.config.decoder_features:
            terms = torch.cat([terms, z], dim=1)
        return self.decoder(terms)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.grid(x)
        s = self.spectral(torch.cat([z, x], dim=1))
        return self._decode(x, s, z)

    def regularisers(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The transport residual and smoothness terms (weighted), on a random ``reg_fraction`` of ``x``."""
        cfg = self.config
        if cfg.lambda_pde == 0 and cfg.lambda_smooth == 0:
            return {}
        if cfg.reg_fraction < 1:  # a random subset: an unbiased estimate of both expectations over x
            picked = torch.randint(x.shape[0], (max(1, round(cfg.reg_fraction * x.shape[0])),), device=x.device)
            x = x[picked]
        s, ds = self.spectrum_jacobian(x)  # amplitudes S and dS/dx [N, K, d]
        terms = {}
        if cfg.lambda_pde > 0:
            residual = ds - self.flow(x, s)
            terms["pde"] = cfg.lambda_pde * at_least_float32(residual).pow(2).sum(dim=(1, 2)).mean()
        if cfg.lambda_smooth > 0:
            terms["smooth"] = cfg.lambda_smooth * at_least_float32(ds).pow(2).sum(dim=(1, 2)).mean()
        return terms

    @torch.no_grad()
    def initialise(self, x: torch.Tensor, y: torch.Tensor, seed: int, shape: tuple[int, ...] = ()) -> None:
        """With ``basis_init="spectrum"``, draw the basis frequencies from the training image's spectrum
        (``nstr.models.spectral_basis``); the Gaussian basis needs nothing from the data."""
        if self.config.basis_init == "spectrum":
            self.omega.copy_(spectrum_frequencies(x, y[:, : self.out_dim], shape, self.config.k, seed))

    def param_groups(self) -> list[dict[str, Any]]:
        grid = [self.grid.table]
        rest = [p for name, p in self.named_parameters() if not name.startswith("grid.")]
        return [{"params": grid, "lr_scale": self.config.grid_lr_scale}, {"params": rest, "lr_scale": 1.0}]


@dataclass(frozen=True)
class NSTRPaperConfig(NSTRConfig):
    grid_res: int = option(63, "cells per axis of the coarse grid (64 vertices)")
    grid_channels: int = option(64, "feature channels of the coarse grid")
    levels: int = option(1, "grid levels (1 = the paper's single coarse grid)")
    lambda_pde: float = option(0.0, "weight of the transport residual ||dS/dx - F(x, S)||^2 (the paper's 0.1 "
                                    "costs 10 dB on astronaut at 800 steps: 24.2 against 34.0; see the README)")
    decoder_features: bool = option(False, "also feed the grid features z(x) to the decoder")
    grid_lr_scale: float = option(20.0, "grid features learn at this multiple of the base learning rate (one "
                                        "coarse grid of 64 channels learns slowly at the MLP's rate: 30.5 dB at "
                                        "1x, 31.9 at 5x, 34.0 at 20x on astronaut in 800 steps)")


@register("nstr-paper")
class NSTRPaper(NSTR):
    """NSTR as the paper describes it: one coarse grid, features only through S(x).

    The training recipe is ours (the paper gives none that trains): the grid at 20x the learning rate, minibatches
    of 2^14, and the transport term off by default (``lambda_pde=0.1`` is the paper's loss; it costs about 10 dB
    at equal steps, see the README's NSTR section)."""

    Config = NSTRPaperConfig
    #: Minibatches of 2^14: a step of the 64-channel grid costs about four hash-grid steps at the same batch, so
    #: the fit's 65,536 leaves too few steps in a CPU budget (80 in 60 s on a 400x600 photograph).
    fit_defaults = {"batch_size": 1 << 14}
