"""Progress bars for long work, and one switch that silences them all (a quiet fit, a benchmark worker).

Long loops anywhere in the library (rendering every test view, evaluating a field on a grid) wrap their
iterable in ``track``; work made of a few named parts shows them with ``Stages``. Both draw with tqdm (already
the fit's bar) on stderr, and draw nothing inside ``progress_shown(False)``: a fit with ``quiet=True`` sets
that around itself, so everything it calls stays quiet without each function taking a ``quiet`` argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

_shown: ContextVar[bool] = ContextVar("nstr_progress_shown", default=True)


@contextmanager
def progress_shown(shown: bool) -> Iterator[None]:
    """Show (True) or hide (False) every bar drawn inside the block; the setting before it comes back after."""
    token = _shown.set(shown)
    try:
        yield
    finally:
        _shown.reset(token)


def showing() -> bool:
    """Whether bars are drawn here (``progress_shown``)."""
    return _shown.get()


def bar(total: float | None = None, desc: str | None = None, leave: bool = True, **options) -> tqdm:
    """A tqdm bar on stderr that is disabled where progress is hidden."""
    return tqdm(total=total, desc=desc, leave=leave, disable=not showing(), dynamic_ncols=True, **options)


def track(items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """The items of ``items``, with a bar that disappears when the loop ends (it belongs to a larger task)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    progress = bar(total, desc, leave=False)
    try:
        for item in items:
            yield item
            progress.update(1)
    finally:
        progress.close()


class Stages:
    """One bar over the named parts of a piece of work: ``with stages.stage("metrics"): ...`` shows which part
    is running and counts the parts done."""

    def __init__(self, desc: str, total: int, leave: bool = False):
        self.bar = bar(total, desc, leave=leave, bar_format="{desc}: {n_fmt}/{total_fmt}{postfix} [{elapsed}]")

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.bar.set_postfix_str(name)
        try:
            yield
        finally:
            self.bar.update(1)

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
