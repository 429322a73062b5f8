"""Frozen option dataclasses: the one source of truth for an option's name, type, default and help.

Models (``nstr.models.ModelConfig``) and signal kinds (``Signal.Config``) declare their options as fields made
with ``option``; the command line generates its flags from them (``nstr.cli.options``) and runs record them
in config.json (``to_dict``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from nstr.core.errors import NstrError

#: Field types a value written in a file is checked against (others are left to the class to check).
PLAIN_TYPES = (bool, int, float, str)


def option(default: Any, help: str, *, flag: str | None = None, choices: Sequence[str] | None = None,
           parse: Callable[[str], Any] | None = None, metavar: str | None = None, cli: bool = True) -> Any:
    """A config field with the help text the CLI shows for it.

    ``flag``: the command-line name when it differs from the field's (``--sdf-loss`` for a shape's ``loss``);
    ``choices``: the values allowed (shown in help, checked by the CLI); ``parse``: turns command-line text into
    the value (``"32x24"`` -> ``(24, 32)``), raising ``NstrError``; ``metavar``: how help shows the value;
    ``cli=False``: no command-line flag (set from Python or a run's spec only).
    """
    metadata = {"help": help, "flag": flag, "choices": tuple(choices) if choices else None, "parse": parse,
                "metavar": metavar, "cli": cli}
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Config:
    """Base of option dataclasses; each field's ``help`` becomes the CLI option's help."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def option_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        """The config of the fields ``values`` holds (others keep their defaults; unknown keys are ignored),
        as a run's config.json stores them."""
        names = set(cls.option_names())
        return cls(**{k: v for k, v in values.items() if k in names})


def flag_name(f: dataclasses.Field) -> str:
    """The command-line name of a config field, without dashes in front: ``max_res`` -> ``max-res``."""
    return f.metadata.get("flag") or f.name.replace("_", "-")


def cli_fields(config: type[Config]) -> list[dataclasses.Field]:
    """The fields of ``config`` that have a command-line flag."""
    return [f for f in fields(config) if f.metadata.get("cli", True)]


def _plain_types(hint: Any) -> tuple[type, ...] | None:
    """The types a field of type ``hint`` takes when they are all plain (``int | None`` -> (int, NoneType));
    None for other fields (tuples, nested settings)."""
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    args = typing.get_args(hint) if union else (hint,)
    if not all(a in PLAIN_TYPES or a is type(None) for a in args):
        return None
    return args


def checked_values(cls: type, values: dict[str, Any], where: str) -> dict[str, Any]:
    """``values`` for fields of the dataclass ``cls`` as a file gives them, checked: unknown names and values of
    the wrong plain type are one-line errors naming ``where``. An int is taken for a float, and so is text that
    reads as a number (YAML 1.1 reads ``1e-4`` as text); a bool is not taken for a number."""
    hints = typing.get_type_hints(cls)
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise NstrError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}")
    checked = {}
    for name, value in values.items():
        allowed = _plain_types(hints[name])
        if allowed is not None:
            value = _as_number(value, allowed)
            if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
                names = " or ".join("null" if a is type(None) else a.__name__ for a in allowed)
                raise NstrError(f"{where}: {name} must be {names}, got {value!r}")
        checked[name] = value
    return checked


def _as_number(value: Any, allowed: tuple[type, ...]) -> Any:
    """A float field's value as a float when it is an int or text that reads as a number; else unchanged."""
    if float not in allowed or int in allowed or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value
