"""Signals: load a real signal, give its coordinates and normalised values, and write results back."""

from __future__ import annotations

from typing import Any

from nstr.errors import NstrError
from nstr.signals.base import Signal
from nstr.signals.image import BUILTIN_IMAGES, Image

__all__ = ["Signal", "Image", "BUILTIN_IMAGES", "load_signal"]


def load_signal(source: str | dict[str, Any], **options: Any) -> Signal:
    """A signal from a file path or built-in name (chosen by extension), or from a run's saved spec."""
    if isinstance(source, dict):
        if source.get("kind") != "image":
            raise NstrError(f"unknown signal kind '{source.get('kind')}' in the run's config.json")
        resize = tuple(source["resize"]) if source.get("resize") else None
        return Image(source["source"], resize=resize)
    return Image(source, **options)
