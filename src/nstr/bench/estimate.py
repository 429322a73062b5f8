"""How long a suite will take, printed before it starts: time-budgeted cells cost their budget, step-budgeted
cells their steps times a step time measured here (one Adam step of the cell's model on a random batch of its
batch size, after one warm-up step; once per distinct configuration). Training time only: evaluation, loading
and the re-runs of busy cells come on top, so the estimate is a lower bound.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

import torch

from nstr.bench.suites import Cell, signal_dims, signal_length
from nstr.models import build_model

StepTimer = Callable[[Cell], float | None]


def step_seconds(cell: Cell) -> float | None:
    """Seconds of one training step of the cell's model at its batch size (None if the model cannot be timed
    on random coordinates)."""
    in_dim, out_dim = signal_dims(cell.signal)
    batch = cell.fit.get("batch_size") or signal_length(cell.signal)
    try:
        model = build_model(cell.model, in_dim, out_dim, **cell.options)
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
        x = torch.rand(batch, in_dim) * 2 - 1
        y = torch.zeros(batch, out_dim)
        seconds = math.inf
        for _ in range(2):
            start = time.perf_counter()
            optimiser.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            optimiser.step()
            seconds = time.perf_counter() - start
        return seconds
    except Exception:  # an estimate must never stop the suite; the cell itself reports real errors
        return None


def _config(cell: Cell) -> str:
    return json.dumps([cell.model, cell.options, cell.signal if not cell.fit.get("batch_size") else None,
                       signal_dims(cell.signal), cell.fit.get("batch_size")], sort_keys=True, default=str)


def estimate_seconds(cells: list[Cell], workers: int = 1, timer: StepTimer = step_seconds
                     ) -> tuple[float, int]:
    """(training seconds of ``cells`` shared among ``workers``, cells whose step time could not be measured)."""
    total, unknown, measured = 0.0, 0, {}
    for cell in cells:
        steps, seconds = cell.fit.get("steps"), cell.fit.get("max_seconds")
        cost = None
        if steps:
            key = _config(cell)
            if key not in measured:
                measured[key] = timer(cell)
            cost = None if measured[key] is None else steps * measured[key]
        if seconds:
            cost = seconds if cost is None else min(cost, seconds)
        if cost is None:
            unknown += 1
        else:
            total += cost
    return total / max(workers, 1), unknown
