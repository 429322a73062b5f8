"""``nstr bench``: run a benchmark suite (``nstr bench SUITE``) or regenerate BENCHMARKS.md (``nstr bench report``).

Register with ``cli.add_command(bench_command)``. Each suite is a subcommand with the same options;
``nstr bench --quick`` is the quick suite.
"""

from __future__ import annotations

from pathlib import Path

import click

from nstr.bench.estimate import estimate_seconds
from nstr.bench.executors import make_executor
from nstr.bench.fresh_choices import choice_seconds, due_choices, ensure_choices
from nstr.bench.perf import PRECISION_STEPS
from nstr.bench.perf import run as run_perf
from nstr.bench.provenance import RESULTS, git_state, require_clean
from nstr.bench.report import table, write_report
from nstr.bench.runner import is_done, run_suite, save_declaration
from nstr.bench.suites import KODAK, SUITES, Overrides, expand, get_suite, kodak_signals, on_kodak
from nstr.bench.summary import groups, summary_row
from nstr.core.device import DEVICE_CHOICES, resolve_device
from nstr.core.errors import NstrError
from nstr.core.precision import PRECISIONS
from nstr.models import MODELS
from nstr.train.progress import format_interval

DEFAULT_RESULTS = Path(RESULTS)


def _names(text: str | None, flag: str) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise NstrError(f"{flag} is empty; give a comma-separated list")
    return names


def _budgets(text: str | None) -> tuple[int, ...] | None:
    """``--budgets 100000,300000`` (or 100k, 1M) as parameter counts."""
    names = _names(text, "--budgets")
    if names is None:
        return None
    scale = {"k": 1_000, "m": 1_000_000}
    counts = []
    for name in names:
        try:
            counts.append(round(float(name[:-1]) * scale[name[-1].lower()]) if name[-1].lower() in scale
                          else int(name))
        except ValueError:
            raise NstrError(f"--budgets takes parameter counts like 300000, 300k or 1M; got '{name}'") from None
    return tuple(counts)


def run_bench(suite: str, signals: str | None = None, models: str | None = None, max_seconds: float | None = None,
              steps: int | None = None, seeds: int | None = None, size: int | None = None, full_size: bool = False,
              workers: int | None = None, threads: int | None = None, executor: str = "local",
              address: str | None = None, precision: str = "fp32", device: str = "cpu",
              out: Path = DEFAULT_RESULTS, quick: bool = False, list_only: bool = False, allow_dirty: bool = False,
              rerun_busy: bool = True, images: str | None = None, budgets: str | None = None,
              fresh_only: bool = False) -> list[dict]:
    """Expand ``suite`` with the overrides, run what is not done yet, print progress and a summary table.
    ``device`` is resolved once here, so every cell of the run fits on the same device. A suite (not the quick
    wiring checks) refuses to start from a checkout with uncommitted changes unless ``allow_dirty``.
    ``fresh_only``: compute and store the suite's FreSh choices and fit nothing (they take long on a CPU and
    need no idle machine, so they can run apart from the timed fits)."""
    if images is not None and signals is not None:
        raise NstrError("give either --images or --signals, not both")
    chosen = kodak_signals(_names(images, "--images")) if images is not None else _names(signals, "--signals")
    target = str(resolve_device(device))
    overrides = Overrides(signals=chosen, models=_names(models, "--models"), steps=steps,
                          max_seconds=max_seconds, seeds=seeds, size=size, full_size=full_size, quick=quick,
                          precision=precision, device=target, budgets=_budgets(budgets))
    cells = expand(suite, overrides)
    if not (quick or suite == "quick" or list_only):
        require_clean(git_state()[1], allow_dirty, f"'nstr bench {suite}'")
    todo = [c for c in cells if not is_done(Path(out), c)]
    needing = cells if fresh_only else todo
    choices = due_choices(needing, Path(out))
    if choices:
        alone = "" if fresh_only else "; '--fresh-only' makes them alone"
        took = format_interval(choice_seconds(needing, Path(out), workers))
        click.echo(f"{len(choices)} FreSh choice(s) to compute and store first, about {took} (not timed{alone})",
                   err=True)
    whole = Overrides(quick=quick, precision=precision, device=target)  # the suite's whole declaration
    if fresh_only:
        if not list_only:
            _declare(suite, whole, Path(out))
            ensure_choices(cells, Path(out), workers, lambda line: click.echo(line, err=True))
        return []
    seconds, unknown = estimate_seconds(todo, workers or 1)
    click.echo(f"{len(cells)} cells ({len(todo)} to run); estimated training time {format_interval(seconds)}"
               + (f" plus {unknown} cell(s) whose step time is unknown" if unknown else "")
               + " (a lower bound: evaluation comes on top)", err=True)
    if list_only:
        for cell in cells:
            click.echo(f"{cell.cell_id}  {cell.expected_params:,} params  {cell.options}")
        return []
    if threads is None and executor == "local" and (workers or 1) == 1:
        threads = get_suite(suite).threads
    runner = make_executor(executor, workers, address, threads)
    _declare(suite, whole, Path(out))
    echo = lambda line: click.echo(line, err=True)  # noqa: E731
    records = run_suite(cells, Path(out), runner, echo=echo, rerun_busy=rerun_busy)
    click.echo(table([summary_row(k, v) for k, v in groups(records).items()]))
    return records


