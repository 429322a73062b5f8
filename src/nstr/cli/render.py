"""``nstr render RUN_DIR OUTPUT``: decode a fitted run at any size, rate or resolution."""

from __future__ import annotations

import time
from pathlib import Path

import click

from nstr.cli.options import device_option
from nstr.core.device import resolve_device
from nstr.core.errors import NstrError
from nstr.signals import signal_class
from nstr.train.runs import load


@click.command("render")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
@click.option("--size", default=None, help="image and scene runs: WxH to decode at [the fitted size]")
@click.option("--rate", type=int, default=None, help="audio runs: sample rate in Hz to resample at [the input's]")
@click.option("--resolution", type=int, default=None, help="shape runs: marching-cubes grid per axis")
@click.option("--frames", type=int, default=None, help="scene runs: frames of the orbit (.gif/.mp4) [40]")
@click.option("--overwrite", is_flag=True, help="replace OUTPUT if it exists")
@device_option
def render_command(run_dir: Path, output: Path, size: str | None, rate: int | None, resolution: int | None,
                   frames: int | None, overwrite: bool, device: str) -> None:
    """Decode a fitted run into OUTPUT: an image (.png/.npy) at any size, audio (.wav...) at any rate, a mesh,
    or for a scene an orbit of novel views (.gif/.mp4) or one view (.png). A run trained on one device renders
    on any other."""
    target = resolve_device(device)
    if output.exists() and not overwrite:
        raise NstrError(f"'{output}' already exists; choose another name or pass --overwrite")
    run = load(run_dir, device=target)
    kind = signal_class(run.config["signal"]["kind"])
    if frames is not None and frames < 1:
        raise NstrError(f"--frames must be >= 1, got {frames}")
    options = {"size": size, "rate": rate, "resolution": resolution, "frames": frames}
    chosen = {k: v for k, v in options.items() if v is not None}
    start = time.perf_counter()
    written = kind.render_run(run.model, run.config["signal"], output, chosen)
    click.echo(f"{written} in {time.perf_counter() - start:.2f} s")  # decoding and writing, not loading
