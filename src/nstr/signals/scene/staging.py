"""All-or-nothing output folders: write into a hidden sibling, rename it into place only on success.

A scene is many files; a crash or Ctrl-C half way must not leave a folder that looks like a scene. The
staging folder sits beside the target (same file system, so the final rename is atomic) and is removed on
any failure; an existing target being replaced survives until the new one is complete. A cache entry
(``made_once``) is the same whoever makes it, so there the first complete one stays: processes that make it
at the same time (a benchmark's workers, parallel tests) never replace a folder another is reading.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nstr.core.errors import NstrError


def check_target(out: Path, overwrite: bool) -> None:
    """Refuse a file, or a non-empty folder unless ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise NstrError(f"'{out}' exists and is a file; choose a folder name")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise NstrError(f"'{out}' already exists and is not empty; choose another folder or pass --overwrite")


@contextmanager
def staged_directory(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``out``; when the block completes it becomes ``out`` (replacing
    an existing one, which ``check_target`` allows only if empty or ``overwrite``)."""
    out = Path(out)
    check_target(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = _sibling(out, "tmp")
    staging.mkdir()
    try:
        yield staging
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@contextmanager
def made_once(out: Path) -> Iterator[Path]:
    """Yield a private folder path beside ``out`` (not yet created) to make a cache entry in; when the block
    completes it becomes ``out``, unless another process completed ``out`` first: then it is removed and theirs
    stays. Removed on any failure."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    private = _sibling(out, "make")
    try:
        yield private
        try:
            os.rename(private, out)  # onto a missing or empty folder only: never replaces a complete entry
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _sibling(out: Path, tag: str) -> Path:
    return out.with_name(f".{out.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}")


def _swap_in(staging: Path, out: Path) -> None:
    if not out.exists():
        os.replace(staging, out)
        return
    old = _sibling(out, "old")
    os.replace(out, old)
    try:
        os.replace(staging, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
