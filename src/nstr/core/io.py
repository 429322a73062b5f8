"""Files that are never seen half-written: atomic writes (a temporary sibling renamed into place) and JSON."""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from nstr.core.errors import NstrError


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` only if the block completes, so a
    reader (or a crash) never sees a half-written file. For writers that need a file name (soundfile)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files owner-only; results get the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's file-creation mask (read by setting and restoring it: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that a reader (or a crash) never sees it half-written."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_npy(path: Path, array: np.ndarray) -> None:
    """Write an array as a .npy file (exact dtype and shape), atomically."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    write_atomic(path, buffer.getvalue())


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, (json.dumps(obj, indent=2, default=_json_default, allow_nan=True) + "\n").encode())


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in JSON")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise NstrError(f"'{path}' is missing: is this a run directory written by 'nstr fit'?") from None
    except json.JSONDecodeError as exc:
        raise NstrError(f"'{path}' is not valid JSON ({exc})") from None


def cache_dir() -> Path:
    """Where generated built-in inputs (scenes, shapes) are kept: $NSTR_CACHE, default ~/.cache/nstr."""
    return Path(os.environ.get("NSTR_CACHE") or Path.home() / ".cache" / "nstr")
