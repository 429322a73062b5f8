"""Instantaneous frequency of a 1-D field, for any model (Proposition 1 for the default NSTR).

NSTR's own estimate, ``NSTR.local_frequency`` (T(S), the energy-weighted basis frequency), follows a chirp only
when the sinusoids carry the detail: with the paper's single coarse grid and its transport term. The default
model's 16-level grid resolves a chirp itself (finest level 512 cells), so its basis weights say little about
the signal (benchmarks/nstr_chirp.py stores both). What the representation itself oscillates at is a property
of f: this module reads it off f sampled densely, by the analytic signal (scipy's Hilbert transform): the
derivative of the unwrapped phase of f + i H[f] is the instantaneous frequency of a one-component signal.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.signal import hilbert


def instantaneous_frequency(values: np.ndarray, spacing: float) -> np.ndarray:
    """Instantaneous frequency [n] in cycles per unit of x of samples ``values`` [n] taken ``spacing`` apart.

    Meaningful for a one-component (AM-FM) signal of positive frequency, away from its ends (the transform
    assumes periodicity: read the central part; within its 10 % ends a chirp's estimate is off by up to 1 cycle).
    The mean is removed first, so an offset does not bias the phase."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size < 8:
        raise ValueError(f"need a 1-D array of at least 8 samples, got shape {values.shape}")
    if not spacing > 0:
        raise ValueError(f"spacing must be > 0, got {spacing}")
    phase = np.unwrap(np.angle(hilbert(values - values.mean())))
    return np.gradient(phase, spacing) / (2 * math.pi)


@torch.no_grad()
def field_frequency(model: torch.nn.Module, lo: float = -1.0, hi: float = 1.0, n: int = 4096,
                    channel: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(x [n], instantaneous frequency [n]) of output ``channel`` of a model with 1-D input, sampled at ``n``
    cell centres of [lo, hi]."""
    if n < 8 or not hi > lo:
        raise ValueError(f"need n >= 8 samples of an interval with hi > lo, got n={n}, [{lo}, {hi}]")
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else None
    step = (hi - lo) / n
    x = lo + step * (torch.arange(n, dtype=torch.float32, device=device) + 0.5)
    values = model(x.view(-1, 1))[:, channel].float().cpu().numpy()
    return x.cpu().numpy(), instantaneous_frequency(values, step)
