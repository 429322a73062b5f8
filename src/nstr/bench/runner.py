"""Run cells and keep their results: one JSON per cell under ``<results>/<suite>/<cell-id>.json``.

``run_cell`` is the unit of work every executor runs: load the signal, seed, build the sized model, fit
with the suite's budget, and return a flat JSON-able record (status, metrics, parameters, steps, seconds,
machine, versions, git commit and dirty flag, the load average sampled while it fitted). It never raises:
a crash becomes a record with ``status: "failed"`` and the error. ``run_suite`` skips cells whose stored
record is ``ok`` for the same cell spec and the same resolved model configuration (so a changed model default
re-runs the cells it changes), runs the rest on an executor and writes each record atomically as
soon as it arrives, with the suite's progress and an ETA (``suite_eta``: from the budgets before the first
cell finishes, from the rate of finished cells after).
A cell that fitted while the load exceeded the core count (by more than 0.5) is re-run once (``nstr.bench.provenance``).
FreSh cells get their embedding scale from the suite's stored choices, made before the fits (``fresh_choices``).
"""

from __future__ import annotations

import json
import math
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import torch

from nstr.bench.fresh_choices import choose, ensure_choices, with_choices
from nstr.bench.inputs import load_cell_signal, model_config
from nstr.bench.provenance import (
    GIT_KEYS,
    LoadSampler,
    first_attempt,
    is_busy,
    load_average,
    machine_counts,
    machine_of,
    origin,
    stamp,
    timed,
)
from nstr.bench.suites import Cell
from nstr.core.errors import NstrError
from nstr.core.io import write_json
from nstr.core.machine import environment
from nstr.models import build_model
from nstr.train.fit import FitSettings, fit
from nstr.train.progress import format_interval

OK, FAILED = "ok", "failed"
#: History entries keep these keys (PSNR against wall time is plotted from them).
HISTORY_KEYS = ("step", "seconds", "psnr", "psnr_holdout")


class Executor(Protocol):
    """Runs cells somewhere and yields one record per cell, in completion order."""

    name: str

    def run(self, cells: list[Cell]) -> Iterator[dict[str, Any]]: ...


def run_cell(cell: Cell) -> dict[str, Any]:
    """Fit one cell and describe it; exceptions are caught and recorded as a failed cell."""
    start = time.perf_counter()
    record = _header(cell)
    record["load_before"] = load_average()
    with LoadSampler() as load:
        try:
            record["model_config"] = model_config(cell)
            record.update(_fit(cell))
            record["status"] = OK
        except Exception as exc:  # any crash of one cell must not stop the suite
            record.update(status=FAILED, error=_one_line(exc), traceback=traceback.format_exc(limit=-4))
    record["wall_seconds"] = time.perf_counter() - start
    record["load_samples"] = load.samples
    record.update(stamp())
    return record


def failed_record(cell: Cell, error: str) -> dict[str, Any]:
    """The record of a cell whose worker died before it could report (killed, out of memory...)."""
    return {**_header(cell), "status": FAILED, "error": error, **stamp()}


