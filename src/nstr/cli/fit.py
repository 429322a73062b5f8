"""``nstr fit SIGNAL --model M``: the options a fit takes depend on the signal's kind and the model.

``FitCommand`` reads SIGNAL, ``--model`` and ``--config`` from the arguments before click parses them, then
offers the common options below, the options of that signal kind (its ``Config``) and those of that model (its
``Config``), so ``nstr fit astronaut --model siren --help`` shows exactly what applies, with the fit settings'
effective defaults. An option that belongs to another kind or model is a one-line error that says what it
applies to.

Where a fit setting comes from, first match wins: the command line, the ``--config`` file, the model's
``fit_defaults``, the signal kind's ``fit_defaults`` (audio's minibatch), ``FitSettings``' own default (and a
60 s budget when nothing gives one). Model options likewise: the command line, the config file (when it names
the same model), the kind's ``model_defaults``, the model's own defaults. ``--config`` takes a run's
config.json (the run is fitted again as it was, into a new folder) or a YAML/JSON file with the same keys
(``nstr.train.fit_config``).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
import torch

from nstr.cli.fresh import parse_spec, select_for_fit
from nstr.cli.options import config_params, flags_of, not_for_model
from nstr.core.device import DEVICE_CHOICES, resolve_device
from nstr.core.errors import NstrError
from nstr.core.precision import PRECISIONS
from nstr.inspect import write_pictures
from nstr.models import MODELS, build_model, model_class
from nstr.signals import SIGNAL_KINDS, Signal, signal_kind
from nstr.train.fit import OPTIMIZERS, SCHEDULES, FitSettings, fit, fit_defaults, recorded_device
from nstr.train.fit import resume as resume_run
from nstr.train.fit_config import FitConfig, read_fit_config
from nstr.train.loggers import LOGGERS, TENSORBOARD_DIR, check_loggers
from nstr.train.runs import check_run_dir, default_run_dir

DEFAULT_MODEL = "nstr"
#: The training budget when neither the command line nor a config file gives one.
DEFAULT_SECONDS = 60.0
#: The common options that are ``FitSettings`` fields (each defaults to None: "not given").
FIT_FIELDS = ("steps", "max_seconds", "lr", "batch_size", "seed", "holdout", "eval_every", "schedule",
              "optimizer", "checkpoint_every", "compile", "precision")
#: Where the command keeps its plan (kind, model, their options) in the click context.
PLAN = "nstr.fit"
#: Prefixes of the parameter names of kind and model options (so they never clash with the common ones).
KIND, MODEL = "kind__", "model__"
MORE_OPTIONS = ("Each signal kind and model adds its own options; see them with 'nstr fit SIGNAL --model M "
                "--help' (models and their options: nstr models).")


class Diverged(Exception):
    """Training ended on a non-finite loss (exit code 1)."""


@dataclass
class FitPlan:
    """What ``nstr fit`` was asked to fit, read from the arguments before parsing."""

    signal: str | None = None  #: the source fitted: SIGNAL, else the config file's
    kind: type[Signal] | None = None
    model: str | None = None
    config: FitConfig | None = None  #: the ``--config`` file
    from_file: bool = False  #: whether the signal is the config file's (no SIGNAL on the command line)
    #: The config file's model options, when the model fitted is the file's (checked), else empty.
    file_options: dict[str, Any] = field(default_factory=dict)
    kind_params: list[click.Option] = field(default_factory=list)
    model_params: list[click.Option] = field(default_factory=list)
    #: Fields both the kind and the model have (a scene's background): one flag, the value goes to both.
    shared: tuple[str, ...] = ()

    def split(self, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Pop the kind's and the model's options that were given out of the parsed ``values``."""
        given: dict[str, dict[str, Any]] = {KIND: {}, MODEL: {}}
        for name in [n for n in values if n.startswith((KIND, MODEL))]:
            prefix = KIND if name.startswith(KIND) else MODEL
            value = values.pop(name)
            if value is not None:
                given[prefix][name[len(prefix):]] = value
        kind, model = given[KIND], given[MODEL]
        model.update({name: kind[name] for name in self.shared if name in kind})
        return kind, model


def _owners() -> tuple[dict[str, list[type[Signal]]], dict[str, list[str]], dict[str, bool]]:
    """Every kind and model option: ``--flag`` -> kinds, ``--flag`` -> models, ``--flag`` -> takes a value."""
    kinds: dict[str, list[type[Signal]]] = {}
    models: dict[str, list[str]] = {}
    takes_value: dict[str, bool] = {}
    for cls in SIGNAL_KINDS.values():
        for flag, value in flags_of(cls.Config).items():
            kinds.setdefault(flag, []).append(cls)
            takes_value[flag] = takes_value.get(flag, False) or value
    for name, cls in sorted(MODELS.items()):
        for flag, value in flags_of(cls.Config).items():
            models.setdefault(flag, []).append(name)
            takes_value[flag] = takes_value.get(flag, False) or value
    return kinds, models, takes_value


