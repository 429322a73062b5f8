"""Devices: what ``--device auto|cpu|cuda|cuda:N|mps`` (and ``device=`` in the Python API) means, and their names.

``resolve_device("auto")`` picks CUDA, then MPS, then the CPU; asking for a device that is not there is a
one-line ``NstrError`` (the CLI's exit code 2). ``device_name`` is what a run records next to the device: the
GPU's model, or the CPU's marketing name.

Everything the library creates takes its device from its inputs or the model (``module_device``); nothing
relies on the default device.
"""

from __future__ import annotations

import platform

import torch

from nstr.core.errors import NstrError
from nstr.core.machine import cpu_model

#: What ``--device`` accepts, for help texts and messages.
DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"
#: Accelerator device types (besides the CPU).
DEVICE_TYPES = ("cuda", "mps")
#: Share of a CUDA device's free memory a signal's tensors may take before they stay on the host (pinned) and
#: minibatches are streamed to the device instead.
DEVICE_MEMORY_SHARE = 0.5


def cuda_available() -> bool:
    return torch.cuda.is_available()


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """The device ``name`` asks for: "auto" (or None) is CUDA, then MPS, then the CPU; "cuda" is the current CUDA
    device. A device that is not present is a one-line NstrError that says what is."""
    if isinstance(name, torch.device):
        name = str(name)
    text = "auto" if name is None else str(name).strip().lower()
    if text == "auto":
        if cuda_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("mps") if mps_available() else torch.device("cpu")
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise NstrError(f"--device must be one of {DEVICE_CHOICES}, got '{name}'") from None
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type == "cuda":
        if not cuda_available():
            raise NstrError(f"--device {text}: no CUDA device is available here (torch {torch.__version__}"
                            f"{'' if torch.version.cuda else ', built without CUDA'}); use --device cpu or auto")
        count = torch.cuda.device_count()
        index = torch.cuda.current_device() if device.index is None else device.index
        if index >= count:
            raise NstrError(f"--device {text}: there are only {count} CUDA device(s) (cuda:0..cuda:{count - 1})")
        return torch.device("cuda", index)
    if device.type == "mps":
        if not mps_available():
            raise NstrError(f"--device {text}: Apple's MPS backend is not available here; use --device cpu or auto")
        return torch.device("mps")
    raise NstrError(f"--device must be one of {DEVICE_CHOICES}, got '{name}'")


def device_name(device: str | torch.device) -> str:
    """A human name for ``device``: the GPU's model ("NVIDIA A100-SXM4-40GB"), or the CPU's."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    return cpu_model()


def describe(device: str | torch.device) -> dict[str, str]:
    """``{"device": "cuda:0", "device_name": ...}``: what config.json, metrics.json and benchmark records keep."""
    device = torch.device(device)
    return {"device": str(device), "device_name": device_name(device)}


def module_device(module: torch.nn.Module) -> torch.device:
    """The device of a module's first parameter (or buffer); the CPU for a module with neither."""
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device("cpu")


def accumulation_dtype(device: torch.device) -> torch.dtype:
    """float64 for sums that must not lose small terms, except on MPS, which has no float64 (float32 there)."""
    return torch.float32 if device.type == "mps" else torch.float64


def fits_on(device: torch.device, nbytes: int) -> bool:
    """Whether ``nbytes`` of signal data may live on ``device``: always on the CPU and MPS (shared memory); on
    CUDA while it is at most ``DEVICE_MEMORY_SHARE`` of the device's free memory."""
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes <= DEVICE_MEMORY_SHARE * free


def same_device(a: torch.device, b: torch.device) -> bool:
    """``a`` and ``b`` are the same device ("cuda" and "cuda:0" are, when 0 is the current device)."""
    a, b = torch.device(a), torch.device(b)
    if a.type != b.type:
        return False
    if a.type != "cuda":
        return True
    current = torch.cuda.current_device() if cuda_available() else 0
    return (a.index if a.index is not None else current) == (b.index if b.index is not None else current)
