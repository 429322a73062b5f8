"""Aggregate per-cell records into table rows: one row per model configuration, mean over signals and seeds.

Cells are grouped by (model, parameter budget, image size, fit budget, device): an equal-time comparison never
mixes devices (each device's results also have their own folder, ``nstr.bench.suites.device_variant``). PSNR
and SSIM are averaged over seeds per signal, then over signals; the spread shown is the seed standard deviation,
averaged over signals (only when a group has more than one seed).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from nstr.bench.provenance import cell_load, device_label, machine_of, over_cores
from nstr.bench.runner import OK, read_record

Record = dict[str, Any]
GroupKey = tuple[str, str, Any, str, str]


def load_suites(results_dir: Path) -> dict[str, list[Record]]:
    """Cell records under ``<results_dir>/<suite>/*.json``, by suite name (sorted)."""
    suites: dict[str, list[Record]] = {}
    root = Path(results_dir)
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for folder in folders:
        records = [r for r in map(read_record, sorted(folder.glob("*.json"))) if r and "cell_id" in r]
        if records:
            suites[folder.name] = records
    return suites


def fit_budget(fit: dict[str, Any]) -> str:
    """'60 s', '500 steps' or '500 steps / 60 s'."""
    parts = []
    if fit.get("steps"):
        parts.append(f"{fit['steps']} steps")
    if fit.get("max_seconds"):
        parts.append(f"{fit['max_seconds']:g} s")
    return " / ".join(parts) or "?"


def group_key(record: Record) -> GroupKey:
    return (record["model"], record.get("label", ""), record.get("size"), fit_budget(record.get("fit", {})),
            device_label(record))


def groups(records: list[Record]) -> dict[GroupKey, list[Record]]:
    """Records by configuration, in first-seen order."""
    out: dict[GroupKey, list[Record]] = defaultdict(list)
    for record in records:
        out[group_key(record)].append(record)
    return dict(out)


def ok(records: list[Record]) -> list[Record]:
    return [r for r in records if r.get("status") == OK]


def by_signal(records: list[Record], key: str) -> dict[str, list[float]]:
    """Values of ``key`` per signal over the successful records (seeds)."""
    out: dict[str, list[float]] = defaultdict(list)
    for record in ok(records):
        if isinstance(record.get(key), (int, float)):
            out[record["signal"]].append(float(record[key]))
    return dict(out)


def mean_spread(records: list[Record], key: str) -> tuple[float, float | None]:
    """(mean over signals of the seed mean, mean over signals of the seed std or None with one seed)."""
    values = by_signal(records, key)
    if not values:
        return float("nan"), None
    mean = statistics.fmean(statistics.fmean(v) for v in values.values())
    spreads = [statistics.stdev(v) for v in values.values() if len(v) > 1]
    return mean, (statistics.fmean(spreads) if spreads else None)


def with_spread(mean: float, spread: float | None, digits: int | str = 2) -> str:
    """'mean ± spread' with ``digits`` decimals, or a format spec such as '.3g' for small numbers."""
    if mean != mean:  # NaN
        return "n/a"
    spec = f".{digits}f" if isinstance(digits, int) else digits
    return f"{mean:{spec}}" + (f" ± {spread:{spec}}" if spread is not None else "")


def seeds(records: list[Record]) -> int:
    return len({r.get("seed") for r in ok(records)})


#: Quality columns of a suite's summary table: (heading, metrics key, digits or format); a column appears when
#: the suite's records carry its key (images: PSNR/SSIM; audio: SNR...; shapes: Chamfer...).
METRIC_COLUMNS: tuple[tuple[str, str, int | str], ...] = (
    ("PSNR (dB)", "psnr", 2), ("SSIM", "ssim", 4), ("held-out PSNR (dB)", "psnr_holdout", 2),
    ("SNR (dB)", "snr", 2), ("spectral conv.", "spectral_convergence", 4), ("LSD (dB)", "log_spectral_distance", 2),
    ("Chamfer", "chamfer", ".3e"), ("Chamfer p2s", "chamfer_p2s", ".3e"), ("normal cons.", "normal_consistency", 4),
    ("IoU", "iou", 4), ("F-score", "fscore", 4),
    ("depth error", "depth_mae", 4), ("rays/s", "rays_per_second", 0),
)


def summary_row(key: GroupKey, records: list[Record]) -> dict[str, Any]:
    """One table row for a configuration."""
    good = ok(records)
    model, label, size, budget, device = key
    row: dict[str, Any] = {"model": model, "budget": label}
    if device != "cpu":
        row["device"] = device
    row["params"] = round(statistics.fmean(r["params"] for r in good)) if good else "n/a"
    row["size"] = size or "full"
    row["fit"] = budget
    row["signals"] = len({r["signal"] for r in good})
    row["seeds"] = seeds(records)
    for column, field, digits in METRIC_COLUMNS:
        if any(field in r for r in good) or (field in ("psnr", "ssim") and not good):
            row[column] = with_spread(*mean_spread(records, field), digits=digits)
    for column, field, scale, digits in (("steps", "steps", 1, 0), ("train s", "train_seconds", 1, 1),
                                         ("ms/step", "seconds_per_step", 1000, 1)):
        mean, _ = mean_spread(records, field)
        row[column] = "n/a" if mean != mean else f"{mean * scale:.{digits}f}"
    row["failed"] = len(records) - len(good)
    diverged = sum("diverged_at_step" in r for r in good)
    if diverged:
        row["diverged"] = diverged
    return row


def signal_row(key: GroupKey, records: list[Record], signals: list[str]) -> dict[str, Any]:
    """PSNR per signal for one configuration (mean ± seed std)."""
    values = by_signal(records, "psnr")
    row: dict[str, Any] = {"model": key[0], "budget": key[1]}
    for signal in signals:
        v = values.get(signal, [])
        row[signal] = with_spread(statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else None) if v else "n/a"
    return row


def machine_lines(records: list[Record]) -> list[str]:
    """Distinct descriptions of where a suite's records ran (``machine_of``: accelerator, CPU, cores, instruction
    set; then torch threads, executor, torch version and commit)."""
    seen: dict[str, None] = {}
    for r in records:
        env = r.get("environment", {})
        commit = str(r.get("git_commit", "unknown"))[:10] + (" + local changes" if r.get("git_dirty") else "")
        text = (f"{machine_of(r)}; {env.get('torch_threads', '?')} torch thread(s) per fit; "
                f"{r.get('executor', '?')}; torch {env.get('torch', '?')}; commit {commit}")
        seen.setdefault(text, None)
    return list(seen)


def busy(records: list[Record]) -> str | None:
    """A warning when cells ran on a machine busier than its CPU count (their wall-time budgets bought less);
    the load is the highest sampled while the cell fitted (before and after it, for older records)."""
    loaded = [r for r in records if over_cores(r)]
    if not loaded:
        return None
    peak = max(cell_load(r) for r in loaded)
    return (f"Warning: {len(loaded)} of {len(records)} cells ran while the machine was busier than its CPU count "
            f"(1-minute load up to {peak:.1f}); their time-budgeted numbers are pessimistic.")


def failures(records: list[Record]) -> list[str]:
    return [f"`{r['cell_id']}`: {r.get('error', 'no error message')}" for r in records if r.get("status") != OK]


def fresh_rows(records: list[Record], choices: dict[str, Record] | None = None) -> list[dict[str, Any]]:
    """One row per stored FreSh choice of a suite (``choices``: ``<suite>/fresh/``, made before the fits, by path
    relative to the suite as cell records name them): model, budget, signal, the chosen value, how many untrained
    models scored each candidate, the file, and how many of ``records`` fitted with it (none yet is listed too)."""
    used = Counter(str(r["fresh"].get("choice")) for r in ok(records) if r.get("fresh"))
    return [{"model": choice["model"], "budget": str(choice.get("label", "")).split("+")[0],
             "signal": Path(choice["signal"]).stem, "chosen": f"{choice['param']} {choice['value']:g}",
             "untrained models per value": choice["inits"], "precision": choice["precision"], "stored": path,
             "cells fitted with it": used[path]}
            for path, choice in sorted((choices or {}).items())]


def missing_note(declared: dict[str, Any] | None, records: list[Record]) -> str | None:
    """A note when the stored cells are not the suite's whole declaration (``declared/cells.json``, written when the
    suite runs): how many declared cells have no successful record, by model and label, and how many stored cells
    the declaration no longer has. None when they match or no declaration is stored."""
    if not declared or not isinstance(declared.get("cells"), list):
        return None
    stored = {r["cell_id"] for r in ok(records)}
    ids = {c["cell_id"] for c in declared["cells"]}
    missing = defaultdict(int)
    for cell in declared["cells"]:
        if cell["cell_id"] not in stored:
            missing[f"{cell['model']} {cell['label']}"] += 1
    extra = len({r["cell_id"] for r in records} - ids)
    if not missing and not extra:
        return None
    parts = []
    if missing:
        which = ", ".join(f"{name} ({n})" for name, n in missing.items())
        parts.append(f"**Incomplete**: {len(ids) - sum(missing.values())} of the {len(ids)} cells the suite declares "
                     f"are stored; missing: {which}.")
    if extra:
        parts.append(f"{extra} stored cell(s) are not in the suite's current declaration (an earlier version of it).")
    return " ".join(parts)
