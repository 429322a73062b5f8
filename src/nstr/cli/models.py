"""``nstr models``: every registered model and its options with defaults."""

from __future__ import annotations

from dataclasses import fields

import click

from nstr.core.config import flag_name
from nstr.models import MODELS


@click.command("models")
def models_command() -> None:
    """List the models and their options with defaults."""
    for name, cls in sorted(MODELS.items()):
        click.echo(f"{name}: {cls.__doc__.strip().splitlines()[0]}  (lr {cls.default_lr:g})")
        for f in fields(cls.Config):
            click.echo(f"    --{flag_name(f):<16} {f.default!s:<8} {f.metadata.get('help', '')}")
