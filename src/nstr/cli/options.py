"""CLI options generated from the model registry: one ``--name`` per config field across all models."""

from __future__ import annotations

import typing
from dataclasses import MISSING, fields
from typing import Any

import click

from nstr.core.errors import NstrError


def model_option_params() -> list[click.Option]:
    """One click option per model config field; help lists each model's meaning and default."""
    from nstr.models import MODELS

    merged: dict[str, tuple[Any, list[str]]] = {}
    for name, cls in sorted(MODELS.items()):
        hints = typing.get_type_hints(cls.Config)
        for f in fields(cls.Config):
            kind, helps = merged.setdefault(f.name, (hints[f.name], []))
            default = f.default if f.default is not MISSING else None
            helps.append(f"{name}: {f.metadata.get('help', '')} [{default}]")
    params = []
    for name, (kind, helps) in merged.items():
        flag = "--" + name.replace("_", "-")
        decls = [f"{flag}/--no-{flag[2:]}", name] if kind is bool else [flag, name]
        params.append(click.Option(decls, type=None if kind is bool else kind, default=None, help="; ".join(helps)))
    return params


def chosen_model_options(model_name: str, given: dict[str, Any]) -> dict[str, Any]:
    """The options the user set, checked to belong to ``model_name``."""
    from nstr.models import model_class

    cls = model_class(model_name)
    chosen = {k: v for k, v in given.items() if v is not None}
    foreign = sorted(set(chosen) - set(cls.option_names()))
    if foreign:
        flags = ", ".join("--" + k.replace("_", "-") for k in foreign)
        raise NstrError(f"option(s) {flags} do not apply to model '{model_name}' (see nstr models)")
    return chosen
