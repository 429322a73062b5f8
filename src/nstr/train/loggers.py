"""Live loggers: where a fit sends each evaluation as it happens (``nstr fit --log tensorboard``, ``fit(log=...)``).

A logger is anything with ``on_eval(step, record, preview)`` and ``close()``: ``record`` is the evaluation
record that ``history.jsonl`` also gets (``step``, ``seconds`` of training, ``lr``, ``loss`` and each loss term
of the last step, ``psnr`` and the other scores), ``preview`` a small picture of the fit [H, W, 3] uint8 drawn by
the signal (``Signal.preview``), or None. ``wants_preview`` says whether the fit should draw one at all (it
costs a small render for scenes). Loggers by name are made by ``open_loggers`` inside the run directory;
objects that already are loggers are used as they are, so a user can pass their own.

TensorBoard through ``torch.utils.tensorboard``, an optional extra (``pip install -e ".[log]"`` in the
checkout): it is imported only when asked for, and its absence is a one-line error before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nstr.core.errors import NstrError

#: The sub-folder of a run directory that holds TensorBoard's event files.
TENSORBOARD_DIR = "tensorboard"
#: Record keys about the schedule rather than the loss or the scores.
TRAINING_KEYS = ("seconds", "lr")
#: Record keys that are evaluation scores (``psnr``, ``psnr_holdout``, ``snr``...) start with one of these.
SCORE_PREFIXES = ("psnr", "snr")
INSTALL_HINT = 'pip install -e ".[log]" in the nstr checkout'


class Logger(Protocol):
    """What a fit calls at each evaluation and at the end."""

    wants_preview: bool

    def on_eval(self, step: int, record: dict[str, float], preview: np.ndarray | None) -> None: ...

    def close(self) -> None: ...


def scalar_tag(key: str) -> str:
    """TensorBoard's tag of a record key: ``train/lr``, ``eval/psnr``, ``loss/task`` (grouped by the prefix)."""
    if key in TRAINING_KEYS:
        return f"train/{key}"
    if key.startswith(SCORE_PREFIXES):
        return f"eval/{key}"
    return f"loss/{key}"


def summary_writer() -> type:
    """``torch.utils.tensorboard.SummaryWriter``, or a one-line error saying how to install it."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # optional extra [log]: only when --log tensorboard
    except ImportError:
        raise NstrError(f"--log tensorboard needs the tensorboard package: {INSTALL_HINT}") from None
    return SummaryWriter


class TensorBoardLogger:
    """Every scalar of each evaluation and the signal's preview picture, into ``RUN/tensorboard/``; watch it
    live with ``tensorboard --logdir runs``. Events are flushed at every evaluation. A resumed fit purges the
    events a killed process wrote after its checkpoint (TensorBoard's ``purge_step``), as history.jsonl does."""

    wants_preview = True

    def __init__(self, out: Path, resumed_from: int | None = None):
        writer = summary_writer()
        purge = None if resumed_from is None else resumed_from + 1
        self.writer = writer(log_dir=str(Path(out) / TENSORBOARD_DIR), purge_step=purge)

    def on_eval(self, step: int, record: dict[str, float], preview: np.ndarray | None) -> None:
        for key, value in record.items():
            if key != "step" and isinstance(value, (int, float)):
                self.writer.add_scalar(scalar_tag(key), value, step)
        if preview is not None:
            self.writer.add_image("reconstruction", preview, step, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


#: Loggers by their ``--log`` name: a factory (run directory, step resumed from or None) -> logger.
LOGGERS: dict[str, Callable[[Path, int | None], Logger]] = {"tensorboard": TensorBoardLogger}
#: Checks a named logger can be made here (its extra is installed), before a run directory exists.
REQUIREMENTS: dict[str, Callable[[], Any]] = {"tensorboard": summary_writer}

LogSpec = str | Logger | Sequence[str | Logger] | None


def _items(log: LogSpec) -> list[str | Logger]:
    if log is None:
        return []
    if isinstance(log, str) or not isinstance(log, Sequence):
        return [log]
    return list(log)


def check_loggers(log: LogSpec) -> None:
    """Refuse unknown logger names and missing extras (one line each), before any work or file."""
    for item in _items(log):
        if isinstance(item, str):
            if item not in LOGGERS:
                raise NstrError(f"unknown logger '{item}': choose one of {', '.join(LOGGERS)}")
            REQUIREMENTS.get(item, lambda: None)()
        elif not (callable(getattr(item, "on_eval", None)) and callable(getattr(item, "close", None))):
            raise NstrError(f"log= takes logger names ({', '.join(LOGGERS)}) or objects with on_eval and close, "
                            f"not {type(item).__name__}")


def open_loggers(log: LogSpec, out: Path | None, resumed_from: int | None = None) -> list[Logger]:
    """The loggers of ``log``: names are made inside the run directory ``out`` (which they need), objects kept."""
    check_loggers(log)
    loggers = []
    for item in _items(log):
        if isinstance(item, str):
            if out is None:
                raise NstrError(f"log='{item}' writes into the run directory: give out= as well")
            loggers.append(LOGGERS[item](out, resumed_from))
        else:
            loggers.append(item)
    return loggers
