"""``nstr render RUN_DIR [CAMERA_PATH] OUTPUT``: decode a fitted run at any size, rate or resolution."""

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
@click.argument("paths", nargs=-1, required=True, metavar="[CAMERA_PATH] OUTPUT", type=click.Path(path_type=Path))
@click.option("--size", default=None, help="image and scene runs: WxH to decode at [the fitted size]")
@click.option("--rate", type=int, default=None, help="audio runs: sample rate in Hz to resample at [the input's]")
@click.option("--resolution", type=int, default=None,
              help="shape and scene runs: marching-cubes grid per axis [shape: the fit's; scene: 128]")
@click.option("--threshold", type=float, default=None,
              help="scene runs, meshes: the density (per scene unit) the surface is drawn at [5]")
@click.option("--frames", type=int, default=None, help="scene runs: frames of the orbit (.gif/.mp4) [40]")
@click.option("--overwrite", is_flag=True, help="replace OUTPUT if it exists")
@device_option
def render_command(run_dir: Path, paths: tuple[Path, ...], size: str | None, rate: int | None,
                   resolution: int | None, threshold: float | None, frames: int | None, overwrite: bool,
                   device: str) -> None:
    """Decode a fitted run into OUTPUT: an image (.png/.npy) at any size, audio (.wav...) at any rate, a mesh
    (.ply .obj .stl .off .glb) of a shape or of a scene's density, or for a scene one novel view (.png), its depth
    map in scene units (.npy) or an orbit of novel views (.gif/.mp4). With CAMERA_PATH (a JSON file of 4x4
    camera-to-world poses and a field of view, or nerfstudio's camera_path.json; the README has the format), a
    scene run renders every pose into a video (.gif/.mp4) or a stack of depth maps (.npy). A run trained on one
    device renders on any other."""
    if len(paths) > 2:
        raise NstrError(f"nstr render takes RUN_DIR, an optional CAMERA_PATH and OUTPUT, not {len(paths) + 1} paths")
    camera_path, output = (None, paths[0]) if len(paths) == 1 else paths
    target = resolve_device(device)
    if output.exists() and not overwrite:
        raise NstrError(f"'{output}' already exists; choose another name or pass --overwrite")
    run = load(run_dir, device=target)
    kind = signal_class(run.config["signal"]["kind"])
    if frames is not None and frames < 1:
        raise NstrError(f"--frames must be >= 1, got {frames}")
    if camera_path is not None and kind.kind != "scene":
        raise NstrError(f"a camera path renders views of a scene; '{run_dir}' is a {kind.kind} run")
    options = {"size": size, "rate": rate, "resolution": resolution, "threshold": threshold, "frames": frames,
               "camera_path": camera_path}
    chosen = {k: v for k, v in options.items() if v is not None}
    start = time.perf_counter()
    written = kind.render_run(run.model, run.config["signal"], output, chosen)
    click.echo(f"{written} in {time.perf_counter() - start:.2f} s")  # decoding and writing, not loading
