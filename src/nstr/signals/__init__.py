"""Signals: load a real signal, give its coordinates and normalised values, and write results back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nstr.errors import NstrError
from nstr.signals.base import Signal
from nstr.signals.image import BUILTIN_IMAGES, Image

__all__ = ["Signal", "Image", "BUILTIN_IMAGES", "load_signal"]


def load_signal(source: str | dict[str, Any], run_dir: Path | None = None, **options: Any) -> Signal:
    """A signal from a file path or built-in name (chosen by extension), or from a run's saved spec.

    Relative paths in a spec are relative to ``run_dir`` (data a run stored itself).
    """
    if isinstance(source, dict):
        if source.get("kind") != "image":
            raise NstrError(f"unknown signal kind '{source.get('kind')}' in the run's config.json")
        resize = tuple(source["resize"]) if source.get("resize") else None
        path = source["source"]
        if run_dir is not None and path not in BUILTIN_IMAGES and not Path(path).is_absolute():
            path = str(Path(run_dir) / path)
        return Image(path, resize=resize)
    return Image(source, **options)
