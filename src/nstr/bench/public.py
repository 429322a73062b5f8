"""The report's parts for the public benchmarks (``nstr bench kodak``, ``kodak-models``, ``lego``), beside the tables
every suite gets: per-image PSNR and SSIM tables per protocol, PSNR against parameters and against training
time (averaged over the images), times to 25 and 28 dB on lego's val views, and the published anchors with
their hardware and protocol, in a table that says they are not the same measurement.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nstr.bench.ledger import time_to_reach
from nstr.bench.plots import _params_axis, mean_curve
from nstr.bench.suites import SAME_TABLE, protocol_name
from nstr.bench.summary import Record, fit_budget, ok, with_spread
from nstr.core.plotting import save_figure, subplots

#: The report's markdown table renderer, passed in (the report imports this module, not the other way).
Table = Callable[[list[dict[str, Any]]], str]

#: Published numbers on the same data (../shared/data/README.md): (method, data, PSNR, hardware, protocol, source).
ANCHORS: dict[str, tuple[tuple[str, str, str, str, str, str], ...]] = {
    "kodak": (
        ("GaussianImage", "Kodak, 24 images", "44.1 dB", "GPU", "largest setting, tens of thousands of iterations",
         "GaussianImage (ECCV 2024), figure"),
        ("SIREN", "Kodak, 24 images", "44.9 dB", "GPU", "largest setting, tens of thousands of iterations",
         "GaussianImage (ECCV 2024), figure"),
        ("Instant-NGP", "Kodak, 24 images", "43.4 dB", "GPU", "largest setting, tens of thousands of iterations",
         "GaussianImage (ECCV 2024), figure"),
        ("NeuRBF", "Kodak, 24 images", "43.8 dB", "GPU", "largest setting, tens of thousands of iterations",
         "GaussianImage (ECCV 2024), figure"),
        ("WIRE", "Kodak, 24 images", "41.5 dB", "GPU", "largest setting, tens of thousands of iterations",
         "GaussianImage (ECCV 2024), figure"),
    ),
    "lego": (
        ("Instant-NGP", "lego, 800 x 800, public test split", "about 35-36 dB", "RTX 3090",
         "5 minutes of training", "Instant-NGP (SIGGRAPH 2022)"),
        ("Instant-NGP", "nerf_synthetic, 8-scene mean", "33.18 dB", "GPU", "its paper's protocol",
         "Instant-NGP (SIGGRAPH 2022)"),
        ("TensoRF", "nerf_synthetic, 8-scene mean", "33.14 dB", "GPU", "its paper's protocol", "TensoRF (ECCV 2022)"),
        ("3D Gaussian splatting", "nerf_synthetic, 8-scene mean", "33.31 dB", "GPU", "its paper's protocol",
         "3DGS (SIGGRAPH 2023)"),
    ),
}
ANCHOR_NOTE = {
    "kodak": "Published anchors on Kodak. **Not the same measurement**: GPUs, their own step counts and model "
             "sizes (each method's largest), read from a figure; ours are CPU fits at 0.1-1M parameters under "
             "a 60-second or fixed-step budget. They show where the ceiling is, not who wins here.",
    "lego": "Published anchors on nerf_synthetic. **Not the same measurement**: GPUs, 800 x 800 views and the public "
            "test split (200 poses we do not have; our 10 test views are held-out training poses), minutes of GPU "
            "training; ours are CPU fits at 100 x 100 and 200 x 200 under a 300-second budget.",
}


def anchors_section(suite: str, table: Table) -> list[str]:
    """The anchors table for a suite ("kodak", "lego"), or nothing for the others."""
    rows = [dict(zip(("method", "data", "published PSNR", "hardware", "protocol", "source"), a, strict=True))
            for a in ANCHORS.get(suite, ())]
    if not rows:
        return []
    return [ANCHOR_NOTE[suite], "", table(rows), ""]


def short(signal: str) -> str:
    """A signal's column heading: the file stem (kodim01), or the name of a built-in."""
    return Path(signal).stem


def config(record: Record) -> str:
    """Model and parameter budget without the protocol suffix: 'siren 100k', 'hashgrid same-table-1M'."""
    label = str(record.get("label", "")).removesuffix(f"-{protocol_name(record.get('fit', {}))}")
    return f"{record['model']} {label}".strip()


def family(record: Record) -> str:
    """A line of the PSNR-against-parameters plot: the model, or the hash grid with NSTR's table."""
    return "hashgrid, NSTR's table" if str(record.get("label", "")).startswith(SAME_TABLE) else record["model"]


def by_protocol(records: list[Record]) -> dict[str, list[Record]]:
    """Successful records by fit budget ('60 s', '300 steps'), in first-seen order."""
    out: dict[str, list[Record]] = defaultdict(list)
    for record in ok(records):
        out[fit_budget(record.get("fit", {}))].append(record)
    return dict(out)


def per_image_table(records: list[Record], key: str, digits: int) -> list[dict[str, Any]]:
    """One row per configuration, one column per image (mean over seeds), and the mean over images."""
    images = list(dict.fromkeys(r["signal"] for r in records))
    cells: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        if isinstance(record.get(key), (int, float)):
            cells[config(record)][record["signal"]].append(float(record[key]))
    rows = []
    for name, values in cells.items():
        row: dict[str, Any] = {"model": name}
        means = {s: statistics.fmean(v) for s, v in values.items()}
        for image in images:
            row[short(image)] = f"{means[image]:.{digits}f}" if image in means else "n/a"
        row["mean"] = f"{statistics.fmean(means.values()):.{digits}f}"
        rows.append(row)
    return rows


