"""CPU speed settings that belong to the process, not to a model.

PyTorch's CPU allocator hands large tensors straight to glibc, which maps fresh pages with mmap and
returns them on free; every training step then page-faults its 64 MB activations in again. Raising
glibc's mmap and trim thresholds keeps freed blocks in the heap for reuse (see BENCHMARKS.md for the
measured effect on the SIREN step).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_tuned = False


def tune_allocator(mmap_threshold: int = 1 << 30, trim_threshold: int = 1 << 34) -> bool:
    """Keep large freed blocks for reuse (glibc only; a no-op elsewhere). Returns True when applied."""
    global _tuned
    if _tuned:
        return True
    if not sys.platform.startswith("linux") or os.environ.get("NSTR_NO_MALLOPT"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold) == 1
        ok = ok and libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold) == 1
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return False
    _tuned = ok
    return ok