def _declare(suite: str, overrides: Overrides, out: Path) -> None:
    """Store the suite's whole declaration beside its cells (whatever subset this run makes), for the report's
    count of missing cells; where the whole suite cannot be listed here (its data are missing), say so."""
    try:
        save_declaration(out, expand(suite, overrides))
    except NstrError as exc:
        click.echo(f"note: the whole suite could not be listed, so the report cannot count its missing cells: {exc}",
                   err=True)


def _suite_options(command):
    options = [
        click.option("--signals", default=None, help="comma-separated signals (built-in images or files)"),
        click.option("--models", default=None, help="comma-separated registered models [the suite's]"),
        click.option("--max-seconds", type=float, default=None, help="training wall time per cell"),
        click.option("--steps", type=int, default=None, help="optimiser steps per cell (instead of --max-seconds)"),
        click.option("--seeds", type=int, default=None, help="seeds per model and signal"),
        click.option("--budgets", default=None,
                     help="comma-separated parameter budgets of every model, e.g. 300k or 100k,1M [the suite's]"),
        click.option("--size", type=int, default=None, help="longer image side in pixels [the suite's]"),
        click.option("--full-size", is_flag=True, help="fit images at their full size"),
        click.option("--workers", type=int, default=None,
                     help="parallel fits, one torch thread each [local: 1, in-process; ray: all CPUs]"),
        click.option("--threads", type=int, default=None,
                     help="torch threads per fit, local executor [in-process: all (quick: 1); pool: 1]"),
        click.option("--executor", default="local", show_default=True,
                     help="local or ray (the ray extra: pip install -e '.[ray]' in the nstr checkout)"),
        click.option("--address", default=None, help="Ray cluster address [a local Ray instance]"),
        click.option("--precision", type=click.Choice(list(PRECISIONS)), default="fp32", show_default=True,
                     help="fit every cell at this precision; bf16/fp16 results go to OUT/<suite>-<precision>"),
        click.option("--device", default="auto", show_default=True, metavar="DEVICE",
                     help=f"where every cell fits: {DEVICE_CHOICES}; GPU results go to OUT/<suite>-cuda (-mps)"),
        click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_RESULTS, show_default=True,
                     help="results folder; cells go to OUT/<suite>/<cell-id>.json"),
        click.option("--quick", is_flag=True, help="shrink the suite to a wiring check (results in <suite>-quick)"),
        click.option("--list", "list_only", is_flag=True, help="print the cells and their model options; run nothing"),
        click.option("--allow-dirty", is_flag=True,
                     help="run from a checkout with uncommitted changes (every cell is marked dirty)"),
        click.option("--fresh-only", is_flag=True,
                     help="compute and store the suite's FreSh choices (in OUT/<suite>/fresh), fit nothing"),
        click.option("--no-rerun-busy", "rerun_busy", is_flag=True, flag_value=False, default=True,
                     help="do not re-run a cell whose load average exceeded the core count + 0.5 while it fitted"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _images_option(name: str):
    """``--images kodim01,kodim05`` for suites on Kodak photographs (any of the 24 instead of the suite's own);
    nothing for others."""
    suite = SUITES[name]
    if not on_kodak(suite):
        return lambda command: command
    own = "all 24" if suite.signals == KODAK else ",".join(Path(s).stem for s in suite.signals)
    return click.option("--images", default=None,
                        help=f"comma-separated Kodak images, e.g. kodim01,kodim05 [{own}]")


def _suite_command(name: str) -> click.Command:
    suite = SUITES[name]
    budget = f"{suite.steps} steps" if suite.steps else f"{suite.max_seconds:g} s"
    first = f", first {suite.max_models}" if suite.max_models else ""
    details = (f"{suite.description}. Defaults: signals {', '.join(suite.signals)}; models "
               f"{', '.join(suite.models)} (those registered{first}); {budget} per cell; {suite.seeds} seed(s); "
               f"images at {suite.size or 'full size'} px on the longer side.")

    @click.command(name, help=details)
    @_suite_options
    @_images_option(name)
    @click.pass_context
    def command(ctx: click.Context, **options) -> None:
        records = run_bench(name, **options)
        failed = sum(r.get("status") != "ok" for r in records)
        if failed:
            click.echo(f"{failed} cell(s) failed; their errors are in the JSON records and BENCHMARKS.md", err=True)
            ctx.exit(1)

    return command


@click.command("report")
@click.option("--results", type=click.Path(path_type=Path), default=DEFAULT_RESULTS, show_default=True,
              help="results folder (suite folders and standalone JSON files)")
@click.option("--out", type=click.Path(path_type=Path), default=Path("BENCHMARKS.md"), show_default=True)
@click.option("--plots", type=click.Path(path_type=Path), default=None, help="plots folder [RESULTS/../plots]")
def report_command(results: Path, out: Path, plots: Path | None) -> None:
    """Regenerate BENCHMARKS.md (tables, plots, claims ledger) from the results."""
    if results.exists() and not results.is_dir():
        raise NstrError(f"--results '{results}' is a file; give the results folder")
    click.echo(f"wrote {write_report(results, out, plots)}")


@click.command("perf")
@click.option("--models", default=None, help="comma-separated registered models [every model that fits 2-D]")
@click.option("--siren-steps", type=int, default=30, show_default=True,
              help="steps per variant of the SIREN-against-siren-pytorch comparison")
@click.option("--precision-steps", type=int, default=PRECISION_STEPS, show_default=True,
              help="full-batch steps per fit of the fp32-against-bf16 comparison (0 = skip it)")
@click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_RESULTS, show_default=True,
              help="results folder (perf.json, siren_step.json, precision.json)")
