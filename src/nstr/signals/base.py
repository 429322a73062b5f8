"""The contract every signal (image, audio, SDF, scene) follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import torch


class Signal(ABC):
    """A sampled signal: coordinates in [-1, 1]^d and target values in [-1, 1] (normalised per signal).

    Values are normalised so that every model sees the same range; ``to_native`` undoes the
    normalisation so results are written back in the input's range and dtype.
    """

    kind: str = "signal"
    coords: torch.Tensor  # [N, in_dim] float32
    values: torch.Tensor  # [N, out_dim] float32 in [-1, 1]

    @property
    def in_dim(self) -> int:
        return self.coords.shape[1]

    @property
    def out_dim(self) -> int:
        return self.values.shape[1]

    def __len__(self) -> int:
        return self.coords.shape[0]

    @abstractmethod
    def spec(self, run_dir: Path | None = None) -> dict[str, Any]:
        """JSON description from which ``load_signal(spec, run_dir)`` rebuilds this signal.

        A signal with no file behind it (an in-memory array) saves its data into ``run_dir``.
        """

    @abstractmethod
    def metrics(self, pred: torch.Tensor) -> dict[str, float]:
        """Quality of a prediction [N, out_dim] (normalised space) against the full signal."""

    @abstractmethod
    def psnr(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        """Cheap headline score on a subset of samples (normalised space); used during training."""

    @abstractmethod
    def write_outputs(self, pred: torch.Tensor, out_dir: Path) -> list[Path]:
        """Write the reconstruction and pictures of it into ``out_dir``; return the files written."""
