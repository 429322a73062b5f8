"""``nstr viz RUN_DIR``: pictures of a fitted model's internals."""

from __future__ import annotations

from pathlib import Path

import click

from nstr.cli.options import device_option
from nstr.core.device import resolve_device
from nstr.core.errors import NstrError
from nstr.inspect import write_pictures
from nstr.signals import signal_class
from nstr.train.runs import load


@click.command("viz")
@click.argument("run_dir", type=click.Path(path_type=Path))
@device_option
def viz_command(run_dir: Path, device: str) -> None:
    """Write pictures of a fitted model's internals into RUN_DIR (NSTR: spectral field, flow, residual; the 2-D
    Gaussians: their ellipses, density and sizes)."""
    run = load(run_dir, device=resolve_device(device))
    spec = run.config["signal"]
    written = write_pictures(run.model, run.path, signal_class(spec["kind"]).spec_shape(spec))
    if not written:
        raise NstrError(f"model '{run.config['model']['name']}' has no internals to picture (try an nstr run)")
    click.echo("wrote " + ", ".join(str(p) for p in written))