def perf_command(models: str | None, siren_steps: int, precision_steps: int, out: Path) -> None:
    """Step time, samples per second and fraction of the GEMM rate per model; NSTR's regulariser cost; the SIREN
    step against siren-pytorch (float32 and bf16); step time and PSNR after the same steps at fp32 and bf16.
    Run on an otherwise idle machine."""
    chosen = _names(models, "--models")
    unknown = [m for m in chosen or () if m not in MODELS]
    if unknown:
        raise NstrError(f"unknown model '{unknown[0]}' in --models: choose from {', '.join(sorted(MODELS))}")
    if siren_steps < 1:
        raise NstrError(f"--siren-steps must be at least 1, got {siren_steps}")
    if precision_steps < 0:
        raise NstrError(f"--precision-steps must be 0 (skip) or more, got {precision_steps}")
    out.mkdir(parents=True, exist_ok=True)
    for path in run_perf(out, list(chosen) if chosen else None, siren_steps, precision_steps):
        click.echo(f"wrote {path}")


class BenchGroup(click.Group):
    """Subcommands: one per suite (built from the registry) plus ``perf`` and ``report``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*SUITES, "perf", "report"]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name == "report":
            return report_command
        if name == "perf":
            return perf_command
        return _suite_command(name) if name in SUITES else None

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if not name.startswith("-") and self.get_command(ctx, name) is None:
            raise NstrError(f"unknown suite '{name}': choose one of {', '.join(self.list_commands(ctx))}")
        return super().resolve_command(ctx, args)


@click.group("bench", cls=BenchGroup, invoke_without_command=True)
@click.option("--quick", is_flag=True, help="run the quick suite (the same as 'nstr bench quick')")
@click.pass_context
def bench_command(ctx: click.Context, quick: bool) -> None:
    """Benchmark suites: every model x signal x seed with one budget, one JSON per cell; and the report."""
    if ctx.invoked_subcommand is not None:
        if quick:
            raise NstrError(f"put --quick after the suite name: nstr bench {ctx.invoked_subcommand} --quick")
        return
    if not quick:
        raise NstrError(f"give a SUITE ({', '.join(SUITES)}) or 'report'; see nstr bench --help")
    records = run_bench("quick", device="auto")
    if any(r.get("status") != "ok" for r in records):
        ctx.exit(1)
