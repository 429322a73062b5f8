"""``nstr fresh``: FreSh selection of one model option from the command line, and the ``fit --fresh`` hook.

Register with ``cli.add_command(fresh_command)``. ``select_for_fit`` is what ``nstr fit --fresh
omega0=10:200:10`` calls before training.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from nstr.cli.options import chosen_model_options, device_option, model_option_params
from nstr.core.device import resolve_device
from nstr.core.errors import NstrError
from nstr.core.io import write_json
from nstr.fresh import DEFAULT_N, PRECISIONS, check_param, plot_selection, select
from nstr.signals import load_signal
from nstr.signals.image.signal import parse_size
from nstr.train.runs import default_run_dir

#: The official grids, used when --param / --values are not given.
DEFAULT_GRIDS: dict[str, tuple[str, str]] = {"siren": ("omega0", "10:200:10"), "ffn": ("sigma", "1:20:1")}
MAX_VALUES = 10_000
JSON_NAME, PLOT_NAME = "fresh.json", "fresh.png"


def parse_values(text: str) -> list[float]:
    """Candidate values from ``start:stop:step`` (stop included) or a comma list ``10,20,35``."""
    text = text.strip()
    if not text:
        raise NstrError("no candidate values: give start:stop:step (for example 10:200:10) or a list 10,20,30")
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise NstrError(f"values '{text}' are not start:stop:step (for example 10:200:10)")
        start, stop, step = (_number(p, text) for p in parts)
        if step <= 0:
            raise NstrError(f"values '{text}': the step must be positive")
        if stop < start:
            raise NstrError(f"values '{text}': stop must not be below start")
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > MAX_VALUES:
            raise NstrError(f"values '{text}' give {count} candidates; at most {MAX_VALUES}")
        values = [float(f"{start + k * step:.12g}") for k in range(count)]
    else:
        values = [_number(p, text) for p in text.split(",")]
    if len(set(values)) != len(values):
        raise NstrError(f"values '{text}' repeat a value; give each value once")
    return values


def _number(part: str, text: str) -> float:
    try:
        value = float(part.strip())
    except ValueError:
        raise NstrError(f"values '{text}': '{part.strip()}' is not a number") from None
    if not math.isfinite(value):
        raise NstrError(f"values '{text}': '{part.strip()}' is not a finite number")
    return value


def parse_spec(spec: str) -> tuple[str, list[float]]:
    """``omega0=10:200:10`` -> ("omega0", [10.0, ..., 200.0])."""
    param, sep, values = spec.partition("=")
    if not sep or not param.strip():
        raise NstrError(f"'{spec}' is not PARAM=VALUES (for example omega0=10:200:10 or sigma=1,2,4,8)")
    return param.strip(), parse_values(values)


def select_for_fit(signal: Any, model_name: str, spec: str, options: dict[str, Any], *, inits: int = 10,
                   n: int | None = None, seed: int = 0, precision: str = "auto",
                   quiet: bool = True, device: Any = None) -> tuple[str, float, dict[str, Any]]:
    """Run FreSh for ``nstr fit --fresh PARAM=VALUES``: returns (option name, chosen value, record).

    ``signal`` is a loaded nstr signal (or a source that ``load_signal`` accepts); ``options`` are the
    other model options the fit fixes. The record (``Selection.to_dict()`` plus the spec) is meant for
    the run's config.json; train with ``{**options, param: value}``.
    """
    param, values = parse_spec(spec)
    data = load_signal(signal) if isinstance(signal, (str, Path)) else signal
    selection = select(data, model_name, param, values, inits=inits, n=DEFAULT_N if n is None else n, seed=seed,
                       options=options, precision=precision, device=device)
    record = {"spec": spec, **selection.to_dict()}
    best = selection.best
    if not quiet:
        click.echo(f"FreSh chose {selection.param}={best.value:g} (distance {best.mean:.4g} ± {best.std:.2g}, "
                   f"{len(values)} values x {inits} inits in {selection.seconds:.1f} s)", err=True)
    return selection.param, best.value, record


def _format_table(selection: Any) -> str:
    width = max(6, len(selection.param))
    lines = [f"{'rank':>4}  {selection.param:>{width}}  {'mean W':>10}  {'std':>8}"]
    best = selection.best
    for rank, c in enumerate(selection.ranked(), 1):
        mark = "  <- best" if c is best else ""
        lines.append(f"{rank:>4}  {c.value:>{width}g}  {c.mean:>10.4f}  {c.std:>8.4f}{mark}")
    return "\n".join(lines)


@click.command("fresh")
@click.argument("signal")
@click.option("--model", "model_name", default="siren", show_default=True, help="model name (nstr models)")
@click.option("--param", default=None, help="model option to select [siren: omega0, ffn: sigma]")
@click.option("--values", "values_text", default=None,
              help="candidates: start:stop:step (stop included) or a list 1,2,4 [siren 10:200:10, ffn 1:20:1]")
@click.option("--inits", type=int, default=10, show_default=True, help="untrained models per value")
@click.option("--n", "n_crop", type=int, default=64, show_default=True, help="spectrum entries compared")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--precision", type=click.Choice(list(PRECISIONS)), default="auto", show_default=True,
              help="hidden-layer products of the untrained forwards: auto = bfloat16 where the device multiplies it "
                   "natively (about 2x faster there; emulated it is many times slower), else float32 (the official "
                   "recipe)")
@click.option("--resize", default=None, help="resample the image to WxH first")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="output folder [runs/<new>]")
@click.option("--overwrite", is_flag=True, help="replace an existing fresh.json")
@click.option("--quiet", "-q", is_flag=True, help="no progress")
@device_option
def fresh_command(signal: str, model_name: str, param: str | None, values_text: str | None, inits: int,
                  n_crop: int, seed: int, precision: str, resize: str | None, out: Path | None, overwrite: bool,
                  quiet: bool, device: str, **model_options: Any) -> None:
    """Choose a model option for SIGNAL by FreSh: match untrained models' spectra to the signal's.

    Prints the candidates ranked by mean spectral (Wasserstein) distance and writes fresh.json and
    fresh.png (target spectrum against the best and worst candidates) into --out.
    """
    target = resolve_device(device)
    if inits < 1:
        raise NstrError(f"--inits must be a positive number of initialisations, got {inits}")
    if n_crop < 1:
        raise NstrError(f"--n must be a positive number of spectrum entries, got {n_crop}")
    default_param, default_values = DEFAULT_GRIDS.get(model_name, (None, None))
    if param is None:
        if default_param is None:
            raise NstrError(f"give --param: the option of model '{model_name}' to select")
        param = default_param
    if values_text is None:
        if param.replace("-", "_") != default_param:
            raise NstrError(f"give --values for {param} (start:stop:step or a comma list)")
        values_text = default_values
    values = parse_values(values_text)
    options = chosen_model_options(model_name, model_options)
    check_param(model_name, param, values, options)  # one-line errors before any loading

    out = Path(out) if out is not None else default_run_dir(signal, f"{model_name}-fresh")
    if out.exists() and not out.is_dir():
        raise NstrError(f"--out '{out}' exists and is a file; choose a folder name")
    for name in (JSON_NAME, PLOT_NAME):
        if (out / name).exists() and not overwrite:
            raise NstrError(f"'{out / name}' already exists; choose another --out or pass --overwrite")
    data = load_signal(signal, resize=parse_size(resize) if resize else None)

    def progress(done: int, total: int) -> None:
        click.echo(f"\rFreSh: {done}/{total} untrained models", nl=done == total, err=True)

    live = not quiet and click.get_text_stream("stderr").isatty()
    if not quiet:
        click.echo(f"FreSh: {model_name} {param} over {len(values)} values x {inits} inits on {signal}", err=True)
    selection = select(data, model_name, param, values, inits=inits, n=n_crop, seed=seed, options=options,
                       precision=precision, progress=progress if live else None, device=target)
    out.mkdir(parents=True, exist_ok=True)
    record = {"signal": signal, "resize": resize, **selection.to_dict()}
    plot_selection(selection, out / PLOT_NAME, title=f"FreSh on {Path(signal).name}: {model_name} {param}")
    write_json(out / JSON_NAME, record)
    click.echo(_format_table(selection))
    best = selection.best
    click.echo(f"best {selection.param} = {best.value:g} (mean distance {best.mean:.4f}, {selection.seconds:.1f} s); "
               f"results in {out}/ ({JSON_NAME}, {PLOT_NAME})")


fresh_command.params.extend(model_option_params())
