"""Names the CLI and benchmarks use for models: ``register("siren")(SIREN)``."""

from __future__ import annotations

from typing import Any

from nstr.core.errors import NstrError
from nstr.models.base import Field

MODELS: dict[str, type[Field]] = {}


def register(name: str):
    """Class decorator that makes a model available under ``name``."""

    def add(cls: type[Field]) -> type[Field]:
        if name in MODELS:
            raise ValueError(f"model name '{name}' is already registered to {MODELS[name].__name__}")
        MODELS[name] = cls
        cls.registry_name = name
        return cls

    return add


def model_class(name: str) -> type[Field]:
    if name not in MODELS:
        raise NstrError(f"unknown model '{name}': choose one of {', '.join(sorted(MODELS))}")
    return MODELS[name]


def build_model(name: str, in_dim: int, out_dim: int, **options: Any) -> Field:
    """Instantiate a registered model; bad option values (and a backend that is not installed) become one-line
    errors."""
    cls = model_class(name)
    unknown = set(options) - set(cls.option_names())
    if unknown:
        raise NstrError(f"model '{name}' has no option(s) {', '.join(sorted(unknown))}")
    try:
        return cls(in_dim, out_dim, **options)
    except (ValueError, TypeError, ImportError) as exc:
        raise NstrError(f"model '{name}': {exc}") from None
