"""Which pictures of its internals each model class has: a writer registered per class, found through the
class's MRO so subclasses (NSTRPaper of NSTR) inherit their parent's pictures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import nn

#: writer(model, out_dir, shape) -> files written; ``shape`` is the signal's sample grid ((H, W), (N,) or ()).
PictureWriter = Callable[[nn.Module, Path, tuple[int, ...]], list[Path]]
WRITERS: dict[type, PictureWriter] = {}


def register_pictures(model_class: type) -> Callable[[PictureWriter], PictureWriter]:
    """Decorator: ``writer`` draws the internals of ``model_class`` and its subclasses."""

    def add(writer: PictureWriter) -> PictureWriter:
        WRITERS[model_class] = writer
        return writer

    return add


def write_pictures(model: nn.Module, out_dir: Path, shape: tuple[int, ...]) -> list[Path]:
    """Pictures of ``model``'s internals written into ``out_dir``; none for a model without a writer."""
    for cls in type(model).__mro__:
        if cls in WRITERS:
            return WRITERS[cls](model, Path(out_dir), shape)
    return []
