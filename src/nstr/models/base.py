"""What every model shares: the [N, in_dim] -> [N, out_dim] contract, a frozen config, training defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import torch
from torch import nn

from nstr.core.config import Config, option
from nstr.core.device import module_device
from nstr.nn.hashgrid import HashGrid

__all__ = ["Field", "ModelConfig", "option"]


@dataclass(frozen=True)
class ModelConfig(Config):
    """Base of each model's hyperparameters; each field's ``help`` becomes the CLI option's help."""


class Field(nn.Module):
    """A coordinate network f: [N, in_dim] -> [N, out_dim], twice differentiable in x.

    Subclasses set ``Config`` (a frozen ``ModelConfig`` dataclass) and may override the training
    defaults below with settings from their reference implementation.
    """

    Config: ClassVar[type[ModelConfig]] = ModelConfig
    #: Learning rate of the reference implementation (Adam).
    default_lr: ClassVar[float] = 1e-3
    #: Extra Adam options (betas, eps) of the reference implementation.
    adam_options: ClassVar[dict[str, Any]] = {}
    #: Fit settings of the reference implementation other than the learning rate (``FitSettings`` fields, such as
    #: a minibatch size); they take precedence over the signal kind's (``Signal.fit_defaults``) and yield to a
    #: config file's and the command line's. None by default.
    fit_defaults: ClassVar[dict[str, Any]] = {}
    #: Submodules used only by loss terms, not by forward (NSTR's transport network).
    auxiliary_modules: ClassVar[tuple[str, ...]] = ()
    #: Input widths the model accepts: coordinates in 1-3 D (radiance-field models take 6: a ray).
    in_dims: ClassVar[tuple[int, ...]] = (1, 2, 3)
    #: Whether ``--compile`` can help: False for a model whose tensors change shape every step (the 2-D
    #: Gaussians' windows), which torch.compile would recompile again and again.
    compilable: ClassVar[bool] = True

    def __init__(self, in_dim: int, out_dim: int, config: ModelConfig | None = None, **options: Any):
        super().__init__()
        if in_dim not in self.in_dims:
            raise ValueError(f"in_dim must be one of {', '.join(map(str, self.in_dims))}, got {in_dim}")
        if out_dim < 1:
            raise ValueError(f"out_dim must be positive, got {out_dim}")
        if config is not None and options:
            raise TypeError("give either a config or keyword options, not both")
        self.in_dim, self.out_dim = in_dim, out_dim
        self.config = config if config is not None else self.Config(**options)

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, out_dim={self.out_dim}, config={self.config}"

    def weights_key(self) -> tuple:
        """Identifies the current weights (changes whenever a parameter is updated in place), so results
        computed from the fitted field (a rendered test split, an extracted mesh) can be cached per weights."""
        return id(self), tuple((p.data_ptr(), p._version) for p in self.parameters())

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def resolved_options(self) -> dict[str, Any]:
        """Options whose value depends on where the model runs, as they are now: the hash-grid ``backend``
        ("torch" or "tcnn", an ``auto`` resolved by the device). The fit records them in config.json."""
        backends = sorted({m.backend for m in self.modules() if isinstance(m, HashGrid)})
        if not backends:
            return {}
        return {"backend": backends[0] if len(backends) == 1 else backends}

    @classmethod
    def option_names(cls) -> list[str]:
        return [f.name for f in fields(cls.Config)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def param_groups(self) -> list[dict[str, Any]]:
        """Optimiser parameter groups; an ``lr_scale`` entry multiplies the scheduled learning rate."""
        return [{"params": list(self.parameters()), "lr_scale": 1.0}]

    def loss_terms(self, x: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named training-loss terms for a batch: squared error plus ``regularisers``; the fit minimises
        their sum and logs each."""
        return {"task": torch.mean((self(x) - target) ** 2), **self.regularisers(x)}

    def initialise(self, x: torch.Tensor, y: torch.Tensor, seed: int, shape: tuple[int, ...] = ()) -> None:
        """Data-dependent initialisation, called once by the fit before the first step (not on resume: the
        checkpoint holds the weights) with the samples it will train on: coordinates ``x`` [N, in_dim], targets
        ``y`` [N, out_dim + E] (held-out samples excluded), the fit's ``seed`` and the signal's sample grid
        ``shape`` ((H, W) for an image, () if none). Parameters keep their shapes. Nothing by default; the 2-D
        Gaussians place themselves on the image."""

    def before_step(self, step: int) -> None:
        """Upkeep before training step ``step`` (after the previous optimiser step), called by the fit: state
        that is kept up to date rather than learnt (a radiance field refreshes its occupancy grid). Forward and
        loss stay free of side effects. A step run again after an interrupt calls this again with the same
        ``step``: keep such state in buffers and make the repeat a no-op. Nothing by default."""

    def step_metrics(self) -> dict[str, float]:
        """Numbers about the training so far that are not loss terms (DINR's dopri5: function evaluations per
        step); the fit logs them with each step's losses and adds their last values to metrics.json. None by
        default."""
        return {}

    def regularisers(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The model's own weighted regularisation terms at coordinates ``x`` (NSTR's transport and smoothness
        terms, DINR's kinetic energy); none by default. Signals with their own task loss add these."""
        return {}

    @torch.no_grad()
    def predict(self, x: torch.Tensor, chunk: int = 1 << 16) -> torch.Tensor:
        """Evaluate on many coordinates in chunks, so memory stays bounded for large signals; each chunk runs on
        the model's device and the result is on the device of ``x`` (the host, for a streamed signal)."""
        device = module_device(self)
        was_training = self.training
        self.eval()
        # One output allocated up front: joining per-chunk results fragments memory on long signals (a
        # 10-minute recording peaked at 7.9 GB that way, 1.25 GB this way).
        out = x.new_empty(x.shape[0], self.out_dim)
        try:
            for i in range(0, x.shape[0], chunk):
                out[i : i + chunk] = self(x[i : i + chunk].to(device)).to(out.device)
        finally:
            self.train(was_training)
        return out
