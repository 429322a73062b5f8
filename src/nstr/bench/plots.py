"""PNG plots of a suite's results: PSNR against training time, and PSNR against parameter count.

- ``<suite>_psnr_time.png``: one panel per signal, one line per configuration (model and parameter budget):
  the evaluation history, averaged over seeds on a common time grid.
- ``<suite>_psnr_params.png``: mean PSNR (over signals and seeds, seed-std error bars) against parameters,
  one line per model through its budgets; dashed: held-out pixels when the suite holds some out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nstr.bench.sizing import budget_label
from nstr.bench.summary import Record, groups, mean_spread, ok
from nstr.core.lazy import lazy_import
from nstr.core.plotting import save_figure, subplots

ticker = lazy_import("matplotlib.ticker")

MAX_PANELS = 6


def mean_curve(records: list[Record], points: int = 60) -> tuple[np.ndarray, np.ndarray] | None:
    """Seed-averaged PSNR history on a grid up to the shortest run's end (None without histories)."""
    curves = [r["history"] for r in records if len(r.get("history", [])) > 1]
    if not curves:
        return None
    end = min(c[-1]["seconds"] for c in curves)
    if end <= 0:
        return None
    grid = np.linspace(0.0, end, points)
    values = [np.interp(grid, [h["seconds"] for h in c], [h["psnr"] for h in c]) for c in curves]
    return grid, np.mean(values, axis=0)


def psnr_time_plot(suite: str, records: list[Record], path: Path) -> Path | None:
    good = ok(records)
    signals = list(dict.fromkeys(r["signal"] for r in good))[:MAX_PANELS]
    if not signals:
        return None
    fig, axes = subplots(1, len(signals), figsize=(4.2 * len(signals), 3.6), squeeze=False)
    for ax, signal in zip(axes[0], signals, strict=True):
        for (model, label, *_), members in groups([r for r in good if r["signal"] == signal]).items():
            curve = mean_curve(members)
            if curve is not None:
                ax.plot(*curve, label=f"{model} {label}")
        ax.set_title(signal)
        ax.set_xlabel("training time (s)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("PSNR (dB)")
    axes[0][-1].legend(loc="lower right", fontsize="small")
    fig.suptitle(f"{suite}: PSNR against training time (mean over seeds)", y=1.03)
    return save_figure(fig, path, dpi=100)


def _params_axis(ax, params: list[int]) -> None:
    """Log axis labelled 25k, 1.2M..., with ticks at 1, 2 and 5 per decade and room around the points."""

    ax.set_xscale("log")
    ax.set_xlim(min(params) / 1.6, max(params) * 1.6)
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: budget_label(int(round(value)))))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def psnr_params_plot(suite: str, records: list[Record], path: Path) -> Path | None:
    good = ok(records)
    if not good:
        return None
    fig, ax = subplots(figsize=(6.4, 4.2))
    holdout = any("psnr_holdout" in r for r in good)
    for model in dict.fromkeys(r["model"] for r in good):
        configs = [members for (m, *_), members in groups(good).items() if m == model]
        configs.sort(key=lambda members: np.mean([r["params"] for r in members]))
        xs = [np.mean([r["params"] for r in members]) for members in configs]
        stats = [mean_spread(members, "psnr") for members in configs]
        line = ax.errorbar(xs, [s[0] for s in stats], yerr=[s[1] or 0.0 for s in stats], marker="o",
                           capsize=3, label=model)
        if holdout:
            held = [mean_spread(members, "psnr_holdout")[0] for members in configs]
            ax.plot(xs, held, linestyle="--", marker="x", color=line[0].get_color(), label=f"{model} held-out")
    _params_axis(ax, [r["params"] for r in good])
    ax.set_xlabel("parameters")
    ax.set_ylabel("PSNR (dB)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    ax.set_title(f"{suite}: PSNR against parameter count")
    return save_figure(fig, path, dpi=100)


def suite_plots(suite: str, records: list[Record], plots_dir: Path) -> list[Path]:
    """Both plots for a suite; returns the files written."""
    made = [psnr_time_plot(suite, records, Path(plots_dir) / f"{suite}_psnr_time.png"),
            psnr_params_plot(suite, records, Path(plots_dir) / f"{suite}_psnr_params.png")]
    return [p for p in made if p is not None]
