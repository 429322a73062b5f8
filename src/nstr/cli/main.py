"""The ``nstr`` command: thin subcommands over the library.

Built on click because model options are generated at run time from each model's config dataclass
(one source of truth for names, types, defaults and help), which click supports directly and
signature-driven tools (typer, tyro) do not without wrappers; click also lets us turn every usage
error into the one-line message and exit code 2 our users expect.
"""

from __future__ import annotations

import os
import sys
from dataclasses import fields, replace
from pathlib import Path

import click

from nstr.cli.bench import bench_command
from nstr.cli.fresh import fresh_command
from nstr.cli.options import chosen_model_options, model_option_params
from nstr.cli.scene import scene_command
from nstr.core.errors import NstrError
from nstr.inspect import write_pictures

DEFAULT_MODEL = "nstr"
DEFAULT_BATCH = 1 << 16
EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 1, 130


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
def cli() -> None:
    """nstr: fit implicit neural representations (NSTR, SIREN, Fourier features, hash grids) to real signals."""


@cli.command("fit")
@click.argument("signal", required=False)
@click.option("--model", "model_name", default=DEFAULT_MODEL, show_default=True, help="model name (nstr models)")
@click.option("--steps", type=int, default=None, help="optimiser steps (reproducible budget)")
@click.option("--max-seconds", type=float, default=None, help="training wall-clock budget in seconds")
@click.option("--lr", type=float, default=None, help="Adam learning rate [model's reference value]")
@click.option("--batch-size", type=int, default=DEFAULT_BATCH, show_default=True,
              help="coordinates per step; 0 = all (scenes: see --samples)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--holdout", type=float, default=0.0, show_default=True, help="fraction of samples held out")
@click.option("--eval-every", type=int, default=100, show_default=True, help="evaluate every N steps")
@click.option("--schedule", type=click.Choice(["cosine", "constant"]), default="cosine", show_default=True)
@click.option("--checkpoint-every", type=int, default=0, show_default=True, help="checkpoint every N steps")
@click.option("--compile", "compile_step", is_flag=True,
              help="torch.compile the loss and backward (SIREN/FFN: ~15% faster steps after a few seconds)")
@click.option("--resize", default=None, help="resample the image to WxH before fitting")
@click.option("--noise", type=float, default=0.0, show_default=True,
              help="images: train on Gaussian noise of this std (fraction of the range); score the clean image")
@click.option("--sdf-loss", type=click.Choice(["sdf", "siren"]), default=None,
              help="meshes: sdf (DeepSDF clamped L1) or siren (point-cloud loss, eikonal term) [sdf]")
@click.option("--samples", type=int, default=None,
              help="meshes: training samples at a time; scenes: training rays per step [4096]")
@click.option("--resample-every", type=int, default=None, help="meshes: steps between sample redraws [1]")
@click.option("--downscale", type=int, default=None, help="scenes: shrink every view by this integer factor [1]")
@click.option("--test-views", type=int, default=None, help="scenes: score and write only the first N test views [all]")
@click.option("--orbit-frames", type=int, default=None, help="scenes: frames of orbit.gif, 0 = none [40]")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="run directory [runs/<new>]")
@click.option("--overwrite", is_flag=True, help="replace an existing --out directory")
@click.option("--resume", type=click.Path(path_type=Path), default=None, help="continue a killed run")
@click.option("--fresh", default=None, metavar="PARAM=VALUES",
              help="choose one model option by FreSh first, e.g. omega0=10:200:10 (recorded in config.json)")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar")
