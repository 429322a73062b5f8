"""Device check, for a machine with a CUDA GPU: the same fits on the GPU and on the CPU at equal wall time.

Fits an image (astronaut at 256 px), an audio clip (the built-in chirp), a mesh (the built-in part) and the
built-in analytic scene with the default model (nstr; nerf-nstr on the scene) for ``--seconds`` (30) each, once
on the GPU and once on the CPU, from the same seed. The GPU trains the same model for the same time, so its
quality (PSNR: on the image, the waveform, the shape's clamped distances, the scene's test views) must be at
least the CPU's (``--tolerance`` dB below allowed); prints both, the steps each made and the speed ratio (GPU
steps per second over the CPU's) per kind, and writes ``benchmarks/results/device_check.json``.

Exit status: 0 when every kind passes, 1 when one does not, 2 (one line) when there is no GPU. CI has no GPU:
this check only runs by hand where there is one:

    python benchmarks/device_check.py [--seconds 30] [--device cuda:1] [--backend auto]

About 4 x 2 x 30 s of training plus loading and the final metrics: 5-6 minutes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from nstr.bench.report import write_result
from nstr.core.device import device_name, resolve_device
from nstr.core.errors import NstrError
from nstr.models import build_model
from nstr.signals import load_signal
from nstr.train.fit import fit

#: kind -> (signal source, load options, model, fit settings)
KINDS = {
    "image": ("astronaut", {"resize": (256, 256)}, "nstr", {"batch_size": 1 << 16}),
    "audio": ("chirp", {}, "nstr", {"batch_size": 4096}),
    "mesh": ("part", {}, "nstr", {}),
    "scene": ("analytic", {}, "nerf-nstr", {"batch_size": 0}),
}


def run(kind: str, device: torch.device, seconds: float, backend: str) -> dict:
    """One fit of ``kind`` on ``device``: its quality, steps and steps per second."""
    source, load_options, model_name, settings = KINDS[kind]
    signal = load_signal(source, **load_options)  # a fresh copy each time: a fit moves the signal to its device
    torch.manual_seed(0)
    options = {**signal.model_defaults(model_name), "backend": backend}
    model = build_model(model_name, signal.in_dim, signal.out_dim, **options)
    result = fit(signal, model, max_seconds=seconds, eval_every=50, seed=0, quiet=True, device=device, **settings)
    m = result.metrics
    return {"psnr": m["psnr"], "steps": m["steps"], "steps_per_second": m["steps"] / max(m["train_seconds"], 1e-9),
            "device": m["device"], "device_name": m["device_name"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="training wall time per fit")
    parser.add_argument("--device", default="cuda", help="the GPU to check against the CPU (cuda, cuda:N)")
    parser.add_argument("--backend", default="torch", choices=("torch", "tcnn", "auto"),
                        help="hash-grid encoding on the GPU (the CPU always uses torch)")
    parser.add_argument("--tolerance", type=float, default=0.0, help="dB the GPU may fall below the CPU")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of " + ",".join(KINDS))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/device_check.json"))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("device_check: no GPU is present (torch.cuda.is_available() is False); run it on a machine with "
              "CUDA", file=sys.stderr)
        return 2
    try:
        gpu = resolve_device(args.device)
        kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in KINDS]
        if unknown or not kinds:
            raise NstrError(f"--kinds must name some of {', '.join(KINDS)}, got '{args.kinds}'")
    except NstrError as error:
        print(f"device_check: {error}", file=sys.stderr)
        return 2
    print(f"device check: {device_name(gpu)} ({gpu}) against {device_name('cpu')}, {args.seconds:g} s per fit")
    rows, failed = [], []
    for kind in kinds:
        on_gpu = run(kind, gpu, args.seconds, args.backend)
        on_cpu = run(kind, torch.device("cpu"), args.seconds, "torch")
        ratio = on_gpu["steps_per_second"] / on_cpu["steps_per_second"]
        passed = on_gpu["psnr"] >= on_cpu["psnr"] - args.tolerance
        if not passed:
            failed.append(kind)
        rows.append({"kind": kind, "model": KINDS[kind][2], "GPU psnr (dB)": on_gpu["psnr"],
                     "CPU psnr (dB)": on_cpu["psnr"], "GPU steps": on_gpu["steps"], "CPU steps": on_cpu["steps"],
                     "speed ratio (GPU / CPU)": ratio, "passed": passed})
        print(f"{kind:6s} GPU {on_gpu['psnr']:6.2f} dB in {on_gpu['steps']:6d} steps, CPU {on_cpu['psnr']:6.2f} dB "
              f"in {on_cpu['steps']:5d} steps: {ratio:5.1f}x the CPU's speed  {'ok' if passed else 'FAILED'}",
              flush=True)
    command = "python benchmarks/device_check.py" + (f" --seconds {args.seconds:g}" if args.seconds != 30 else "")
    summary = (f"{device_name(gpu)} against the CPU at {args.seconds:g} s per fit: "
               + ("GPU quality at least the CPU's on every kind." if not failed
                  else f"GPU quality below the CPU's on {', '.join(failed)}."))
    write_result(args.out, "device_check", "GPU against CPU at equal time", summary, command, rows,
                 gpu=device_name(gpu), backend=args.backend, seconds=args.seconds)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
