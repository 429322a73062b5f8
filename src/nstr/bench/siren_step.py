"""The canonical SIREN training step, ours against the siren-pytorch package, side by side.

256x256 gray `camera`, 3 hidden layers of 256, omega0 30, full batch (65,536 coordinates), Adam lr 1e-4,
float32, and the library's step at ``--precision bf16`` (autocast; float32 weights and Adam state). Each
variant runs in its own process (allocator settings are per process) for ``steps`` steps; the reported time
per step is the mean over all of them, compilation included. Also measures the machine's fp32 and bf16
matrix-multiply rates and the fraction of its precision's rate that each step achieves.

Part of ``nstr bench perf`` (``nstr.bench.perf``); siren-pytorch comes with the ``dev`` extra.
"""

from __future__ import annotations

import importlib.util
import multiprocessing as mp
import time
from pathlib import Path

import torch
from torch import nn

from nstr.bench.report import write_result
from nstr.core.allocator import tune_allocator
from nstr.core.errors import NstrError
from nstr.models import SIREN
from nstr.signals import Image
from nstr.train.fit import training_step

HIDDEN, LAYERS, SIDE = 256, 3, 256
VARIANTS = {
    "siren-pytorch SirenNet (eager)": "theirs",
    "nstr SIREN, eager": "eager",
    "nstr SIREN, eager + allocator reuse": "eager+alloc",
    "nstr SIREN, fit() step (compiled + allocator reuse)": "nstr-fit",
    "nstr SIREN, fit() step, bf16 (eager + allocator reuse)": "bf16",
    "nstr SIREN, fit() step, bf16 (compiled + allocator reuse)": "bf16-compiled",
}
#: The variants that train at --precision bf16.
BF16 = ("bf16", "bf16-compiled")


def step_flops() -> float:
    """Matrix-multiply FLOPs of one step: forward, and the weight and input gradients in backward."""
    n = SIDE * SIDE
    big = LAYERS * 2 * n * HIDDEN * HIDDEN  # the hidden x hidden layers
    small = 2 * n * 2 * HIDDEN + 2 * n * HIDDEN  # first (2 -> 256) and last (256 -> 1) layers
    return 3 * big + 2 * small  # forward 1x, backward 2x (first layer needs no input gradient)


def matmul_rate(dtype: torch.dtype = torch.float32, rows: int = SIDE * SIDE) -> float:
    """Measured GEMM rate (FLOP/s) in ``dtype`` on a step-sized product (``rows`` x HIDDEN by HIDDEN x HIDDEN),
    all threads."""
    a, w = torch.randn(rows, HIDDEN, dtype=dtype), torch.randn(HIDDEN, HIDDEN, dtype=dtype)
    out = torch.empty(rows, HIDDEN, dtype=dtype)
    for _ in range(3):
        torch.mm(a, w, out=out)
    start = time.perf_counter()
    for _ in range(20):
        torch.mm(a, w, out=out)
    return 20 * 2 * rows * HIDDEN * HIDDEN / (time.perf_counter() - start)


