"""Which ray sampler suits a CPU? The occupancy march against the importance sampler at equal training time.

The hash-grid radiance field is fitted to the built-in analytic scene (``nstr fit analytic``) for ``--seconds``
with each sampler (seed 0, the scene's fit defaults); reported: test PSNR, steps and training rays per second. The
importance sampler evaluates the field at every one of its coarse and fine samples; the march skips empty
occupancy cells, so it evaluates far fewer per ray.

    .venv/bin/python benchmarks/nerf_sampler.py [--model hashgrid] [--seconds 60] [--threads 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from nstr.bench.report import script_command, write_result
from nstr.models import build_model
from nstr.signals.scene.signal import Scene
from nstr.train.fit import fit

SAMPLERS = ("occupancy", "importance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hashgrid")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/nerf_sampler.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    scene = Scene("analytic", orbit_frames=0)
    name = Scene.model_name(args.model)
    rows = []
    for sampler in SAMPLERS:
        torch.manual_seed(0)
        model = build_model(name, 6, 3, **{**scene.model_defaults(name), "sampler": sampler})
        metrics = fit(scene, model, max_seconds=args.seconds, quiet=True).metrics
        rows.append({"model": name, "sampler": sampler, "psnr": round(metrics["psnr"], 2), "steps": metrics["steps"],
                     "rays_per_second": round(metrics["rays_per_second"]),
                     "train_seconds": round(metrics["train_seconds"], 1)})
        print(rows[-1], flush=True)
    write_result(args.out, "nerf_sampler", "Ray samplers at equal training time",
                 f"{name} fitted for {args.seconds:g} s with {args.threads} threads to the built-in analytic scene, "
                 "seed 0, once with each sampler; test PSNR in dB.",
                 script_command("nerf_sampler.py", vars(args)), rows)


if __name__ == "__main__":
    main()
