"""``nstr bench perf``: how fast each model trains, and how close a step comes to the machine's GEMM rate.

For every registered model sized to the same parameter budget on a 2-D, 3-channel signal, time training
steps (Adam, the library's own ``training_step``) on a fixed batch of random coordinates, after warm-up,
and count each step's floating-point work with ``torch.utils.flop_counter.FlopCounterMode`` (matrix
products and the like; gathers and elementwise work are not counted, so grid models show a low fraction
by construction), and the frames per second of decoding a whole 768 x 512 image. Also: the cost of NSTR's
transport and smoothness terms per step (the NSTR issue caps it at 1.6x a step without them), the canonical
SIREN step against the siren-pytorch package (``nstr.bench.siren_step``, also at --precision bf16), and what
--precision bf16 does to step time and quality after the same number of steps (``precision_rows``: fits of the
gray 256x256 camera, full batch). Results are standalone JSON files the report renders.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from nstr.bench import siren_step
from nstr.bench.report import write_result
from nstr.bench.siren_step import matmul_rate
from nstr.bench.sizing import size_model
from nstr.core.device import module_device
from nstr.models import MODELS, build_model
from nstr.models.base import Field
from nstr.render.image_grid import pixel_centres
from nstr.signals import Image
from nstr.train.fit import _optimizer, fit, training_step

BATCH = 16_384
TARGET_PARAMS = 300_000
#: NSTR's regularisers at the paper's transport weight, and a smoothness weight.
REGULARISED = {"lambda_pde": 0.1, "lambda_smooth": 0.01}
#: The precision comparison: these models (the paper's four) at these precisions, on this image.
PRECISION_MODELS = ("siren", "ffn", "hashgrid", "nstr")
PRECISIONS = ("fp32", "bf16")
PRECISION_IMAGE, PRECISION_SIDE, PRECISION_STEPS = "camera", 256, 300
#: (H, W) of the whole image whose decoding is timed: a Kodak photograph's.
DECODE_SIZE = (512, 768)


def _batch(out_dim: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH, 2, generator=generator) * 2 - 1
    return x, torch.rand(BATCH, out_dim, generator=generator) * 2 - 1


def time_steps(model_name: str, options: dict[str, Any], repeats: int = 10, warmup: int = 3) -> dict[str, float]:
    """Seconds per training step and FLOPs per step of one model on the fixed batch."""

    torch.manual_seed(0)
    model = build_model(model_name, 2, 3, **options)
    step = training_step(model, _optimizer(model, model.default_lr))
    x, y = _batch()
    for _ in range(warmup):
        step(x, y)
    with FlopCounterMode(display=False) as counter:
        step(x, y)
    start = time.perf_counter()
    for _ in range(repeats):
        step(x, y)
    seconds = (time.perf_counter() - start) / repeats
    return {"params": model.num_params(), "seconds_per_step": seconds, "flops": float(counter.get_total_flops()),
            "decode_seconds": decode_seconds(model),
            "products": _products(model, x)}


def decode_seconds(model: Field, height: int = DECODE_SIZE[0], width: int = DECODE_SIZE[1], repeats: int = 3
                   ) -> float:
    """Seconds to decode a whole (H, W) image with ``model.predict``, what ``nstr render`` does before writing the
    file (after one warm-up decode)."""
    x = pixel_centres(height, width, device=module_device(model))
    model.predict(x)
    start = time.perf_counter()
    for _ in range(repeats):
        model.predict(x)
    return (time.perf_counter() - start) / repeats


def _products(model: torch.nn.Module, x: torch.Tensor) -> str:
    """The dtype of the model's matrix products in training: float32, or bf16 for a DINR whose vector field
    runs in bf16 (``field_precision``; its GEMM fraction is then of the float32 rate it does not run at)."""
    field_dtype = getattr(model, "field_dtype", None)
    dtype = field_dtype(x, training=True) if field_dtype is not None else x.dtype
    return "bf16 (vector field)" if dtype == torch.bfloat16 else str(dtype).removeprefix("torch.")


def model_rows(models: list[str], rate: float) -> list[dict[str, Any]]:
    """One row per model at about ``TARGET_PARAMS`` parameters."""
    rows = []
    for name in models:
        options, _ = size_model(name, 2, 3, TARGET_PARAMS)
        timing = time_steps(name, options)
        rows.append({
            "model": name, "params": timing["params"], "ms_per_step": timing["seconds_per_step"] * 1e3,
            "samples_per_second": BATCH / timing["seconds_per_step"], "gflop_per_step": timing["flops"] / 1e9,
            "gemm_fraction": timing["flops"] / timing["seconds_per_step"] / rate,
            "decode_fps_768x512": 1 / timing["decode_seconds"],
            "products": timing["products"],
        })
        print(f"{name:<14} {rows[-1]['ms_per_step']:8.1f} ms/step  {rows[-1]['samples_per_second']:>10,.0f} samples/s"
              f"  {rows[-1]['gemm_fraction']:.1%} of GEMM", flush=True)
    return rows


def regulariser_cost() -> dict[str, float]:
    """ms per step of the default NSTR with and without the transport + smoothness terms, and the ratio."""
    off = time_steps("nstr", {})["seconds_per_step"]
    on = time_steps("nstr", REGULARISED)["seconds_per_step"]
    return {"ms_without": off * 1e3, "ms_with": on * 1e3, "ratio": on / off}


def precision_rows(models: list[str], steps: int, side: int = PRECISION_SIDE,
                   target_params: int = TARGET_PARAMS) -> list[dict[str, Any]]:
    """Each model (about ``target_params`` parameters) fitted ``steps`` full-batch steps to the gray camera at
    ``side`` x ``side`` from the same seed at every precision of ``PRECISIONS``: ms per step, final PSNR / SSIM and
    the change against fp32."""
    image = Image(PRECISION_IMAGE, resize=(side, side))
    rows = []
    for name in models:
        options, _ = size_model(name, image.in_dim, image.out_dim, target_params)
        reference = None
        for precision in PRECISIONS:
            torch.manual_seed(0)
            model = build_model(name, image.in_dim, image.out_dim, **options)
            metrics = fit(image, model, steps=steps, batch_size=0, eval_every=steps, precision=precision,
                          quiet=True).metrics
            row = {"model": name, "precision": precision, "params": metrics["params"], "steps": metrics["steps"],
                   "ms_per_step": metrics["seconds_per_step"] * 1e3, "psnr": metrics["psnr"], "ssim": metrics["ssim"]}
            reference = reference or row
            row.update(step_time_vs_fp32=row["ms_per_step"] / reference["ms_per_step"],
                       psnr_change_db=row["psnr"] - reference["psnr"], load_after=_load())
            rows.append(row)
            print(f"{name:<10} {precision}  {row['ms_per_step']:8.1f} ms/step  PSNR {row['psnr']:.2f} dB "
                  f"({row['psnr_change_db']:+.2f})", flush=True)
    return rows


def _load() -> float | None:
    """The 1-minute load average after a fit: other work on the machine makes its step time meaningless."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def run_precision(out: Path, models: list[str], steps: int, command: str) -> Path:
    """The precision comparison (``precision_rows``) stored at ``out``."""
    rows = precision_rows(models, steps)
    changes = "; ".join(f"{r['model']} {r['step_time_vs_fp32']:.2f}x the step time, {r['psnr_change_db']:+.2f} dB"
                        for r in rows if r["precision"] != "fp32")
    return write_result(
        out, "precision", f"--precision bf16 against fp32: step time and quality after {steps} steps",
        (f"Each model at about {TARGET_PARAMS:,} parameters fitted to the gray {PRECISION_SIDE}x{PRECISION_SIDE} "
         f"{PRECISION_IMAGE} for {steps} full-batch steps (the model's default learning rate, cosine schedule) from "
         "the same seed at each precision; ms_per_step is the fit's mean training time per step (eager, all "
         "torch threads), psnr / ssim are scored in float32 after the last step. bf16 autocasts the forward and "
         "loss (matrix products in bfloat16; encodings with large phases, weights, gradients and Adam's state "
         "in float32). load_after is the machine's 1-minute load average after each fit: above the number of "
         f"cores, other work shared them and that row's step time is not comparable. bf16 against fp32: {changes}."),
        command, rows, steps=steps,
    )


