"""NSTR's switches at equal wall time, against the same-size hash grid: what earns its keep?

Each variant is fitted to each signal for ``--seconds`` of training (all threads, one fit at a time) and
the final PSNR recorded; the same grid + MLP without sinusoids (compose=plain) and the transport term
at several weights answer the paper's claims directly. Also measures the cost of the transport and
smoothness terms per step at a fixed batch (target: at most 1.6x the step without them).

    .venv/bin/python benchmarks/nstr_ablation.py [--seconds 30] [--size 256] [--signals astronaut,camera]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import nstr
from nstr.bench.report import write_result
from nstr.models import build_model

VARIANTS: dict[str, tuple[str, dict]] = {
    "nstr (default: vector, lambda_pde 0)": ("nstr", {}),
    "nstr, sinusoids removed (compose=plain)": ("nstr", {"compose": "plain"}),
    "nstr, paper's scalar sum (compose=sum)": ("nstr", {"compose": "sum"}),
    "nstr, lambda_pde 0.01": ("nstr", {"lambda_pde": 0.01}),
    "nstr, lambda_pde 0.1 (paper)": ("nstr", {"lambda_pde": 0.1}),
    "nstr, lambda_pde 1": ("nstr", {"lambda_pde": 1.0}),
    "nstr, K 4": ("nstr", {"k": 4}),
    "nstr, K 64": ("nstr", {"k": 64}),
    "nstr, frozen basis": ("nstr", {"basis_learnable": False}),
    "nstr-paper (one 63x63x64 grid, lambda_pde 0.1)": ("nstr-paper", {}),
    "hashgrid, same table (2^13)": ("hashgrid", {"log2_table": 13, "max_res": 512}),
}


def step_cost(batch: int = 16384, repeats: int = 10) -> dict[str, float]:
    """ms per training step of the default NSTR with and without the transport + smoothness terms."""
    from nstr.fit import _optimizer, training_step

    x, y = torch.rand(batch, 2) * 2 - 1, torch.rand(batch, 3)
    times = {}
    for label, options in (("off", {}), ("on", {"lambda_pde": 0.1, "lambda_smooth": 0.01})):
        torch.manual_seed(0)
        model = build_model("nstr", 2, 3, **options)
        step = training_step(model, _optimizer(model, 1e-2))
        for _ in range(3):
            step(x, y)
        start = time.perf_counter()
        for _ in range(repeats):
            step(x, y)
        times[label] = (time.perf_counter() - start) / repeats * 1e3
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--signals", default="astronaut,camera")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/nstr_ablation.json"))
    args = parser.parse_args()
    rows = []
    for label, (name, options) in VARIANTS.items():
        for signal_name in args.signals.split(","):
            image = nstr.Image(signal_name, resize=(args.size, args.size))
            torch.manual_seed(0)
            model = build_model(name, image.in_dim, image.out_dim, **options)
            result = nstr.fit(image, model, max_seconds=args.seconds, eval_every=50, quiet=True)
            m = result.metrics
            rows.append({"variant": label, "signal": signal_name, "params": m["params"], "psnr": m["psnr"],
                         "ssim": m["ssim"], "steps": m["steps"], "ms_per_step": m["seconds_per_step"] * 1e3})
            print(f"{label:<50} {signal_name:<10} {m['psnr']:6.2f} dB  {m['steps']} steps", flush=True)
    cost = step_cost()
    ratio = cost["on"] / cost["off"]
    print(f"step with transport + smoothness terms: {cost['on']:.1f} ms against {cost['off']:.1f} ms ({ratio:.2f}x)")
    write_result(
        args.out, "nstr_ablation", f"NSTR ablation: {args.seconds:g} s per fit, {args.size}x{args.size} images",
        (f"Final PSNR at equal training time, default NSTR options except the named switch. "
         f"Transport + smoothness terms cost {ratio:.2f}x a step without them "
         f"({cost['on']:.1f} against {cost['off']:.1f} ms at batch 16,384)."),
        f".venv/bin/python benchmarks/nstr_ablation.py --seconds {args.seconds:g} --size {args.size} "
        f"--signals {args.signals}",
        rows, step_ms=cost,
    )


if __name__ == "__main__":
    main()
