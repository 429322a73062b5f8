"""FreSh's choices for a suite's cells: computed once, before the timed fits, and stored beside the cells.

A FreSh cell fits SIREN or the Fourier MLP with the embedding scale FreSh picks on its signal. The pick depends
on the signal, the architecture and FreSh's grid, not on the seed or the training budget, and on a CPU it costs
more than the fits (20 values x 10 untrained 1.2M-parameter models on a 512 x 512 grid: about 80 min on one
core). So ``ensure_choices`` computes each pick once, on every core, before any fit starts (a selection running
beside a timed fit would slow the fit), and stores it as ``<results>/<suite>/fresh/<choice>.json`` with its
provenance; ``with_choices`` hands the stored pick to the cells, whose records name it. A stored choice counts
only for the same spec (signal, size, resolved model configuration, grid, initialisations, device), as a cell
does, and an interrupted run keeps the choices it finished. Signals of one shape share their untrained models
(``nstr.fresh.select_many``): five photographs of one size and channel count cost one set.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from nstr.bench.inputs import load_cell_signal, model_config
from nstr.bench.provenance import origin, stamp
from nstr.bench.suites import Cell
from nstr.core.device import resolve_device
from nstr.core.io import write_json
from nstr.fresh.forwards import evaluate, forward_for
from nstr.fresh.select import Selection, concrete_precision, grid_shape, iter_selections
from nstr.models import build_model
from nstr.signals.image.signal import pixel_centres
from nstr.train.progress import format_interval

#: Sub-folder of a suite's results holding its FreSh choices (the report reads cells from ``*.json`` beside it).
FOLDER = "fresh"


def choice_spec(cell: Cell) -> dict[str, Any]:
    """Everything a FreSh cell's choice depends on (JSON-normalised): not its seed, label or training budget."""
    spec = {"signal": cell.signal, "size": cell.size, "signal_options": dict(cell.signal_options),
            "model": cell.model, "options": dict(cell.options), "model_config": model_config(cell),
            "fresh": asdict(cell.fresh) if cell.fresh is not None else None, "device": cell.device}
    return json.loads(json.dumps(spec, default=str))


def choice_path(out_dir: Path, cell: Cell) -> Path:
    """``<out_dir>/<suite>/fresh/<model>-<signal>-<size>-<hash of the spec>.json``."""
    spec = choice_spec(cell)
    digest = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]
    name = f"{cell.model}-{Path(cell.signal).stem}-{cell.size or 'full'}-{digest}.json"
    return Path(out_dir) / cell.suite / FOLDER / name


def stored_choice(out_dir: Path, cell: Cell) -> dict[str, Any] | None:
    """The stored choice record for ``cell``, or None when missing, unreadable or made for another spec."""
    try:
        record = json.loads(choice_path(out_dir, cell).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) and record.get("spec") == choice_spec(cell) else None