def _scan(args: list[str], takes_value: dict[str, bool]) -> tuple[str | None, dict[str, str], list[str]]:
    """(SIGNAL, the values of --model and --config, the long flags given) read from raw arguments, skipping option
    values."""
    signal, picked, flags = None, {}, []
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            signal = signal if signal is not None or i + 1 >= len(args) else args[i + 1]
            break
        if token.startswith("--"):
            name, eq, value = token.partition("=")
            flags.append(name)
            if not eq and takes_value.get(name, False) and i + 1 < len(args):
                value, i = args[i + 1], i + 1
            if name in ("--model", "--config"):
                picked[name] = value
        elif signal is None and not (token.startswith("-") and len(token) > 1):
            signal = token
        i += 1
    return signal, picked, flags


def _foreign(flag: str, plan: FitPlan, kinds: dict[str, list[type[Signal]]], models: dict[str, list[str]]) -> None:
    """Raise the one-line error for ``flag`` if it is an option of another kind or model."""
    names = [flag, "--" + flag[5:]] if flag.startswith("--no-") else [flag]
    for name in names:
        if name in kinds:
            what = " and ".join(cls.description for cls in kinds[name])
            where = (f"this signal is read as {plan.kind.kind}" if plan.kind is not None
                     else "give the SIGNAL to fit first")
            raise NstrError(f"{flag} applies to {what} only ({where})")
        if name in models:
            if plan.model is None:
                raise NstrError(f"option {flag} is a model option: give the SIGNAL to fit first (see nstr models)")
            raise not_for_model([flag], plan.model)