def run(out_dir: Path, models: list[str] | None = None, siren_steps: int = 30,
        precision_steps: int = PRECISION_STEPS) -> list[Path]:
    """Measure everything and write ``perf.json``, ``siren_step.json`` and (unless ``precision_steps`` is 0)
    ``precision.json`` into ``out_dir``."""
    chosen = models or [name for name, cls in MODELS.items() if _accepts_2d(cls)]
    rate = matmul_rate()
    rows = model_rows(chosen, rate)
    cost = regulariser_cost()
    print(f"NSTR transport + smoothness terms: {cost['ms_with']:.1f} against {cost['ms_without']:.1f} ms/step "
          f"({cost['ratio']:.2f}x; target <= 1.6x)", flush=True)
    command = "nstr bench perf" + (f" --models {','.join(models)}" if models else "") + (
        f" --precision-steps {precision_steps}" if precision_steps != PRECISION_STEPS else "")
    perf = write_result(
        Path(out_dir) / "perf.json", "perf", "Training speed per model (2-D, 3 channels, ~300k parameters)",
        (f"Adam steps on a fixed batch of {BATCH:,} random coordinates after warm-up, all torch threads; "
         f"decode_fps_768x512: whole {DECODE_SIZE[1]}x{DECODE_SIZE[0]} images per second from model.predict, as "
         "nstr render decodes before writing (untrained weights; the 2-D Gaussians spread evenly). "
         f"FLOPs counted by torch's FlopCounterMode (matrix products; gathers and elementwise work are not "
         f"counted), as a fraction of the measured {rate / 1e9:.0f} GFLOP/s fp32 matrix-multiply rate (DINR's "
         f"vector field multiplies in bf16 where the CPU does so natively: see products). "
         f"NSTR's transport + smoothness terms (lambda_pde 0.1, lambda_smooth 0.01) cost {cost['ratio']:.2f}x a "
         f"step without them ({cost['ms_with']:.1f} against {cost['ms_without']:.1f} ms; target <= 1.6x)."),
        command, rows, matmul_gflops=rate / 1e9, regulariser_cost=cost,
    )
    siren = siren_step.run(siren_steps, Path(out_dir) / "siren_step.json", command)
    if not precision_steps:
        return [perf, siren]
    compared = [m for m in PRECISION_MODELS if models is None or m in models] or list(models)
    return [perf, siren, run_precision(Path(out_dir) / "precision.json", compared, precision_steps, command)]


def _accepts_2d(cls) -> bool:
    try:
        cls(2, 3)
    except (ValueError, TypeError):
        return False
    return True
