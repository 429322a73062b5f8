"""``nstr fit SIGNAL --model M``: the options a fit takes depend on the signal's kind and the model.

``FitCommand`` reads SIGNAL and ``--model`` from the arguments before click parses them, then offers the
common options below, the options of that signal kind (its ``Config``) and those of that model (its
``Config``), so ``nstr fit astronaut --model siren --help`` shows exactly what applies. An option that belongs
to another kind or model is a one-line error that says what it applies to.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
from nstr.train.fit import FitSettings, fit
from nstr.train.fit import resume as resume_run
from nstr.train.runs import check_run_dir, default_run_dir

DEFAULT_MODEL = "nstr"
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

    signal: str | None = None
    kind: type[Signal] | None = None
    model: str | None = None
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


def _scan(args: list[str], takes_value: dict[str, bool]) -> tuple[str | None, str | None, list[str]]:
    """(SIGNAL, the --model value, the long flags given) read from raw arguments, skipping option values."""
    signal, model, flags = None, None, []
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
            if name == "--model":
                model = value
        elif signal is None and not (token.startswith("-") and len(token) > 1):
            signal = token
        i += 1
    return signal, model, flags


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
        signal, model, flags = _scan(args, {**takes_value, **common})
        plan = FitPlan(signal=signal)
        if signal is not None:
            plan.kind = signal_kind(signal)
            plan.model = plan.kind.model_name(model or DEFAULT_MODEL)
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
        common = [*self.params, self.get_help_option(ctx)]
        sections = [("Options", common)]
        if plan.kind is not None:
            sections += [(f"Options of {plan.kind.description}", plan.kind_params),
                         (f"Options of model {plan.model}", plan.model_params)]
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
@click.option("--model", default=DEFAULT_MODEL, show_default=True,
              help="model name (nstr models); a scene takes nstr, hashgrid or triplane")
@click.option("--steps", type=int, default=None, help="optimiser steps (reproducible budget)")
@click.option("--max-seconds", type=float, default=None, help="training wall-clock budget in seconds [60]")
@click.option("--lr", type=float, default=None, help="Adam learning rate [model's reference value]")
@click.option("--batch-size", type=int, default=None,
              help="coordinates per step; 0 = all (scenes: see --rays) [the model's: 65536; gaussians: 0]")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default=None, metavar="DEVICE",
              help=f"where to train: {DEVICE_CHOICES} [auto: CUDA, then MPS, then the CPU; --resume: the run's own]")
@click.option("--holdout", type=float, default=0.0, show_default=True, help="fraction of samples held out")
@click.option("--eval-every", type=int, default=100, show_default=True, help="evaluate every N steps")
@click.option("--schedule", type=click.Choice(["cosine", "constant"]), default="cosine", show_default=True)
@click.option("--checkpoint-every", type=int, default=0, show_default=True, help="checkpoint every N steps")
@click.option("--compile", is_flag=True,
              help="torch.compile the loss and backward (SIREN/FFN: ~15% faster steps after a few seconds)")
@click.option("--precision", type=click.Choice(list(PRECISIONS)), default="fp32", show_default=True,
              help="bf16/fp16: autocast the forward and loss, float32 weights and Adam state (see README)")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="run directory [runs/<new>]")
@click.option("--overwrite", is_flag=True, help="replace an existing --out directory")
@click.option("--resume", type=click.Path(path_type=Path), default=None, help="continue a killed run")
@click.option("--fresh", default=None, metavar="PARAM=VALUES",
              help="choose one model option by FreSh first, e.g. omega0=10:200:10 (recorded in config.json)")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar")
def fit_command(**values: Any) -> None:
    """Fit a model to SIGNAL and write a run directory. SIGNAL is an image file or a built-in name such as
    astronaut, an audio file, a mesh (fitted as a signed distance field) or a scene folder in the Blender
    format (fitted as a radiance field: --model nstr, hashgrid or triplane)."""
    plan: FitPlan = click.get_current_context().meta[PLAN]
    kind_options, model_options = plan.split(values)
    quiet = values["quiet"]
    device = resolve_device(values["device"]) if values["device"] is not None else None  # before anything is made
    if values["resume"] is not None:
        if plan.signal is not None:
            raise NstrError("--resume takes the run directory only; do not also give SIGNAL")
        result = resume_run(values["resume"], quiet=quiet, device=device)
        write_pictures(result.model, result.out, result.signal.shape)
        report(result)
        return
    if plan.kind is None:
        raise NstrError("give a SIGNAL to fit (an image file or a built-in name such as astronaut)")
    settings = _settings(values, plan.kind)
    device = resolve_device("auto") if device is None else device
    if values["fresh"] is not None:
        parse_spec(values["fresh"])  # syntax errors before any loading
    out = check_run_dir(values["out"] or default_run_dir(plan.signal, plan.model), values["overwrite"])
    data = plan.kind(plan.signal, plan.kind.Config(**kind_options))
    extra = {}
    if values["fresh"] is not None:
        param, value, extra["fresh"] = select_for_fit(data, plan.model, values["fresh"], model_options,
                                                      seed=settings.seed, quiet=quiet, device=device)
        model_options[param] = value
    torch.manual_seed(settings.seed)
    model = build_model(plan.model, data.in_dim, data.out_dim, **{**data.model_defaults(plan.model), **model_options})
    if not quiet:
        click.echo(f"fitting {plan.model} ({model.num_params():,} parameters) to {plan.signal} on {device} -> {out}",
                   err=True)
    result = fit(data, model, settings, out=out, overwrite=values["overwrite"], quiet=quiet, extra_config=extra,
                 device=device)
    write_pictures(result.model, out, data.shape)  # the model's internals (NSTR's spectral field), if it has any
    report(result)


def _settings(values: dict[str, Any], kind: type[Signal]) -> FitSettings:
    """The fit's settings from the common options, checked (a scene draws its own rays: no batch, no holdout)."""
    steps, max_seconds = values["steps"], values["max_seconds"]
    settings = FitSettings(steps=steps, max_seconds=60.0 if steps is None and max_seconds is None else max_seconds,
                           lr=values["lr"], batch_size=values["batch_size"], seed=values["seed"],
                           holdout=values["holdout"], eval_every=values["eval_every"], schedule=values["schedule"],
                           checkpoint_every=values["checkpoint_every"], compile=values["compile"],
                           precision=values["precision"])
    settings.validate()
    if settings.holdout and not kind.evaluates_training_samples:
        raise NstrError(f"--holdout does not apply to {kind.kind} signals: they are scored on evaluation "
                        "samples kept apart from the samples they train on")
    if kind.kind == "scene":
        if settings.batch_size is not None:
            raise NstrError("a scene draws --rays rays per step; --batch-size does not apply")
        if settings.compile:
            raise NstrError("--compile does not apply to scenes: the samples kept per ray change every step")
        settings = replace(settings, batch_size=0)  # the step's rays and the evaluation rays, all at once
    return settings


def report(result: Any) -> None:
    """Print a finished fit's summary; a diverged fit raises ``Diverged`` after it."""
    m = result.metrics
    click.echo(f"{result.signal.summary(m)}, {m['steps']} steps in {m['train_seconds']:.1f} s")
    click.echo(f"results in {result.out}/ ({result.signal.output_names()})")
    if result.diverged_at is not None:
        raise Diverged(f"training diverged (non-finite loss) at step {result.diverged_at}; kept the best weights "
                       f"(step {m['best_step']}); try a lower --lr")