class FitCommand(click.Command):
    """A command whose options depend on its first argument (the signal's kind) and on ``--model``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        kinds, models, takes_value = _owners()
        common = {opt: not p.is_flag for p in self.params if isinstance(p, click.Option) for opt in p.opts}
        signal, picked, flags = _scan(args, {**takes_value, **common})
        model = picked.get("--model")
        config = read_fit_config(picked["--config"]) if picked.get("--config") else None
        plan = FitPlan(signal=signal, config=config)
        if signal is not None:
            plan.kind = signal_kind(signal)
        elif config is not None and config.signal is not None:
            plan.signal, plan.kind, plan.from_file = config.source(), config.kind(), True
        if plan.kind is not None:
            file_model = plan.kind.model_name(config.model) if config is not None and config.model else None
            plan.model = plan.kind.model_name(model or file_model or DEFAULT_MODEL)
            if file_model == plan.model:
                plan.file_options = config.options_for(plan.model)
            plan.kind_params = config_params(plan.kind.Config, KIND)
            kind_flags = {opt for p in plan.kind_params for opt in p.opts}
            model_params = config_params(model_class(plan.model).Config, MODEL)
            plan.model_params = [p for p in model_params if p.opts[0] not in kind_flags]
            plan.shared = tuple(p.name[len(MODEL):] for p in model_params if p.opts[0] in kind_flags)
        elif model is not None:
            model_class(model)  # an unknown name is an error even without a signal
        ctx.meta[PLAN] = plan
        known = {opt for p in self.get_params(ctx) for opt in [*p.opts, *p.secondary_opts]}
        for flag in flags:
            if flag not in known:
                _foreign(flag, plan, kinds, models)
        return super().parse_args(ctx, args)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        plan = ctx.meta.get(PLAN) or FitPlan()
        params = [*self.params, *plan.kind_params, *plan.model_params]
        help_option = self.get_help_option(ctx)
        return params if help_option is None else [*params, help_option]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        plan = ctx.meta.get(PLAN) or FitPlan()
        defaults = effective_fit_options(plan)
        common = [_with_default(p, defaults[p.name], plan.model) if p.name in FIT_FIELDS else p for p in self.params]
        sections = [("Options", [*common, self.get_help_option(ctx)])]
        if plan.kind is not None:
            file_signal = plan.config.signal if plan.from_file else {}
            sections += [(f"Options of {plan.kind.description}", _from_file(plan.kind_params, KIND, file_signal)),
                         (f"Options of model {plan.model}", _from_file(plan.model_params, MODEL, plan.file_options))]
        for title, params in sections:
            records = [p.get_help_record(ctx) for p in params if isinstance(p, click.Option)]
            if records := [r for r in records if r is not None]:
                with formatter.section(title):
                    formatter.write_dl(records)
        if plan.kind is None:
            formatter.write_paragraph()
            formatter.write_text(MORE_OPTIONS)


@click.command("fit", cls=FitCommand)
@click.argument("signal", required=False)
@click.option("--model", default=None,
              help=f"model name (nstr models); a scene takes nstr, hashgrid or triplane [{DEFAULT_MODEL}; with "
                   "--config: the file's]")
@click.option("--config", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="fit what FILE describes: a run's config.json (the same fit again, into a new folder) or a "
                   "YAML/JSON file with its keys; options given here override the file's")
@click.option("--steps", type=int, default=None, help="optimiser steps (reproducible budget)")
@click.option("--max-seconds", type=float, default=None,
              help=f"training wall-clock budget in seconds ({DEFAULT_SECONDS:g} when no budget is given)")
@click.option("--lr", type=float, default=None, help="Adam learning rate")
@click.option("--batch-size", type=int, default=None, help="coordinates per step; 0 = all (scenes: see --rays)")
@click.option("--seed", type=int, default=None, help="seeds the model, the minibatches and the hold-out")
@click.option("--device", default=None, metavar="DEVICE",
              help=f"where to train: {DEVICE_CHOICES} [auto: CUDA, then MPS, then the CPU; --resume and --config: "
                   "the run's own]")
@click.option("--holdout", type=float, default=None, help="fraction of samples held out")
@click.option("--eval-every", type=int, default=None, help="evaluate every N steps")
@click.option("--schedule", type=click.Choice(list(SCHEDULES)), default=None,
              help="learning rate over the budget: cosine or constant; plateau: divided by 10 after 10 epochs "
                   "without a lower training loss (the official DINR recipe)")
@click.option("--optimizer", type=click.Choice(list(OPTIMIZERS)), default=None,
              help="adam, or adamw (weight decay 1e-5, the official DINR recipe)")
@click.option("--checkpoint-every", type=int, default=None, help="checkpoint every N steps")
@click.option("--compile/--no-compile", default=None,
              help="torch.compile the loss and backward (SIREN/FFN: ~15% faster steps after a few seconds)")
@click.option("--precision", type=click.Choice(list(PRECISIONS)), default=None,
              help="bf16/fp16: autocast the forward and loss, float32 weights and Adam state (see README)")
@click.option("--log", type=click.Choice(list(LOGGERS)), multiple=True,
              help='watch the fit live: tensorboard writes RUN/tensorboard/ (pip install -e ".[log]")')
@click.option("--out", type=click.Path(path_type=Path), default=None, help="run directory [runs/<new>]")
@click.option("--overwrite", is_flag=True, help="replace an existing --out directory")
@click.option("--resume", type=click.Path(path_type=Path), default=None, help="continue a killed run")
@click.option("--fresh", default=None, metavar="PARAM=VALUES",
              help="choose one model option by FreSh first, e.g. omega0=10:200:10 (recorded in config.json)")
@click.option("--quiet", "-q", is_flag=True, help="no progress bars")
def fit_command(**values: Any) -> None:
    """Fit a model to SIGNAL and write a run directory. SIGNAL is an image file or a built-in name such as
    astronaut, an audio file, a mesh (fitted as a signed distance field) or a scene folder in the Blender
    format (fitted as a radiance field: --model nstr, hashgrid or triplane). With --config FILE, SIGNAL may be
    left to the file."""
    plan: FitPlan = click.get_current_context().meta[PLAN]
    kind_options, model_options = plan.split(values)
    quiet, log = values["quiet"], values["log"]
    check_loggers(log)  # a missing extra before any work
    device = resolve_device(values["device"]) if values["device"] is not None else None  # before anything is made
    if values["resume"] is not None:
        if plan.signal is not None or plan.config is not None:
            raise NstrError("--resume takes the run directory only; do not also give SIGNAL or --config")
        result = resume_run(values["resume"], quiet=quiet, device=device, log=log)
        write_pictures(result.model, result.out, result.signal.shape)
        report(result)
        return
    if plan.kind is None:
        raise NstrError("give a SIGNAL to fit (an image file or a built-in name such as astronaut)"
                        + (f", or a signal in {plan.config.path}" if plan.config is not None else ""))
    settings = _settings(values, plan)
    device = device if device is not None else _config_device(plan.config)
    if values["fresh"] is not None:
        parse_spec(values["fresh"])  # syntax errors before any loading
    out = _out(values, plan)
    data = (plan.config.build_signal(kind_options) if plan.from_file
            else plan.kind(plan.signal, plan.kind.Config(**kind_options)))
    model_options = {**plan.file_options, **model_options}
    extra = {} if plan.config is None else {"config_file": str(plan.config.path.resolve())}
    if values["fresh"] is not None:
        param, value, extra["fresh"] = select_for_fit(data, plan.model, values["fresh"], model_options,
                                                      seed=settings.seed, quiet=quiet, device=device)
        model_options[param] = value
    torch.manual_seed(settings.seed)
    model = build_model(plan.model, data.in_dim, data.out_dim, **{**data.model_defaults(plan.model), **model_options})
    if not quiet:
        click.echo(f"fitting {plan.model} ({model.num_params():,} parameters) to {plan.signal} on {device} -> {out}",
                   err=True)
        if "tensorboard" in log:
            click.echo(f"watch it live: tensorboard --logdir {out / TENSORBOARD_DIR}", err=True)
    result = fit(data, model, settings, out=out, overwrite=values["overwrite"], quiet=quiet, extra_config=extra,
                 device=device, log=log)
    write_pictures(result.model, out, data.shape)  # the model's internals (NSTR's spectral field), if it has any
    report(result)


def effective_fit_options(plan: FitPlan, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fit settings of ``plan``, first match wins: ``given`` (the command line's), the config file's, the
    model's and then the kind's ``fit_defaults``, ``FitSettings``' own; no budget anywhere means
    ``DEFAULT_SECONDS`` (a budget from any of them replaces it: a file's steps and the command line's seconds
    both count, and the fit stops at whichever ends first)."""
    options = asdict(FitSettings())
    if plan.kind is not None:
        options.update(fit_defaults(plan.kind, model_class(plan.model)))
    if plan.config is not None:
        options.update(plan.config.fit)
    options.update(given or {})
    if options["steps"] is None and options["max_seconds"] is None:
        options["max_seconds"] = DEFAULT_SECONDS
    return options