def psnr_params_panels(suite: str, records: list[Record], path: Path) -> Path | None:
    """Mean PSNR over images (± std over images) against parameters, one panel per protocol."""
    protocols = by_protocol(records)
    if not protocols:
        return None
    fig, axes = subplots(1, len(protocols), figsize=(6.0 * len(protocols), 4.2), squeeze=False)
    for ax, (budget, members) in zip(axes[0], protocols.items(), strict=True):
        lines: dict[str, dict[float, list[Record]]] = defaultdict(lambda: defaultdict(list))
        for record in members:
            lines[family(record)][record.get("target_params") or record["params"]].append(record)
        params = []
        for name, points in lines.items():
            xs = sorted(points)
            real = [statistics.fmean(r["params"] for r in points[x]) for x in xs]
            psnrs = [[r["psnr"] for r in points[x]] for x in xs]
            errs = [statistics.stdev(p) if len(p) > 1 else 0.0 for p in psnrs]
            ax.errorbar(real, [statistics.fmean(p) for p in psnrs], yerr=errs, marker="o", capsize=3, label=name)
            params += real
        _params_axis(ax, params)
        ax.set_title(f"{suite}, {budget}: mean over images")
        ax.set_xlabel("parameters")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("PSNR (dB)")
    axes[0][-1].legend(fontsize="small")
    return save_figure(fig, path, dpi=100)


def psnr_time_panels(suite: str, records: list[Record], path: Path) -> Path | None:
    """PSNR against training time from each cell's evaluation history, averaged over images; one panel per
    parameter budget, one line per model (the time-budgeted cells)."""
    timed = [r for r in ok(records) if r.get("fit", {}).get("max_seconds") and not r.get("fit", {}).get("steps")]
    budgets = sorted({r.get("target_params") or 0 for r in timed})
    if not budgets:
        return None
    fig, axes = subplots(1, len(budgets), figsize=(5.0 * len(budgets), 3.8), squeeze=False)
    for ax, budget in zip(axes[0], budgets, strict=True):
        models: dict[str, list[Record]] = defaultdict(list)
        for record in timed:
            if (record.get("target_params") or 0) == budget:
                models[config(record)].append(record)
        for name, members in models.items():
            curve = mean_curve(members)
            if curve is not None:
                ax.plot(*curve, label=name)
        ax.set_title(f"{suite}: {budget / 1e6:g}M parameters" if budget else suite)
        ax.set_xlabel("training time (s)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small", loc="lower right")
    axes[0][0].set_ylabel("PSNR (dB), mean over images")
    return save_figure(fig, path, dpi=100)


def kodak_parts(name: str, records: list[Record], plots_dir: Path | None, link: Callable[[Path], str],
                table: Table) -> list[str]:
    """Per-image PSNR and SSIM per protocol, the two plots, the anchors."""
    parts: list[str] = []
    for budget, members in by_protocol(records).items():
        for heading, key, digits in (("PSNR (dB)", "psnr", 2), ("SSIM", "ssim", 4)):
            parts += [f"{heading} per image at {budget} (mean over seeds; last column: mean over images):", ""]
            parts += [table(per_image_table(members, key, digits)), ""]
    if plots_dir is not None:
        for plot in (psnr_params_panels(name, records, Path(plots_dir) / f"{name}_psnr_params.png"),
                     psnr_time_panels(name, records, Path(plots_dir) / f"{name}_psnr_time.png")):
            if plot is not None:
                parts += [f"![{plot.stem}]({link(plot)})", ""]
    return parts + anchors_section("kodak", table)


def reach_row(label: str, members: list[Record]) -> dict[str, Any]:
    """Test PSNR / SSIM and the training seconds to 25 and 28 dB on the val views (mean over the seeds that
    reached it, and how many did)."""
    row: dict[str, Any] = {"field": label, "params": round(statistics.fmean(r["params"] for r in members)),
                           "seeds": len(members)}
    for column, key, digits in (("test PSNR (dB)", "psnr", 2), ("SSIM", "ssim", 4)):
        values = [r[key] for r in members if isinstance(r.get(key), (int, float))]
        row[column] = with_spread(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None,
                                  digits) if values else "n/a"
    for target in (25.0, 28.0):
        seconds, reached = mean_reach(members, target)
        row[f"to {target:g} dB (s)"] = (f"{seconds:.0f} ({reached}/{len(members)})" if seconds is not None
                                        else f"never (0/{len(members)})")
    return row


def mean_reach(records: list[Record], target: float) -> tuple[float | None, int]:
    """Mean training seconds to ``target`` dB on the val rays over the records that got there (None if none did),
    and how many did."""
    reached = [t for t in (time_to_reach(r, target) for r in records) if math.isfinite(t)]
    return (statistics.fmean(reached) if reached else None), len(reached)


def lego_parts(name: str, records: list[Record], plots_dir: Path | None, link: Callable[[Path], str],
               table: Table) -> list[str]:
    """Test PSNR / SSIM and times to 25 and 28 dB per field and resolution, then the anchors."""
    labels: dict[str, list[Record]] = defaultdict(list)
    for record in ok(records):
        labels[f"{record.get('label', record['model'])} ({fit_budget(record.get('fit', {}))})"].append(record)
    parts: list[str] = []
    if labels:
        parts += ["Test views and the time to reach 25 and 28 dB on the val views (training seconds, mean over the "
                  "seeds that reached it; reached / seeds):", "",
                  table([reach_row(label, members) for label, members in labels.items()]), ""]
    return parts + anchors_section("lego", table)


#: Suites with parts of their own, and whether those replace the generic PSNR-per-signal table and plots.
PARTS = {"kodak": kodak_parts, "kodak-models": kodak_parts, "lego": lego_parts, "lego-steps": lego_parts}
OWN_TABLES = {"kodak", "kodak-models"}
