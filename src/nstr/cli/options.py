"""Click options generated from config dataclasses (``nstr.core.config``): models' and signal kinds'.

Every generated option defaults to None, so a command sees which options the user set and leaves the others to
the config's own defaults (or to a signal's ``model_defaults``); the help shows the config's default.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from dataclasses import MISSING
from typing import Any

import click

from nstr.core.config import Config, cli_fields, flag_name
from nstr.core.device import DEVICE_CHOICES
from nstr.core.errors import NstrError
from nstr.models import MODELS, model_class

_PLAIN = (bool, int, float, str)

#: ``--device`` of the commands that run a model (``nstr fit`` has its own, with the resume rule).
device_option = click.option("--device", default="auto", show_default=True, metavar="DEVICE",
                             help=f"where to run: {DEVICE_CHOICES} (auto: CUDA, then MPS, then the CPU)")


class ParsedText(click.ParamType):
    """A value written as text on the command line (``32x24``), turned into the config's value by ``parse``."""

    def __init__(self, parse: Callable[[str], Any], metavar: str | None):
        self.parse, self.name = parse, (metavar or "TEXT").lower()

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except NstrError as exc:
            self.fail(str(exc), param, ctx)


def value_type(hint: Any) -> type:
    """bool, int, float or str from a field's type hint (``int | None`` -> int; anything else is text)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next((a for a in typing.get_args(hint) if a is not type(None)), str)
    return hint if hint in _PLAIN else str


def _help(f: Any, default: Any) -> str:
    text = f.metadata.get("help", "")
    return text if default is None or default is MISSING else f"{text} [{default}]"


def config_params(config: type[Config], prefix: str = "") -> list[click.Option]:
    """One click option per command-line field of ``config``, named ``prefix + field`` (flag: ``--field-name``
    or the field's own ``flag``); a bool field becomes ``--x/--no-x``. All default to None (not given)."""
    hints = typing.get_type_hints(config)
    params = []
    for f in cli_fields(config):
        flag, kind, meta = "--" + flag_name(f), value_type(hints[f.name]), f.metadata
        help_text = _help(f, f.default)
        if kind is bool:
            params.append(click.Option([f"{flag}/--no-{flag[2:]}", prefix + f.name], default=None, help=help_text))
            continue
        if meta.get("choices"):
            kind = click.Choice(meta["choices"])
        elif meta.get("parse"):
            kind = ParsedText(meta["parse"], meta.get("metavar"))
        params.append(click.Option([flag, prefix + f.name], type=kind, default=None, metavar=meta.get("metavar"),
                                   help=help_text))
    return params


def flags_of(config: type[Config]) -> dict[str, bool]:
    """``--flag`` -> whether it takes a value (not a bool), for every command-line field of ``config``."""
    hints = typing.get_type_hints(config)
    return {"--" + flag_name(f): value_type(hints[f.name]) is not bool for f in cli_fields(config)}


def model_option_params() -> list[click.Option]:
    """One click option per field name across all models (for commands that take any model, ``nstr fresh``);
    the help lists each model's meaning and default."""
    merged: dict[str, tuple[Any, list[str]]] = {}
    for name, cls in sorted(MODELS.items()):
        hints = typing.get_type_hints(cls.Config)
        for f in cli_fields(cls.Config):
            _, helps = merged.setdefault(f.name, (value_type(hints[f.name]), []))
            helps.append(f"{name}: {_help(f, f.default)}")
    params = []
    for name, (kind, helps) in merged.items():
        flag = "--" + name.replace("_", "-")
        decls = [f"{flag}/--no-{flag[2:]}", name] if kind is bool else [flag, name]
        params.append(click.Option(decls, type=None if kind is bool else kind, default=None, help="; ".join(helps)))
    return params


def not_for_model(flags: list[str], model_name: str) -> NstrError:
    """The one-line error for model options that ``model_name`` does not have."""
    if len(flags) == 1:
        return NstrError(f"option {flags[0]} does not apply to model '{model_name}' (see nstr models)")
    return NstrError(f"options {', '.join(flags)} do not apply to model '{model_name}' (see nstr models)")


def chosen_model_options(model_name: str, given: dict[str, Any]) -> dict[str, Any]:
    """The options the user set, checked to belong to ``model_name``."""
    cls = model_class(model_name)
    chosen = {k: v for k, v in given.items() if v is not None}
    foreign = sorted(set(chosen) - set(cls.option_names()))
    if foreign:
        raise not_for_model(["--" + k.replace("_", "-") for k in foreign], model_name)
    return chosen
