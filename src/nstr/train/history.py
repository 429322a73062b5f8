"""``history.jsonl``: the evaluation history streamed into the run directory as the fit goes.

One JSON object per line and per evaluation (step, training seconds, learning rate, the loss terms of the last
step, PSNR and the other scores of the evaluation, as ``metrics.json``'s ``history`` holds them), written,
flushed and fsync'd at each evaluation, so a fit that is killed keeps its curve up to its last evaluation and
``tail -f`` shows it live. JSON Lines because every tool reads it a line at a time (pandas' ``read_json(...,
lines=True)``, ``jq``) and appending never rewrites what is there. Non-finite numbers are written as
``NaN``/``Infinity``, as Python's json module reads them (and as metrics.json holds them).

A resumed fit restarts from its checkpoint's step: the file is rewritten from the checkpoint's own history (the
lines a killed process wrote after its last checkpoint are dropped, since the resumed fit evaluates those steps
again) and grows from there, so it ends with the same lines as an uninterrupted fit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nstr.core.io import write_atomic

HISTORY = "history.jsonl"


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, allow_nan=True) + "\n"


class HistoryLog:
    """Appends evaluation records to ``path``; created with the records already made (a fresh fit: none)."""

    def __init__(self, path: Path, records: list[dict[str, Any]]):
        self.path = Path(path)
        write_atomic(self.path, "".join(_line(r) for r in records).encode())  # the history so far, nothing after it
        self.handle = self.path.open("a", encoding="utf-8")

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and push it to the disk (an fsync per evaluation costs well under a millisecond)."""
        self.handle.write(_line(record))
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def close(self) -> None:
        self.handle.close()


def read_history(path: Path) -> list[dict[str, Any]]:
    """The records of a history file; a last line cut short by a kill mid-write is left out."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break  # only the last line can be incomplete
    return records
