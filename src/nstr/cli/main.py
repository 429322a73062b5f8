"""The ``nstr`` command: thin subcommands over the library, one module per command.

Built on click because options are generated at run time from config dataclasses (each model's and each
signal kind's: one source of truth for names, types, defaults and help), which click supports directly and
signature-driven tools (typer, tyro) do not without wrappers; click also lets us turn every usage error into
the one-line message and exit code 2 our users expect.
"""

from __future__ import annotations

import os
import sys

import click
import torch

from nstr.cli.bench import bench_command
from nstr.cli.fit import Diverged, fit_command
from nstr.cli.fresh import fresh_command
from nstr.cli.info import info_command
from nstr.cli.models import models_command
from nstr.cli.render import render_command
from nstr.cli.scene import scene_command
from nstr.cli.viz import viz_command
from nstr.core.errors import NstrError

EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 1, 130


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
def cli() -> None:
    """nstr: fit implicit neural representations (NSTR, SIREN, Fourier features, hash grids) to real signals."""


for command in (fit_command, render_command, viz_command, info_command, models_command, fresh_command,
                bench_command, scene_command):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors with exit code 2, never a traceback for bad input."""
    if not os.environ.get("OMP_NUM_THREADS") and hasattr(os, "sched_getaffinity"):  # else the user's choice
        torch.set_num_threads(len(os.sched_getaffinity(0)))
    try:
        cli.main(args=argv, prog_name="nstr", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.UsageError, click.BadParameter) as exc:
        click.echo(f"nstr: error: {exc.format_message()}", err=True)
        return EXIT_USAGE
    except NstrError as exc:
        click.echo(f"nstr: error: {exc}", err=True)
        return EXIT_USAGE
    except Diverged as exc:
        click.echo(f"nstr: {exc}", err=True)
        return EXIT_DIVERGED
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("nstr: interrupted; a run with a checkpoint continues with 'nstr fit --resume DIR'", err=True)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
