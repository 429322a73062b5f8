"""Training precision: what ``--precision fp32|bf16|fp16`` means, and the places that stay float32 under it.

A fit at bf16 or fp16 runs its forward and loss under ``torch.autocast`` (``nstr.train.fit.training_step``):
matrix products take the lower precision, while weights, gradients and Adam's state stay float32, and
evaluation (``Field.predict``) runs outside autocast in float32. fp16 also scales the loss
(``torch.amp.GradScaler``) so small gradients do not flush to zero.

Some products feed a sine or a cosine with large arguments (a Fourier encoding's 2 pi B x, SIREN's first
layer at omega0 30, NSTR's basis phases): bfloat16 keeps 8 significant bits, so at 30 radians its spacing is
0.125 radians and the encoding would be noise. Those run inside ``full_precision(x)``, which turns autocast off on
x's device; outside autocast it changes nothing (the same ops on the same float32 tensors).
"""

from __future__ import annotations

import torch

#: --precision values and the autocast dtype of each (None: no autocast).
PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def full_precision(x: torch.Tensor) -> torch.autocast:
    """A context in which autocast is off on ``x``'s device: products of float32 inputs stay float32."""
    return torch.autocast(x.device.type, enabled=False)


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float32 if it is in a lower precision (bf16/fp16 from autocast); float64 stays float64."""
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The dtype autocast is running matrix products in on ``device`` now, or None when it is off."""
    if not torch.is_autocast_enabled(device.type):
        return None
    return torch.get_autocast_dtype(device.type)


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 matrices in hardware (AVX512-BF16 or AMX on a CPU, Ampere or later
    on CUDA): there bf16 products run about 3x the float32 rate (371 against 116 GFLOP/s on our 2-core EPYC);
    elsewhere they are emulated and slower than float32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":  # torch.cpu's probes are private but the only portable ones (cpuinfo underneath)
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    return False
