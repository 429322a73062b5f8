"""FreSh picture: target against candidate spectra, distance against value."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nstr.core.plotting import save_figure, subplots
from nstr.fresh.select import Selection

# ------------------------------------------------------------------------------------------------- plot


def plot_selection(selection: Selection, path: Path, title: str | None = None) -> Path:
    """PNG: the target spectrum against the best and worst candidates' mean spectra, and distance vs value.

    Spectra are shown as the distance sees them: the first ``n`` entries, each normalised to sum to one.
    """
    fig, (ax, ax2) = subplots(1, 2, figsize=(11, 3.8))
    index = np.arange(1, selection.n + 1)[: len(selection.target)]

    def unit(s: np.ndarray) -> np.ndarray:
        return s / max(float(np.sum(s)), 1e-300)

    best, worst = selection.best, selection.worst
    ax.plot(index, unit(selection.target), color="black", lw=2, label="target")
    ax.plot(index, unit(best.spectrum), color="tab:green",
            label=f"best {selection.param}={best.value:g} (W {best.mean:.3g})")
    if worst is not best:
        ax.plot(index, unit(worst.spectrum), color="tab:red", ls="--",
                label=f"worst {selection.param}={worst.value:g} (W {worst.mean:.3g})")
    ax.set_yscale("log")
    ax.set_xlabel("spectrum index (diagonal frequency, DC dropped)")
    ax.set_ylabel("share of the compared spectrum")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    vals = [c.value for c in selection.candidates]
    ax2.errorbar(vals, [c.mean for c in selection.candidates], yerr=[c.std for c in selection.candidates],
                 marker="o", ms=3, capsize=2)
    ax2.axvline(best.value, color="tab:green", alpha=0.5)
    ax2.set_xlabel(selection.param)
    ax2.set_ylabel(f"Wasserstein distance (mean ± std, {selection.inits} inits)")
    ax2.grid(alpha=0.3)
    fig.suptitle(title or f"FreSh: {selection.model} {selection.param} (n = {selection.n})")
    return save_figure(fig, Path(path))
