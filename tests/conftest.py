"""Shared fixtures: small real images (scikit-image photographs, resized) and a quiet torch."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest-xdist's workers (`-n 2`) share the cores: one thread each, also for the CLI run in-process
    # (nstr.cli.main.main raises torch's count to every core unless OMP_NUM_THREADS is set) and for subprocesses.
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
else:
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def camera64() -> np.ndarray:
    """The camera photograph at 64x64, uint8: a real image small enough for quick fits."""
    import skimage.data
    from skimage.transform import resize

    return np.rint(resize(skimage.data.camera(), (64, 64), anti_aliasing=True) * 255).astype(np.uint8)


@pytest.fixture(scope="session")
def astronaut48() -> np.ndarray:
    import skimage.data
    from skimage.transform import resize

    return np.rint(resize(skimage.data.astronaut(), (48, 48), anti_aliasing=True) * 255).astype(np.uint8)
