"""The signal registry: each kind (image, audio, shape, scene) registers itself; ``load_signal`` picks one
by the source's file suffix (or the kind's own ``accepts``), falling back to images, which also cover the
built-in photographs by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nstr.core.errors import NstrError
from nstr.signals.base import Signal

#: kind name -> Signal class, in registration order.
SIGNAL_KINDS: dict[str, type[Signal]] = {}


def register_signal(cls: type[Signal]) -> type[Signal]:
    """Class decorator that makes a signal kind loadable by suffix and from run directories."""
    if cls.kind in SIGNAL_KINDS:
        raise ValueError(f"signal kind '{cls.kind}' is already registered to {SIGNAL_KINDS[cls.kind].__name__}")
    SIGNAL_KINDS[cls.kind] = cls
    return cls


def signal_class(kind: str) -> type[Signal]:
    """The registered class of ``kind`` (as a run's config.json names it)."""
    if kind not in SIGNAL_KINDS:
        raise NstrError(f"unknown signal kind '{kind}' in the run's config.json")
    return SIGNAL_KINDS[kind]


def signal_kind(source: str | Path) -> type[Signal]:
    """The kind ``load_signal(source)`` would build, without loading anything: the first kind that accepts
    the source, else the fallback kind (images, which also know built-in names)."""
    fallback = [cls for cls in SIGNAL_KINDS.values() if cls.fallback]
    for cls in SIGNAL_KINDS.values():
        if not cls.fallback and cls.accepts(str(source)):
            return cls
    if not fallback:
        raise NstrError(f"no signal kind reads '{source}'")
    return fallback[0]


def load_signal(source: str | Path | dict[str, Any], run_dir: Path | None = None, **options: Any) -> Signal:
    """A signal from a file path or built-in name (chosen by extension), or from a run's saved spec.

    Relative paths in a spec are relative to ``run_dir`` (data a run stored itself).
    """
    if isinstance(source, dict):
        return signal_class(source.get("kind", "")).from_spec(source, run_dir)
    return signal_kind(source)(source, **options)
