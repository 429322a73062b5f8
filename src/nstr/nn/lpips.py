"""LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric"), AlexNet
variant v0.1, the ``lpips`` package's default: an optional image metric, computed only when its weights are on
disk (nothing downloads at run time).

The formula, as the ``lpips`` package computes it: both images in [-1, 1] are shifted and scaled per channel
(``SHIFT``, ``SCALE``), passed through AlexNet's convolutional trunk, and at each of its five ReLU outputs the
features are unit-normalised over channels, their squared difference weighted per channel by the learned
linear layer ``lin_k`` (a 1 x 1 convolution without bias), averaged over the positions and summed over layers.

Why written here rather than imported: the ``lpips`` package imports torchvision for the AlexNet trunk, and a
torchvision must be the build made for the installed torch (beside our CPU torch wheel, PyPI's fails to import:
"operator torchvision::nms does not exist"), a second heavy dependency for five convolutions. This module builds
the trunk in plain torch with torchvision's layer indices, so that the published weight files load unchanged.

Weights (both needed; ``find_weights``): ``alexnet-owt-7be5be79.pth``, torchvision's ImageNet AlexNet, and
``alex.pth``, LPIPS v0.1's linear layers (``lpips/weights/v0.1/alex.pth`` in the ``lpips`` package). They are
looked for in ``$NSTR_LPIPS_WEIGHTS`` (a folder) when it is set, else in ``<cache>/lpips`` (``$NSTR_CACHE``,
default ``~/.cache/nstr``), then where those packages leave them: torch's hub cache (``$TORCH_HOME``,
default ``~/.cache/torch``, ``hub/checkpoints``) for the AlexNet file and an installed ``lpips`` package for
``alex.pth``.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nstr.core.errors import NstrError
from nstr.core.io import cache_dir

ALEXNET_FILE, LINEAR_FILE = "alexnet-owt-7be5be79.pth", "alex.pth"
WEIGHTS_ENV = "NSTR_LPIPS_WEIGHTS"
#: Channels of AlexNet's five ReLU outputs, and the trunk's layer index after which each is taken.
CHANNELS = (64, 192, 384, 256, 256)
TAPS = (1, 4, 7, 9, 11)
#: LPIPS v0.1's input normalisation (its ``ScalingLayer``), on images in [-1, 1].
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
#: AlexNet's first convolution and two max-pools need images at least this many pixels on each side.
MIN_SIDE = 31
EPS = 1e-10
NOTE_MISSING = (f"LPIPS weights not found: put {ALEXNET_FILE} (torchvision's AlexNet) and {LINEAR_FILE} (lpips v0.1) "
                f"in ${WEIGHTS_ENV} or <cache>/lpips (see the README)")


def alexnet_trunk() -> nn.Sequential:
    """AlexNet's convolutional layers up to the fifth ReLU, indexed as torchvision's ``alexnet().features``."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
    )


class LPIPS(nn.Module):
    """d(x, y) for images [N, 3, H, W] in [0, 1] -> [N]; 0 for identical images. Randomly initialised until
    ``load`` reads the two weight files."""

    def __init__(self):
        super().__init__()
        self.features = alexnet_trunk()
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in CHANNELS)
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def load(self, alexnet: Path, linear: Path) -> LPIPS:
        """Read torchvision's AlexNet state dict (its ``features.*`` part) and LPIPS's ``lin{k}.model.1.weight``."""
        trunk = _state(alexnet)
        self.features.load_state_dict({k[len("features."):]: v for k, v in trunk.items() if k.startswith("features.")})
        heads = _state(linear)
        for k, lin in enumerate(self.lins):
            key = next((name for name in (f"lin{k}.model.1.weight", f"lin{k}.model.0.weight") if name in heads), None)
            if key is None:
                raise NstrError(f"'{linear}' has no lin{k}.model.1.weight: it is not LPIPS v0.1's alex.pth")
            lin.weight.copy_(heads[key])
        return self

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        total = x.new_zeros(x.shape[0])
        for fx, fy, lin in zip(self.taps(x), self.taps(y), self.lins, strict=True):
            diff = (unit_channels(fx) - unit_channels(fy)) ** 2
            total = total + lin(diff).mean(dim=(1, 2, 3))
        return total

    def taps(self, image: torch.Tensor) -> list[torch.Tensor]:
        """The five ReLU outputs of the trunk for images in [0, 1]."""
        h = ((image * 2 - 1) - self.shift) / self.scale
        outputs = []
        for index, layer in enumerate(self.features):
            h = layer(h)
            if index in TAPS:
                outputs.append(h)
        return outputs


