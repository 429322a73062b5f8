"""Fast untrained forward passes for FreSh: batched, the wide products in bfloat16 where it is safe."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# ----------------------------------------------------------------------------- batched untrained forwards

Forward = Callable[[torch.Tensor], torch.Tensor]
#: Model class name -> builder of a fast forward ``fn(model, dtype) -> (x -> y) or None``.
FAST_FORWARDS: dict[str, Callable[[nn.Module, torch.dtype], Forward | None]] = {}


def fast_forward(class_name: str):
    """Register a fast inference forward for a model class (by class name, so no import cycle).

    The builder returns ``None`` when it does not recognise the model's structure, and :func:`select`
    then falls back to the model's own forward in float32. A builder must keep the first (coordinate)
    layer in float32 and may run the wide hidden matrix products in ``dtype``.
    """

    def add(builder: Callable[[nn.Module, torch.dtype], Forward | None]):
        FAST_FORWARDS[class_name] = builder
        return builder

    return add


def _sin_(h: torch.Tensor) -> torch.Tensor:
    """In-place sine; float32 through numpy's SIMD sine (measured 2.4x torch's on this CPU, same accuracy)."""
    if h.dtype == torch.float32 and h.device.type == "cpu" and h.is_contiguous():
        array = h.numpy()
        np.sin(array, out=array)
        return h
    return h.sin_()


def _linear_chain(layers: list[tuple[torch.Tensor, torch.Tensor]], dtype: torch.dtype,
                  activation: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """h -> activation(h W + b) for each (W^T, b) in ``layers``, in ``dtype``; returns float32."""
    cast = [(w.to(dtype).contiguous(), b.to(dtype)) for w, b in layers]

    def run(h: torch.Tensor) -> torch.Tensor:
        h = h.to(dtype)
        for w, b in cast:
            h = activation(torch.addmm(b, h, w))
        return h.float()

    return run


@fast_forward("SIREN")
def _siren_forward(model: nn.Module, dtype: torch.dtype) -> Forward | None:
    """SIREN with each omega folded into its layer: sin(x (omega W)^T + omega b), one addmm + in-place sin."""
    sines, omegas, last = getattr(model, "sines", None), getattr(model, "omegas", None), getattr(model, "last", None)
    if not isinstance(sines, nn.ModuleList) or omegas is None or not isinstance(last, nn.Linear):
        return None
    folded = [((layer.weight * w).t().contiguous(), layer.bias * w) for layer, w in zip(sines, omegas, strict=True)]
    (w0, b0), hidden = folded[0], _linear_chain(folded[1:], dtype, _sin_)
    wl, bl = last.weight.t().contiguous(), last.bias

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(bl, hidden(_sin_(torch.addmm(b0, x, w0))), wl)

    return run


@fast_forward("FourierMLP")
def _ffn_forward(model: nn.Module, dtype: torch.dtype) -> Forward | None:
    """Fourier features in float32, then the MLP's hidden Linear layers in ``dtype``, the last in float32."""
    encoding, mlp = getattr(model, "encoding", None), getattr(model, "mlp", None)
    if encoding is None or not isinstance(mlp, nn.Sequential):
        return None
    modules = list(mlp)
    linears = [m for m in modules if isinstance(m, nn.Linear)]
    acts = {type(m) for m in modules if not isinstance(m, nn.Linear)}
    if len(acts) != 1 or not isinstance(modules[-1], nn.Linear) or len(modules) != 2 * len(linears) - 1:
        return None
    act = modules[1]
    if isinstance(act, nn.ReLU):
        activation = torch.relu_
    elif isinstance(act, nn.GELU):
        def activation(h: torch.Tensor, approximate: str = act.approximate) -> torch.Tensor:
            return F.gelu(h, approximate=approximate)
    else:
        return None
    hidden = _linear_chain([(m.weight.t(), m.bias) for m in linears[:-1]], dtype, activation)
    wl, bl = linears[-1].weight.t().contiguous(), linears[-1].bias

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(bl, hidden(encoding(x)), wl)

    return run


def forward_for(model: nn.Module, precision: str) -> tuple[Forward, str]:
    """The fastest available forward of ``model`` and the precision it actually runs in."""
    builder = FAST_FORWARDS.get(type(model).__name__)
    dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
    with torch.no_grad():
        fast = builder(model, dtype) if builder is not None else None
    if fast is not None:
        return fast, precision
    return model, "float32"


class _Workers:
    """Run independent forward passes on ``workers`` threads, each with one torch thread.

    Whole models in parallel rather than each product split across threads: on a shared 2-core machine
    the split products wait for each other at every barrier (measured 4-5x slower under load). The
    models are built beforehand in the calling thread, since torch's global RNG is not thread-safe.

    ``torch.set_num_threads`` is not private to the worker: it also sets the process-wide count that every
    thread started later (and any thread's first parallel op) takes, and the shared intra-op pools. So the
    caller's count is read on entry and set again on exit, after the workers have finished.
    """

    def __init__(self, workers: int | None):
        self.workers = max(1, workers if workers is not None else torch.get_num_threads())
        self.pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> _Workers:
        self.caller_threads = torch.get_num_threads()
        if self.workers > 1:
            self.pool = ThreadPoolExecutor(self.workers, initializer=torch.set_num_threads, initargs=(1,))
        return self

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> Iterator[Any]:
        return self.pool.map(fn, items) if self.pool is not None else map(fn, items)

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
            torch.set_num_threads(self.caller_threads)


@torch.inference_mode()
def evaluate(forward: Forward, x: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """``forward`` over ``x`` [N, d] in chunks (activations stay in cache), float32 [N, out]."""
    return torch.cat([forward(x[i : i + chunk]).float() for i in range(0, x.shape[0], chunk)])


