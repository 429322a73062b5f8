"""``nstr scene``: scene tools from the command line (``nstr scene make DIR``).

Register with ``cli.add_command(scene_command)``; NstrErrors become one-line messages in ``nstr.cli.main.main``.
"""

from __future__ import annotations

from pathlib import Path

import click

from nstr.signals.scene.make import make_scene

scene_command = click.Group("scene", help="Radiance-field scenes: make a small analytic scene in the Blender "
                                          "synthetic (nerf_synthetic) format.")


@scene_command.command("make")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--size", type=int, default=100, show_default=True, help="image width and height in pixels")
@click.option("--train", type=int, default=100, show_default=True, help="training views")
@click.option("--val", type=int, default=10, show_default=True, help="validation views")
@click.option("--test", type=int, default=20, show_default=True, help="test views (a turntable at 30 degrees)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the train and val cameras")
@click.option("--supersample", type=int, default=2, show_default=True, help="anti-aliasing: s x s rays a pixel")
@click.option("--overwrite", is_flag=True, help="replace an existing non-empty DIR")
def make_command(directory: Path, size: int, train: int, val: int, test: int, seed: int, supersample: int,
                 overwrite: bool) -> None:
    """Render an analytic scene (sphere, box, cylinder) with exact depth maps into DIR."""
    out = make_scene(directory, size=size, train=train, val=val, test=test, seed=seed, supersample=supersample,
                     overwrite=overwrite)
    click.echo(f"wrote {out}: {train} train, {val} val, {test} test views of {size}x{size} RGBA PNG with depth "
               "maps (Blender format; load with nstr.signals.scene.blender.load_blender)")