def unit_channels(features: torch.Tensor) -> torch.Tensor:
    """Features [N, C, H, W] divided by their norm over channels at each position (lpips' ``normalize_tensor``)."""
    return features / (features.pow(2).sum(dim=1, keepdim=True).sqrt() + EPS)


def _state(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError... for bad files
        raise NstrError(f"'{path}' could not be read as PyTorch weights ({type(exc).__name__}); replace it") from None
    if not isinstance(state, dict):
        raise NstrError(f"'{path}' does not hold a state dict of weights; replace it")
    return state


def find_weights() -> tuple[Path, Path] | None:
    """(AlexNet file, linear-layer file) where the module docstring says, or None when either is missing."""
    explicit = os.environ.get(WEIGHTS_ENV)
    if explicit:
        folders = [Path(explicit)]
        alexnet_places, linear_places = folders, folders
    else:
        folders = [cache_dir() / "lpips"]
        alexnet_places = [*folders, Path(torch.hub.get_dir()) / "checkpoints"]
        linear_places = [*folders, *_lpips_package_weights()]
    alexnet = next((f / ALEXNET_FILE for f in alexnet_places if (f / ALEXNET_FILE).is_file()), None)
    linear = next((f / LINEAR_FILE for f in linear_places if (f / LINEAR_FILE).is_file()), None)
    return None if alexnet is None or linear is None else (alexnet, linear)


def _lpips_package_weights() -> list[Path]:
    """The v0.1 weights folder of an installed ``lpips`` package, found without importing it (its import needs
    torchvision)."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(location) / "weights" / "v0.1" for location in spec.submodule_search_locations]


@lru_cache(maxsize=4)
def _network(alexnet: Path, linear: Path) -> LPIPS:
    with torch.device("cpu"):  # the metric runs on the host, whatever torch's default device is
        return LPIPS().load(alexnet, linear)


def lpips_metric(pred: np.ndarray, target: np.ndarray) -> dict[str, float | str | None]:
    """``{"lpips": mean distance}`` between image stacks [N, H, W, C] (or one image [H, W, C]) in [0, 1], on the
    CPU; ``{"lpips": None, "lpips_note": why}`` when the weights are missing or the images are too small. Grey
    images are repeated to three channels; a fourth (alpha) channel is left out."""
    weights = find_weights()
    if weights is None:
        return {"lpips": None, "lpips_note": NOTE_MISSING}
    return lpips_with(_network(*weights), pred, target)


def lpips_with(network: LPIPS, pred: np.ndarray, target: np.ndarray) -> dict[str, float | str | None]:
    """``lpips_metric`` through a given network (tests pass randomly initialised ones)."""
    pred, target = (np.asarray(a, dtype=np.float32) for a in (pred, target))
    if pred.ndim == 3:
        pred, target = pred[None], target[None]
    if min(pred.shape[1:3]) < MIN_SIDE:
        return {"lpips": None, "lpips_note": f"LPIPS needs images of at least {MIN_SIDE} x {MIN_SIDE} pixels"}
    with torch.no_grad():
        scores = network(_rgb(pred), _rgb(target))
    return {"lpips": float(scores.mean())}


def _rgb(images: np.ndarray) -> torch.Tensor:
    """[N, H, W, C] in [0, 1] -> [N, 3, H, W]: grey repeated, alpha dropped."""
    colour = images[..., :3] if images.shape[-1] >= 3 else np.repeat(images[..., :1], 3, axis=-1)
    return torch.from_numpy(np.ascontiguousarray(colour)).permute(0, 3, 1, 2).clamp(0, 1)
