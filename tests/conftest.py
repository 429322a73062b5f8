"""Shared fixtures: small real images (scikit-image photographs, resized) and a quiet torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

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
