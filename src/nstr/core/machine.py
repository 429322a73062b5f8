"""The machine and library versions a result was measured with (stored with every run and benchmark cell)."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import skimage
import torch


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_capability() -> str:
    """The instruction set torch's CPU kernels dispatch to ("AVX512", "AVX2", "DEFAULT" ...): two hosts with the
    same CPU name can differ here, and with it the speed of every matrix product (a wall-time budget buys a
    different number of steps), so results record it."""
    return torch.backends.cpu.get_cpu_capability()


def environment() -> dict[str, Any]:
    """Machine and library versions, stored with every run and benchmark result."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-image": skimage.__version__,
        "machine": platform.machine(),
        "processor": cpu_model(),
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": cpu_capability(),
    }