def _run(variant: str, steps: int, queue, side: int = SIDE) -> None:
    """Train ``variant`` for ``steps`` steps on camera at ``side`` x ``side``; put its timings on ``queue``."""
    torch.manual_seed(0)

    image = Image("camera", resize=(side, side))
    x, y = image.coords, image.values
    if variant == "theirs":
        from siren_pytorch import SirenNet  # optional (dev extra): the reference this benchmark compares with

        model = SirenNet(dim_in=2, dim_hidden=HIDDEN, dim_out=1, num_layers=LAYERS + 1, w0=30.0, w0_initial=30.0,
                         final_activation=nn.Identity())
    else:
        model = SIREN(2, 1, hidden=HIDDEN, layers=LAYERS, omega0=30.0)
    if variant in ("eager+alloc", "nstr-fit", *BF16):
        tune_allocator()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step() -> torch.Tensor:
        loss = torch.mean((model(x) - y) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    if variant in ("nstr-fit", *BF16):  # the library's own step
        step = training_step(model, optimizer, compile=variant != "bf16",  # noqa: F811
                             precision="bf16" if variant in BF16 else "fp32")
        run = lambda: step(x, y)  # noqa: E731
    else:
        run = step
    start = time.perf_counter()
    first = None
    for i in range(steps):
        loss = run()
        if i == 0:
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    final = loss["loss"] if isinstance(loss, dict) else float(loss.detach())
    queue.put({"seconds_per_step": total / steps, "first_step_seconds": first, "final_loss": final})


def run(steps: int, out: Path, command: str) -> Path:
    """Time every variant for ``steps`` steps and store the comparison at ``out``."""


    if importlib.util.find_spec("siren_pytorch") is None:
        raise NstrError("the SIREN comparison needs siren-pytorch: pip install -e '.[dev]' (or siren-pytorch==0.1.7)")
    rate, rate_bf16 = matmul_rate(), matmul_rate(torch.bfloat16)
    flops = step_flops()
    rows = []
    ctx = mp.get_context("spawn")
    for label, variant in VARIANTS.items():
        queue = ctx.Queue()
        proc = ctx.Process(target=_run, args=(variant, steps, queue))
        proc.start()
        proc.join()
        if proc.exitcode != 0:
            raise NstrError(f"SIREN step variant '{label}' failed (exit code {proc.exitcode})")
        result = queue.get()
        precision = "bf16" if variant in BF16 else "fp32"
        result.update(variant=label, precision=precision,
                      gemm_fraction=flops / result["seconds_per_step"] / (rate_bf16 if variant in BF16 else rate))
        rows.append(result)
        print(f"{label:<58} {result['seconds_per_step']:.3f} s/step  "
              f"(first step {result['first_step_seconds']:.1f} s)", flush=True)
    theirs = rows[0]["seconds_per_step"]
    for row in rows:
        row["relative_to_siren_pytorch"] = row["seconds_per_step"] / theirs
    best = min((r for r in rows[1:] if r["precision"] == "fp32"), key=lambda r: r["seconds_per_step"])
    best_bf16 = min((r for r in rows if r["precision"] == "bf16"), key=lambda r: r["seconds_per_step"])
    print(f"matmul rate {rate / 1e9:.0f} GFLOP/s fp32, {rate_bf16 / 1e9:.0f} bf16; step = {flops / 1e9:.1f} GFLOP; "
          f"floor {flops / rate:.3f} s fp32, {flops / rate_bf16:.3f} s bf16")
    return write_result(
        out, "siren_step", "SIREN canonical training step: nstr against siren-pytorch",
        (f"256x256 camera, 3 x 256 sine layers, omega0 30, full batch, Adam, mean of {steps} steps including "
         f"compilation; float32 unless the variant says bf16 (--precision bf16: autocast forward and loss, "
         f"float32 weights and Adam state; SIREN's first layer stays float32). Fastest float32 nstr variant: "
         f"{best['relative_to_siren_pytorch']:.2f}x siren-pytorch's step time, fastest bf16 variant: "
         f"{best_bf16['relative_to_siren_pytorch']:.2f}x (target <= 0.5x); final_loss compares quality after "
         f"the same steps. Matrix-multiply floor {flops / rate:.3f} s at the measured {rate / 1e9:.0f} GFLOP/s "
         f"float32, {flops / rate_bf16:.3f} s at {rate_bf16 / 1e9:.0f} GFLOP/s bfloat16; gemm_fraction is against "
         f"the rate of the variant's precision."),
        command, rows, steps=steps, step_gflop=flops / 1e9, matmul_gflops=rate / 1e9,
        matmul_gflops_bf16=rate_bf16 / 1e9, floor_seconds=flops / rate, floor_seconds_bf16=flops / rate_bf16,
        torch_threads=torch.get_num_threads(),
    )

