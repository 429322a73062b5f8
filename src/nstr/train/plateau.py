"""The official DINR learning-rate schedule: ReduceLROnPlateau on each epoch's mean training loss.

The official code steps torch's ``ReduceLROnPlateau(factor=0.1, patience=10)`` once per epoch with that epoch's
training loss. A fit counts optimiser steps, so an epoch here is the number of steps that draw as many
coordinates as the signal has training samples (one step at full batch). torch's scheduler does the bookkeeping
(best loss, relative threshold 1e-4, epochs without improvement); this class only feeds it epoch means and keeps
its state for checkpoints, so a resumed fit continues the same schedule.
"""

from __future__ import annotations

import math
from typing import Any

import torch

#: The official settings (DINR's configs): divide the rate by 10 after 10 epochs without improvement.
FACTOR, PATIENCE = 0.1, 10


def steps_per_epoch(samples: int, batch_size: int) -> int:
    """Optimiser steps that draw ``samples`` coordinates at ``batch_size`` per step (0 = full batch: one)."""
    return 1 if batch_size <= 0 or batch_size >= samples else math.ceil(samples / batch_size)


class Plateau:
    """Feeds ``ReduceLROnPlateau`` the mean training loss of every ``epoch`` steps; it sets the optimiser's rates
    (every parameter group by the same factor, so their ratios stay)."""

    def __init__(self, optimizer: torch.optim.Optimizer, epoch: int):
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=FACTOR, patience=PATIENCE)
        self.epoch, self.total, self.count = epoch, 0.0, 0

    def observe(self, loss: float) -> dict[str, Any]:
        """Record one step's training loss; at the end of an epoch step the scheduler. Returns the state to
        checkpoint (``state_dict``)."""
        self.total, self.count = self.total + loss, self.count + 1
        if self.count == self.epoch:
            self.scheduler.step(self.total / self.count)
            self.total, self.count = 0.0, 0
        return self.state_dict()

    def state_dict(self) -> dict[str, Any]:
        return {"scheduler": self.scheduler.state_dict(), "total": self.total, "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state["scheduler"])
        self.total, self.count = state["total"], state["count"]
