"""Regenerate docs/demo.png (the README's picture) from a run directory written by `make demo`.

    .venv/bin/python docs/make_figure.py runs/astronaut-nstr-<date> docs/demo.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import nstr
from nstr.core.plotting import save_figure, subplots
from nstr.core.png import decode_png


def main(run_dir: str, out: str) -> None:
    run = nstr.load(run_dir)
    source = nstr.load_signal(run.config["signal"], run.path)
    target = source.to_unit_image(source.values)
    recon = decode_png((run.path / "recon.png").read_bytes()).astype(np.float64) / 255
    x = source.grid(*source.shape)
    frequency = run.model.local_frequency(x).norm(dim=1).detach().numpy().reshape(source.shape)
    fig, axes = subplots(1, 4, figsize=(16, 4.4))
    panels = [
        (target, "target (astronaut, 512 x 512)", None),
        (recon, f"NSTR, {run.metrics['params']:,} parameters: {run.metrics['psnr']:.1f} dB", None),
        (np.abs(recon - target).mean(axis=2), "|error| (0..1 scale)", "inferno"),
        (frequency, "local frequency |omega(x)| (cycles per unit)", "plasma"),
    ]
    for ax, (image, title, cmap) in zip(axes, panels, strict=True):
        ax.imshow(image, cmap=cmap)
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    save_figure(fig, Path(out))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