def stored_choices(suite_dir: Path) -> dict[str, dict[str, Any]]:
    """Every readable choice record in a suite's results folder, by path relative to it (``fresh/<name>.json``, as
    cell records name their choice)."""
    found = {}
    for path in sorted((Path(suite_dir) / FOLDER).glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(record, dict) and "value" in record:
            found[f"{FOLDER}/{path.name}"] = record
    return found


def due_choices(cells: Iterable[Cell], out_dir: Path) -> list[Cell]:
    """One cell per FreSh choice that ``cells`` need and ``out_dir`` does not hold yet."""
    due: dict[Path, Cell] = {}
    for cell in cells:
        if cell.fresh is not None and stored_choice(out_dir, cell) is None:
            due.setdefault(choice_path(out_dir, cell), cell)
    return list(due.values())


def selections(cells: list[Cell], workers: int | None = None) -> Iterator[tuple[int, Selection, int]]:
    """FreSh's selection for each cell (all of one model, options, grid and device) on its own signal, as (index
    into ``cells``, selection, signals that shared its untrained models), each as soon as its shape's untrained
    models are scored."""
    first = cells[0]
    assert first.fresh is not None
    signals = [load_cell_signal(c) for c in cells]
    shapes = Counter(grid_shape(s) for s in signals)
    found = iter_selections(signals, first.model, first.fresh.param, first.fresh.values, inits=first.fresh.inits,
                            seed=0, options=dict(first.options), workers=workers, device=first.device)
    return ((index, selection, shapes[grid_shape(signals[index])]) for index, selection in found)


def choose(cell: Cell) -> dict[str, Any]:
    """The cell's choice made here and not stored (a cell run outside ``run_suite``), as a record keeps it."""
    return summary(next(selections([cell]))[1])


def summary(selection: Selection, choice: str | None = None) -> dict[str, Any]:
    """What a cell record keeps of its choice: the value, how it was made, and the stored record's path."""
    out = {"param": selection.param, "value": selection.best.value, "inits": selection.inits,
           "precision": selection.precision, "seconds": selection.seconds}
    return out if choice is None else {**out, "choice": choice}


def _architectures(cells: list[Cell]) -> list[list[Cell]]:
    """``cells`` grouped by what their untrained models share: model, options, grid and device."""
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        key = json.dumps([cell.model, cell.options, asdict(cell.fresh), cell.device], sort_keys=True, default=str)
        groups.setdefault(key, []).append(cell)
    return list(groups.values())


#: Points of the timed untrained forward behind ``choice_seconds``, scaled to each grid.
TIMED_POINTS = 16_384


def seconds_per_point(cell: Cell, in_dim: int, out_dim: int) -> float:
    """Seconds per grid point of one untrained forward of the cell's model at FreSh's precision, one thread."""
    assert cell.fresh is not None
    device = resolve_device(cell.device)
    net = build_model(cell.model, in_dim, out_dim, **{**cell.options, cell.fresh.param: cell.fresh.values[0]})
    forward, _ = forward_for(net.eval().to(device), concrete_precision("auto", device))
    x = pixel_centres(128, TIMED_POINTS // 128, device=device)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # FreSh runs whole models in parallel, one thread each
    try:
        evaluate(forward, x[:4096])  # warm-up
        started = time.perf_counter()
        evaluate(forward, x)
        return (time.perf_counter() - started) / TIMED_POINTS
    finally:
        torch.set_num_threads(threads)


def choice_seconds(cells: Iterable[Cell], out_dir: Path, workers: int | None = None) -> float:
    """About how long the choices ``cells`` need and ``out_dir`` lacks will take: per architecture and grid shape,
    values x initialisations untrained forwards over the side x side grid at :func:`seconds_per_point` (timed
    here), shared by ``workers``. Spectra and the memory traffic of two forwards at once come on top."""
    total = 0.0
    for group in _architectures(due_choices(cells, out_dir)):
        first = group[0]
        assert first.fresh is not None
        shapes = {grid_shape(load_cell_signal(c)) for c in group}
        per_point = seconds_per_point(first, *next(iter(shapes))[1:])
        forwards = len(first.fresh.values) * first.fresh.inits
        total += sum(forwards * side * side * per_point for side, _, _ in shapes)
    return total / max(1, workers or torch.get_num_threads())


def ensure_choices(cells: Iterable[Cell], out_dir: Path, workers: int | None = None,
                   echo: Callable[[str], None] = lambda line: None) -> int:
    """Compute and store every FreSh choice ``cells`` need that is not stored yet; returns how many were made."""
    due = due_choices(cells, out_dir)
    origin()  # the commit these choices start from, read now (a commit made while they run is not theirs)
    groups = _architectures(due)
    if due:
        echo(f"FreSh: {len(due)} choice(s) to compute before the fits ({len(groups)} architecture(s)), stored in "
             f"{Path(out_dir) / due[0].suite / FOLDER} as they are made")
    for group in groups:
        first, started = group[0], time.perf_counter()
        assert first.fresh is not None
        echo(f"FreSh: {first.model} {first.label}, {first.fresh.param} over {len(first.fresh.values)} values x "
             f"{first.fresh.inits} untrained models, on {len(group)} signal(s)")
        for index, selection, shared_by in selections(group, workers):
            cell = group[index]
            path = choice_path(out_dir, cell)
            record = {"suite": cell.suite, "status": "ok", "spec": choice_spec(cell), "model": cell.model,
                      "label": cell.label, "target_params": cell.target_params, "signal": cell.signal,
                      **summary(selection), "shared_by": shared_by, "selection": selection.to_dict(),
                      **stamp()}
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json(path, record)
        echo(f"FreSh: {first.model} {first.label} chosen in {format_interval(time.perf_counter() - started)}")
    return len(due)


def with_choices(cells: Iterable[Cell], out_dir: Path) -> list[Cell]:
    """``cells`` with each FreSh cell's stored choice attached (``Cell.fresh_choice``); others as they are."""
    out = []
    for cell in cells:
        record = stored_choice(out_dir, cell) if cell.fresh is not None else None
        if record is not None:
            path = choice_path(out_dir, cell)
            cell = replace(cell, fresh_choice={
                **{k: record[k] for k in ("param", "value", "inits", "precision", "seconds")},
                "choice": str(path.relative_to(Path(out_dir) / cell.suite))})
        out.append(cell)
    return out