def fit_command(signal, model_name, steps, max_seconds, lr, batch_size, seed, holdout, eval_every, schedule,
                checkpoint_every, compile_step, resize, noise, out, overwrite, resume, fresh, quiet,
                sdf_loss=None, samples=None, resample_every=None, downscale=None, test_views=None, orbit_frames=None,
                **model_options) -> None:
    """Fit a model to SIGNAL and write a run directory. SIGNAL is an image file or a built-in name such as
    astronaut, an audio file, a mesh (fitted as a signed distance field) or a scene folder in the Blender
    format (fitted as a radiance field: --model nstr, hashgrid or triplane)."""
    import torch

    from nstr.cli.fresh import parse_spec, select_for_fit
    from nstr.models import build_model
    from nstr.signals import load_signal, signal_kind
    from nstr.signals.image.signal import parse_size
    from nstr.train.fit import FitSettings, fit
    from nstr.train.fit import resume as resume_run
    from nstr.train.runs import default_run_dir, prepare_run_dir

    if resume is not None:
        if signal is not None:
            raise NstrError("--resume takes the run directory only; do not also give SIGNAL")
        result = resume_run(resume, quiet=quiet)
        write_pictures(result.model, result.out, result.signal.shape)
        _report(result)
        return
    if signal is None:
        raise NstrError("give a SIGNAL to fit (an image file or a built-in name such as astronaut)")
    if steps is None and max_seconds is None:
        max_seconds = 60.0
    settings = FitSettings(steps=steps, max_seconds=max_seconds, lr=lr, batch_size=batch_size, seed=seed,
                           holdout=holdout, eval_every=eval_every, schedule=schedule,
                           checkpoint_every=checkpoint_every, compile=compile_step)
    settings.validate()
    kind = signal_kind(signal)
    model_name = kind.model_name(model_name)
    given = chosen_model_options(model_name, model_options)
    if fresh is not None:
        parse_spec(fresh)  # syntax errors before any loading
    options = _kind_options(kind.kind, noise=noise, sdf_loss=sdf_loss, samples=samples, resample_every=resample_every,
                            downscale=downscale, test_views=test_views, orbit_frames=orbit_frames)
    if kind.kind == "scene":
        if holdout or batch_size != DEFAULT_BATCH:
            raise NstrError("a scene holds out its val and test views and draws --samples rays per step; "
                            "--holdout and --batch-size do not apply")
        if compile_step:
            raise NstrError("--compile does not apply to scenes: the samples kept per ray change every step")
        settings = replace(settings, batch_size=0)  # the step's rays and the evaluation rays, all at once
        if "background" in given:
            options["background"] = given["background"]
    data = load_signal(signal, resize=parse_size(resize) if resize else None, **options)
    extra = {}
    if fresh is not None:
        param, value, extra["fresh"] = select_for_fit(data, model_name, fresh, given, seed=seed, quiet=quiet)
        given[param] = value
    given = {**data.model_defaults(model_name), **given}
    torch.manual_seed(seed)
    model = build_model(model_name, data.in_dim, data.out_dim, **given)
    out = prepare_run_dir(out or default_run_dir(signal, model_name), overwrite)
    if not quiet:
        click.echo(f"fitting {model_name} ({model.num_params():,} parameters) to {signal} -> {out}", err=True)
    result = fit(data, model, settings, out=out, quiet=quiet, extra_config=extra)
    write_pictures(result.model, out, data.shape)  # the model's internals (NSTR's spectral field), if it has any
    _report(result)


#: Fit options that belong to one kind of signal: CLI name -> (kind, the signal's own option name).
KIND_OPTIONS = {
    "noise": ("image", "noise"), "sdf-loss": ("sdf", "loss"), "resample-every": ("sdf", "resample_every"),
    "downscale": ("scene", "downscale"), "test-views": ("scene", "test_views"),
    "orbit-frames": ("scene", "orbit_frames"),
}


def _kind_options(kind: str, **given) -> dict:
    """The signal options the user set, checked to belong to ``kind`` (``--samples`` serves meshes and scenes)."""
    options = {}
    for name, value in given.items():
        if value is None or (name == "noise" and not value):
            continue
        flag = name.replace("_", "-")
        if flag == "samples":
            if kind not in ("sdf", "scene"):
                raise NstrError("--samples applies to meshes (training samples) and scenes (rays per step)")
            options["rays" if kind == "scene" else "samples"] = value
            continue
        owner, key = KIND_OPTIONS[flag]
        if owner != kind:
            what = {"image": "images", "sdf": "mesh files (.obj .off .ply .stl .glb)",
                    "scene": "scene folders (transforms_train.json)"}[owner]
            raise NstrError(f"--{flag} applies to {what} only (this signal is read as {kind})")
        options[key] = value
    return options


