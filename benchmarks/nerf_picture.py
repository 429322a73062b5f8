"""The README's radiance-field picture and the numbers under it, from one command a user can type.

Runs ``nstr fit analytic --model nstr --max-seconds 300`` (the built-in analytic scene, seed 0, the CLI's
defaults) into a temporary run directory, copies its ``test_views.png`` (test view, render, error, depth) to
``docs/nerf.png`` and stores the run's test PSNR / SSIM, steps, training rays per second and the training time at
which the validation rays first reached 25 dB, so the README's caption quotes a stored result.

    .venv/bin/python benchmarks/nerf_picture.py [--model nstr] [--seconds 300]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nstr.bench.ledger import time_to_reach
from nstr.bench.report import script_command, write_result

VAL_TARGET = 25.0  # dB on the validation rays: the caption says when the fit first passed it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="nstr")
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--picture", type=Path, default=Path("docs/nerf.png"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/nerf_picture.json"))
    args = parser.parse_args()
    command = ["fit", "analytic", "--model", args.model, "--max-seconds", f"{args.seconds:g}"]
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        nstr_cli = Path(sys.executable).parent / "nstr"  # the checkout's own CLI, beside this interpreter
        subprocess.run([str(nstr_cli), *command, "--out", str(run_dir)], check=True)
        metrics = json.loads((run_dir / "metrics.json").read_text())
        row = {"model": args.model, "psnr": round(metrics["psnr"], 2), "ssim": round(metrics["ssim"], 3),
               "steps": metrics["steps"], "rays_per_second": round(metrics["rays_per_second"]),
               "train_seconds": round(metrics["train_seconds"], 1),
               "seconds_to_val_25db": round(time_to_reach(metrics, VAL_TARGET), 1)}
        print(row, flush=True)
        # The result first: it records the checkout's state, which copying the tracked picture changes.
        write_result(args.out, "nerf_picture", "The README's radiance-field picture",
                     f"`nstr {' '.join(command)}` on the built-in analytic scene, seed 0, 2 cores; test PSNR (dB) "
                     f"and SSIM over the test views; seconds_to_val_25db: training time when the validation rays "
                     f"first reached {VAL_TARGET:g} dB. The picture is {args.picture}.",
                     script_command("nerf_picture.py", vars(args), omit=("out", "picture")), [row])
        args.picture.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run_dir / "test_views.png", args.picture)

if __name__ == "__main__":
    main()
