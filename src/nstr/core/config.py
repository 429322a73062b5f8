"""Frozen option dataclasses: the one source of truth for an option's name, type, default and help.

Models (``nstr.models.ModelConfig``) and signal kinds (``Signal.Config``) declare their options as fields made
with ``option``; the command line generates its flags from them (``nstr.cli.options``) and runs record them
in config.json (``to_dict``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any


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
