"""FreSh against the default value and a full grid search, at equal training budgets.

For each signal: SIREN trained with the default omega0 (30), with FreSh's choice among the candidates,
and with every candidate (the grid search, whose best is the reference). Reports PSNR of each, the
selection time against the grid search's total training time (the paper's cost claim).

    .venv/bin/python benchmarks/fresh_bench.py [--seconds 15] [--size 128] [--signals camera,astronaut]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import nstr
from nstr.bench.report import write_result
from nstr.fresh import select
from nstr.models import build_model

CANDIDATES = (10.0, 20.0, 30.0, 50.0, 70.0, 100.0, 150.0, 200.0)
DEFAULT = 30.0


def train(image: nstr.Image, omega0: float, seconds: float) -> tuple[float, float]:
    """(PSNR, training seconds) of SIREN with ``omega0`` after ``seconds`` of full-batch training."""
    torch.manual_seed(0)
    model = build_model("siren", image.in_dim, image.out_dim, omega0=omega0)
    metrics = nstr.fit(image, model, max_seconds=seconds, batch_size=0, eval_every=50, quiet=True).metrics
    return metrics["psnr"], metrics["train_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--signals", default="camera,astronaut")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/fresh_bench.json"))
    args = parser.parse_args()
    rows = []
    for name in args.signals.split(","):
        image = nstr.Image(name, resize=(args.size, args.size))
        start = time.perf_counter()
        chosen = select(image, "siren", "omega0", CANDIDATES, inits=10, n=64).best.value
        selection_seconds = time.perf_counter() - start
        grid = {value: train(image, value, args.seconds) for value in CANDIDATES}
        best = max(grid, key=lambda v: grid[v][0])
        grid_seconds = sum(seconds for _, seconds in grid.values())
        rows.append({
            "signal": name, "default omega0": DEFAULT, "default psnr": grid[DEFAULT][0],
            "FreSh omega0": chosen, "FreSh psnr": grid[chosen][0],
            "grid-search omega0": best, "grid-search psnr": grid[best][0],
            "FreSh gain (dB)": grid[chosen][0] - grid[DEFAULT][0],
            "selection s": selection_seconds, "grid-search s": grid_seconds,
            "cost cut (x)": grid_seconds / (selection_seconds + grid[chosen][1]),
        })
        print({k: round(v, 2) if isinstance(v, float) else v for k, v in rows[-1].items()}, flush=True)
    write_result(
        args.out, "fresh_bench", f"FreSh: SIREN omega0 on {args.size}x{args.size} images, {args.seconds:g} s fits",
        (f"Candidates {', '.join(f'{v:g}' for v in CANDIDATES)}; each trained full batch for {args.seconds:g} s. "
         "Cost cut: grid-search training time over (FreSh selection + one training)."),
        f".venv/bin/python benchmarks/fresh_bench.py --seconds {args.seconds:g} --size {args.size} "
        f"--signals {args.signals}",
        rows,
    )


if __name__ == "__main__":
    main()
