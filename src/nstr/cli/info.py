"""``nstr info RUN_DIR``: a run's summary."""

from __future__ import annotations

from pathlib import Path

import click

from nstr.train.runs import load


@click.command("info")
@click.argument("run_dir", type=click.Path(path_type=Path))
def info_command(run_dir: Path) -> None:
    """Print a run's summary: signal, model, parameters, steps, time and quality."""
    click.echo(load(run_dir).summary())