fit_command.params.extend(model_option_params())
cli.add_command(fresh_command)
cli.add_command(bench_command)
cli.add_command(scene_command)


def _report(result) -> None:
    m = result.metrics
    click.echo(f"{result.signal.summary(m)}, {m['steps']} steps in {m['train_seconds']:.1f} s")
    click.echo(f"results in {result.out}/ ({result.signal.output_names()})")
    if result.diverged_at is not None:
        raise _Diverged(
            f"training diverged (non-finite loss) at step {result.diverged_at}; kept the best weights "
            f"(step {m['best_step']}); try a lower --lr"
        )


class _Diverged(Exception):
    pass


@cli.command("render")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
@click.option("--size", default=None, help="image and scene runs: WxH to decode at [the fitted size]")
@click.option("--rate", type=int, default=None, help="audio runs: sample rate in Hz to resample at [the input's]")
@click.option("--resolution", type=int, default=None, help="shape runs: marching-cubes grid per axis")
@click.option("--frames", type=int, default=None, help="scene runs: frames of the orbit (.gif/.mp4) [40]")
@click.option("--overwrite", is_flag=True, help="replace OUTPUT if it exists")
def render_command(run_dir: Path, output: Path, size: str | None, rate: int | None, resolution: int | None,
                   frames: int | None, overwrite: bool) -> None:
    """Decode a fitted run into OUTPUT: an image (.png/.npy) at any size, audio (.wav...) at any rate, a mesh,
    or for a scene an orbit of novel views (.gif/.mp4) or one view (.png)."""
    from nstr.signals import signal_class
    from nstr.train.runs import load

    if output.exists() and not overwrite:
        raise NstrError(f"'{output}' already exists; choose another name or pass --overwrite")
    run = load(run_dir)
    kind = signal_class(run.config["signal"]["kind"])
    if frames is not None and frames < 1:
        raise NstrError(f"--frames must be >= 1, got {frames}")
    options = {"size": size, "rate": rate, "resolution": resolution, "frames": frames}
    chosen = {k: v for k, v in options.items() if v is not None}
    click.echo(kind.render_run(run.model, run.config["signal"], output, chosen))


@cli.command("viz")
@click.argument("run_dir", type=click.Path(path_type=Path))
def viz_command(run_dir: Path) -> None:
    """Write pictures of a fitted model's internals into RUN_DIR (NSTR: spectral field, flow, residual)."""
    from nstr.signals import signal_class
    from nstr.train.runs import load

    run = load(run_dir)
    spec = run.config["signal"]
    written = write_pictures(run.model, run.path, signal_class(spec["kind"]).spec_shape(spec))
    if not written:
        raise NstrError(f"model '{run.config['model']['name']}' has no internals to picture (try an nstr run)")
    click.echo("wrote " + ", ".join(str(p) for p in written))


@cli.command("info")
@click.argument("run_dir", type=click.Path(path_type=Path))
def info_command(run_dir: Path) -> None:
    """Print a run's summary: signal, model, parameters, steps, time and quality."""
    from nstr.train.runs import load

    click.echo(load(run_dir).summary())


@cli.command("models")
def models_command() -> None:
    """List the models and their options with defaults."""
    from nstr.models import MODELS

    for name, cls in sorted(MODELS.items()):
        click.echo(f"{name}: {cls.__doc__.strip().splitlines()[0]}  (lr {cls.default_lr:g})")
        for f in fields(cls.Config):
            click.echo(f"    --{f.name.replace('_', '-'):<16} {f.default!s:<8} {f.metadata.get('help', '')}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors with exit code 2, never a traceback for bad input."""
    import torch

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
    except _Diverged as exc:
        click.echo(f"nstr: {exc}", err=True)
        return EXIT_DIVERGED
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("nstr: interrupted; a run with a checkpoint continues with 'nstr fit --resume DIR'", err=True)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