def _settings(values: dict[str, Any], plan: FitPlan) -> FitSettings:
    """The fit's settings (``effective_fit_options`` with the command line's), checked (a scene draws its own
    rays: no batch, no holdout)."""
    given = {name: values[name] for name in FIT_FIELDS if values[name] is not None}
    settings = FitSettings(**effective_fit_options(plan, given))
    settings.validate()
    kind = plan.kind
    if settings.holdout and not kind.evaluates_training_samples:
        raise NstrError(f"--holdout does not apply to {kind.kind} signals: they are scored on evaluation "
                        "samples kept apart from the samples they train on")
    if kind.kind == "scene":
        if "batch_size" in given or settings.batch_size != 0:
            raise NstrError("a scene draws --rays rays per step; --batch-size does not apply")
        if settings.compile:
            raise NstrError("--compile does not apply to scenes: the samples kept per ray change every step")
    return settings


def _config_device(config: FitConfig | None):
    """Where a fit without --device runs: the config file's device when it is here, else "auto"."""
    if config is None or config.device is None:
        return resolve_device("auto")
    return recorded_device({"environment": {"device": config.device}})


def _out(values: dict[str, Any], plan: FitPlan) -> Path:
    """The run directory: --out, else a new folder under runs/; never the run a config file comes from."""
    out = values["out"] or default_run_dir(plan.signal, plan.model)
    if plan.config is not None and Path(out).resolve() == plan.config.folder.resolve():
        raise NstrError(f"--out '{out}' is the folder of the config file; choose another folder (never overwrite a "
                        "run you are repeating)")
    return check_run_dir(out, values["overwrite"])


def _from_file(params: list[click.Option], prefix: str, values: dict[str, Any]) -> list[click.Option]:
    """Kind or model options whose help shows the config file's value in place of the default, where it has one."""
    shown = []
    for param in params:
        name = param.name[len(prefix):]
        if name in values:
            param = copy.copy(param)
            text = param.help or ""
            text = text[: text.rfind(" [")] if text.endswith("]") and " [" in text else text
            param.help = f"{text} [{values[name]}: config file]"
        shown.append(param)
    return shown


def _with_default(param: click.Option, value: Any, model: str | None) -> click.Option:
    """A copy of a fit option whose help ends in its effective default (``effective_fit_options``)."""
    if value is None and param.name == "lr":
        shown = f"the model's, {model_class(model).default_lr:g}" if model else "the model's reference value"
    elif isinstance(value, bool):
        shown = "on" if value else "off"
    elif value is None:
        shown = "none"
    else:
        shown = f"{value:g}" if isinstance(value, float) else str(value)
    option = copy.copy(param)
    option.help = f"{param.help or ''} [{shown}]".strip()
    return option


def report(result: Any) -> None:
    """Print a finished fit's summary; a diverged fit raises ``Diverged`` after it."""
    m = result.metrics
    click.echo(f"{result.signal.summary(m)}, {m['steps']} steps in {m['train_seconds']:.1f} s")
    click.echo(f"results in {result.out}/ ({result.signal.output_names()})")
    if result.diverged_at is not None:
        raise Diverged(f"training diverged (non-finite loss) at step {result.diverged_at}; kept the best weights "
                       f"(step {m['best_step']}); try a lower --lr")
