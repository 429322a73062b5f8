"""Training samples redrawn during a fit: the one mechanism of every kind that redraws (an SDF from its pool of
samples, a scene from the pixels of its train views).

A draw is a pure function of (stream, period): period = step // every, stream = the fit's seed + the
signal's own seed, and the draw's generator is seeded by ``step_seed(stream, period)``. So the same seeds give
the same samples, and a resumed fit redraws exactly what the interrupted one drew.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nstr.signals.base import Signal


def step_seed(stream: int, step: int) -> int:
    """The seed of ``step`` in ``stream`` (a 63-bit integer, distinct for every step of small streams)."""
    return (stream * 1_000_003 + step) % (1 << 63)


class Resampler:
    """Redraws a signal's training samples every ``every`` steps through ``draw(generator)``.

    ``draw`` replaces the signal's ``coords`` and training targets from a generator seeded by the draw's
    (stream, period). It runs once at construction (stream = ``seed``, period 0), so a signal has samples before
    any fit; ``stream`` and ``period`` describe the samples held now (a scene seeds its random backgrounds
    with them).
    """

    def __init__(self, draw: Callable[[torch.Generator], None], seed: int, every: int = 1):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.draw, self.seed, self.every = draw, seed, every
        self.stream, self.period = seed, 0
        #: Where draws happen: the device of the signal's sample pool (``ResampledSignal.move_tensors``). The
        #: generator lives there, so the same seeds give the same samples on the same device.
        self.device = torch.device("cpu")
        draw(self.generator(self.stream, self.period))

    def generator(self, stream: int, period: int) -> torch.Generator:
        return torch.Generator(device=self.device).manual_seed(step_seed(stream, period))

    def before_step(self, step: int, generator: torch.Generator) -> bool:
        """Redraw for fit step ``step`` unless the samples held are already that step's; True after a redraw.
        ``generator`` is the fit's: only its seed is read (the stream is its initial seed + ``seed``)."""
        stream, period = generator.initial_seed() + self.seed, step // self.every
        if (stream, period) == (self.stream, self.period):
            return False
        self.draw(self.generator(stream, period))
        self.stream, self.period = stream, period
        return True


class ResampledSignal(Signal):
    """A signal that trains on samples redrawn by a ``Resampler`` and is scored on a fixed evaluation set kept
    apart from them (so a random hold-out of the training samples means nothing: ``--holdout`` is refused).

    A subclass sets ``self.resampler`` (whose draw fills ``coords``, ``values`` and ``_targets``) and the fixed
    ``_eval_coords`` / ``_eval_values``.
    """

    evaluates_training_samples = False
    resampler: Resampler
    _targets: torch.Tensor
    _eval_coords: torch.Tensor
    _eval_values: torch.Tensor

    def before_step(self, step: int, generator: torch.Generator) -> bool:
        return self.resampler.before_step(step, generator)

    def to(self, device: str | torch.device) -> ResampledSignal:
        """``Signal.to``; later draws happen where the pool now lives."""
        super().to(device)
        self.resampler.device = self.device
        return self

    @property
    def training_targets(self) -> torch.Tensor:
        return self._targets

    @property
    def eval_coords(self) -> torch.Tensor:
        return self._eval_coords

    @property
    def eval_values(self) -> torch.Tensor:
        return self._eval_values