def _header(cell: Cell) -> dict[str, Any]:
    return {
        "suite": cell.suite, "cell_id": cell.cell_id, "status": FAILED, "model": cell.model,
        "label": cell.label, "target_params": cell.target_params, "signal": cell.signal, "size": cell.size,
        "seed": cell.seed, "options": dict(cell.options), "signal_options": dict(cell.signal_options),
        "fit": dict(cell.fit), "device": cell.device, "spec": cell.spec(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _fit(cell: Cell) -> dict[str, Any]:

    signal = load_cell_signal(cell)
    options, chosen = dict(cell.options), {}
    if cell.fresh is not None:  # FreSh's pick on this signal: stored by run_suite, or made here (not timed)
        chosen = {"fresh": cell.fresh_choice or choose(cell)}
        options[chosen["fresh"]["param"]] = chosen["fresh"]["value"]
    torch.manual_seed(cell.seed)
    model = build_model(cell.model, signal.in_dim, signal.out_dim, **options)
    result = fit(signal, model, FitSettings(**{**cell.fit, "seed": cell.seed}), quiet=True, device=cell.device)
    metrics = dict(result.metrics)
    history = [{k: h[k] for k in HISTORY_KEYS if k in h} for h in metrics.pop("history", [])]
    height, width = signal.shape if signal.kind == "image" else (None, None)
    return {**metrics, **chosen, "height": height, "width": width, "samples": len(signal), "history": history}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def record_path(out_dir: Path, cell: Cell) -> Path:
    return Path(out_dir) / cell.suite / f"{cell.cell_id}.json"


def save_record(out_dir: Path, record: dict[str, Any]) -> Path:
    """Write a record atomically to <out_dir>/<suite>/<cell-id>.json."""
    path = Path(out_dir) / record["suite"] / f"{record['cell_id']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, record)
    return path


#: File in a suite's results listing every cell the suite declares (the report counts what is missing); in a
#: sub-folder, so that the suite's ``*.json`` are its cells alone.
DECLARED = "declared/cells.json"


def save_declaration(out_dir: Path, cells: list[Cell]) -> Path:
    """Write ``<out_dir>/<suite>/declared/cells.json``: the id, model and label of every cell of the suite's whole
    declaration (not a --signals / --models subset), so the report can say which declared cells are not stored."""
    path = Path(out_dir) / cells[0].suite / DECLARED
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {"suite": cells[0].suite, "cells": [{"cell_id": c.cell_id, "model": c.model, "label": c.label}
                                                         for c in cells]})
    return path


def read_record(path: Path) -> dict[str, Any] | None:
    """A stored record, or None when missing or unreadable (a half-written file counts as not done)."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def is_done(out_dir: Path, cell: Cell) -> bool:
    """A cell is done when its record exists, succeeded, and was made from the same spec (budget, options) and,
    where the record has it, the same resolved model configuration: a spec names only the options a suite sets,
    so a changed default would otherwise leave a record that no longer measures what its label says. (Records
    from before it was stored are taken as they are.)"""
    record = read_record(record_path(out_dir, cell))
    if record is None or record.get("status") != OK or record.get("spec") != cell.spec():
        return False
    return "model_config" not in record or record["model_config"] == model_config(cell)


def run_suite(cells: Iterable[Cell], out_dir: Path, executor: Executor,
              echo: Callable[[str], None] = lambda line: None, rerun_busy: bool = False) -> list[dict[str, Any]]:
    """Run every cell not yet done; return the records of all cells (stored ones included), in cell order.

    With ``rerun_busy`` (``nstr bench`` sets it unless --no-rerun-busy), a cell whose load average exceeded
    the core count while it fitted is run once more after the others; its stored record is the re-run's, with
    the first attempt (sans history) in ``busy_attempts``."""
    cells = list(cells)
    started_from = {k: origin()[k] for k in GIT_KEYS}  # pool workers read git later: the suite's commit is this one
    ids = [c.cell_id for c in cells]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise NstrError(f"two cells share the id '{repeated[0]}' (signals with the same file name?); rename one")
    todo = [c for c in cells if not is_done(out_dir, c)]
    pending = {c.cell_id for c in todo}
    _warn_other_machines([c for c in cells if c.cell_id not in pending], out_dir, echo)
    workers = getattr(executor, "workers", None) or 1
    ensure_choices(todo, out_dir, workers, echo)  # FreSh's picks first, on every core, none beside a timed fit
    todo = with_choices(todo, out_dir)
    budget = todo[0].fit.get("max_seconds") if todo else None
    eta = suite_eta(0, len(todo), 0.0, workers, budget)
    echo(f"{len(cells)} cells, {len(cells) - len(todo)} already done, {len(todo)} to run "
         f"({executor.name}) -> {Path(out_dir) / cells[0].suite if cells else out_dir}"
         + (f"; at least {format_interval(eta)} (the training budgets alone)" if eta else ""))
    start = time.perf_counter()
    busy: dict[str, dict[str, Any]] = {}
    for k, record in enumerate(executor.run(todo), 1):
        record.update(executor=executor.name, **started_from)
        save_record(out_dir, record)
        elapsed = time.perf_counter() - start
        left = suite_eta(k, len(todo) - k, elapsed, workers, budget)
        when = f"{format_interval(elapsed)} elapsed" + ("" if left is None else f", {format_interval(left)} left")
        echo(f"[{k}/{len(todo)} {100 * k // len(todo)}%, {when}] {progress_line(record)}")
        if rerun_busy and is_busy(record):
            busy[record["cell_id"]] = record
    if busy:
        echo(f"re-running {len(busy)} cell(s) that ran while the load exceeded the core count + 0.5")
    again = [c for c in todo if c.cell_id in busy]
    for k, record in enumerate(executor.run(again), 1):
        record.update(executor=executor.name, **started_from)
        record["busy_attempts"] = [first_attempt(busy[record["cell_id"]])]
        save_record(out_dir, record)
        echo(f"[re-run {k}/{len(again)}] {progress_line(record)}")
    return [read_record(record_path(out_dir, c)) or failed_record(c, "no record written") for c in cells]


def _warn_other_machines(done: list[Cell], out_dir: Path, echo: Callable[[str], None]) -> None:
    """Say when stored cells of the suite ran on another machine than this one: the new cells would join a table
    whose wall-time numbers then compare across machines (the report marks it too). Cells with a step budget
    reach the same on any machine, so they are not counted."""
    here = machine_of({"environment": environment()})
    others = machine_counts([r for r in (read_record(record_path(out_dir, c)) for c in done)
                             if r is not None and timed(r)])
    others.pop(here, None)
    if others:
        each = "; ".join(f"{host} ({n})" for host, n in others.most_common())
        echo(f"note: {sum(others.values())} of the {len(done)} done cells ran on another or an unrecorded machine "
             f"({each}), not this one ({here}): equal-time numbers compare only within one machine; remove the "
             "suite's results to re-run it whole here")


def suite_eta(finished: int, remaining: int, elapsed: float, workers: int, cell_seconds: float | None) -> float | None:
    """Wall seconds until the ``remaining`` cells are done, or None when nothing tells yet.

    Once cells have finished, the rate so far (``elapsed`` per ``finished`` cell, whatever the workers and the
    evaluation cost); before that, the budget: ``remaining`` cells of ``cell_seconds`` training each, ``workers``
    at a time (a lower bound: loading and evaluation come on top; unknown for a step budget)."""
    if remaining <= 0:
        return 0.0
    if finished > 0 and elapsed > 0:
        return remaining * elapsed / finished
    if cell_seconds:
        return math.ceil(remaining / max(workers, 1)) * cell_seconds
    return None


def progress_line(record: dict[str, Any]) -> str:
    if record.get("status") != OK:
        return f"{record['cell_id']}  FAILED  {record.get('error', '')}"
    parts = [f"{record['cell_id']}", f"psnr {record['psnr']:.2f} dB"]
    if "psnr_holdout" in record:
        parts.append(f"held-out {record['psnr_holdout']:.2f} dB")
    parts.append(f"{record['params']:,} params, {record['steps']} steps in {record['train_seconds']:.1f} s")
    if "diverged_at_step" in record:
        parts.append(f"DIVERGED at step {record['diverged_at_step']} (best weights kept)")
    return "  ".join(parts)
