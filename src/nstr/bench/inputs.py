"""What a cell fits: its signal at the suite's size, and its model's options resolved to a full configuration.

The runner fits with them and the stored FreSh choices (``fresh_choices``) are computed from them, so both see
the same signal and key their records on the same configuration.
"""

from __future__ import annotations

import json
from typing import Any

from nstr.bench.suites import Cell
from nstr.models import model_class
from nstr.signals import load_signal


def load_cell_signal(cell: Cell):
    """The cell's signal, images scaled so the longer side is ``cell.size`` (never upsampled)."""
    options = dict(cell.signal_options)
    signal = load_signal(cell.signal, **options)
    shape = signal.shape
    if cell.size is None or signal.kind != "image" or max(shape) <= cell.size:
        return signal
    scale = cell.size / max(shape)
    resize = tuple(max(2, round(side * scale)) for side in shape)
    return load_signal(cell.signal, resize=resize, **options)


def model_config(cell: Cell) -> dict[str, Any]:
    """Every option of the cell's model, defaults included (JSON-normalised): what its options resolve to today."""
    return json.loads(json.dumps(model_class(cell.model).Config(**cell.options).to_dict(), default=str))
