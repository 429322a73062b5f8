"""Signals: load a real signal, give its coordinates and normalised values, and write results back.

Each kind (image, audio, ...) registers itself here; ``load_signal`` picks one by file suffix (or the kind's
own ``accepts``), falling back to images, which also cover the built-in photographs by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nstr.errors import NstrError
from nstr.signals.base import Signal
from nstr.signals.image import BUILTIN_IMAGES, Image

__all__ = ["Signal", "Image", "BUILTIN_IMAGES", "SIGNAL_KINDS", "register_signal", "load_signal", "signal_class",
           "signal_kind"]

#: kind name -> Signal class, in the order ``load_signal`` tries them (images last: the fallback).
SIGNAL_KINDS: dict[str, type[Signal]] = {}


def register_signal(cls: type[Signal]) -> type[Signal]:
    """Class decorator that makes a signal kind loadable by suffix and from run directories."""
    if cls.kind in SIGNAL_KINDS:
        raise ValueError(f"signal kind '{cls.kind}' is already registered to {SIGNAL_KINDS[cls.kind].__name__}")
    SIGNAL_KINDS[cls.kind] = cls
    return cls


def signal_class(kind: str) -> type[Signal]:
    if kind not in SIGNAL_KINDS:
        raise NstrError(f"unknown signal kind '{kind}' in the run's config.json")
    return SIGNAL_KINDS[kind]


def signal_kind(source: str | Path) -> type[Signal]:
    """The kind ``load_signal(source)`` would build, without loading anything."""
    for cls in SIGNAL_KINDS.values():
        if cls is not Image and cls.accepts(str(source)):
            return cls
    return Image


def load_signal(source: str | Path | dict[str, Any], run_dir: Path | None = None, **options: Any) -> Signal:
    """A signal from a file path or built-in name (chosen by extension), or from a run's saved spec.

    Relative paths in a spec are relative to ``run_dir`` (data a run stored itself).
    """
    if isinstance(source, dict):
        return signal_class(source.get("kind", "")).from_spec(source, run_dir)
    return signal_kind(source)(source, **options)


register_signal(Image)

from nstr.signals.audio import Audio  # noqa: E402  (after the registry it joins)

register_signal(Audio)

from nstr.signals.sdf import SDF  # noqa: E402  (after the registry it joins)

register_signal(SDF)

from nstr.signals.scene import Scene  # noqa: E402  (after the registry it joins)

register_signal(Scene)
