"""Meshes of a fitted radiance field against the exact surface, per density threshold: how far the vertices of
``nstr render RUN mesh.ply --threshold T`` lie from the objects of the built-in analytic scene.

The built-in scene (``nstr fit analytic``: a sphere, a box and a cylinder, ray cast exactly) is fitted for
``--seconds`` by ``--model``; a mesh is extracted at every threshold and each vertex's distance to the nearest
object surface (the scene's analytic signed distance) is summarised: median and 90th percentile of |distance|,
the share of vertices within 0.02 scene units, whether the mesh sits outside (+) or inside (-) the surface, and
the extraction time.

    .venv/bin/python benchmarks/nerf_mesh.py [--model hashgrid] [--seconds 60] [--resolution 128]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from nstr.bench.report import script_command, write_result
from nstr.core.errors import NstrError
from nstr.models import build_model
from nstr.signals.scene.export import model_mesh
from nstr.signals.scene.make import SCENE
from nstr.signals.scene.signal import Scene
from nstr.train.fit import fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hashgrid")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--thresholds", default="1,2.5,5,10,25,50,100")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/nerf_mesh.json"))
    args = parser.parse_args()
    scene = Scene("analytic", orbit_frames=0)
    name = Scene.model_name(args.model)
    torch.manual_seed(0)
    model = build_model(name, 6, 3, **scene.model_defaults(name))
    result = fit(scene, model, max_seconds=args.seconds, batch_size=0, quiet=True)
    print(f"{name}: test psnr {result.metrics['psnr']:.2f} dB after {result.metrics['steps']} steps", flush=True)
    rows = []
    for threshold in (float(t) for t in args.thresholds.split(",")):
        start = time.perf_counter()
        try:
            mesh = model_mesh(result.model, args.resolution, threshold)
        except NstrError as exc:  # the density never reaches this threshold
            rows.append({"threshold": threshold, "vertices": 0, "note": str(exc).split(";")[0]})
            print(rows[-1], flush=True)
            continue
        seconds = time.perf_counter() - start
        signed = np.min([shape.distance(mesh.vertices) for shape in SCENE.objects], axis=0)
        distance = np.abs(signed)
        rows.append({"threshold": threshold, "vertices": len(mesh.vertices), "median |d|": float(np.median(distance)),
                     "90th percentile |d|": float(np.percentile(distance, 90)),
                     "within 0.02": float((distance < 0.02).mean()), "median d": float(np.median(signed)),
                     "seconds": seconds})
        print("  ".join(f"{k} {v:.4g}" for k, v in rows[-1].items()), flush=True)
    write_result(
        args.out, "nerf_mesh", "Meshes of a radiance field against the exact surface",
        f"{name} fitted for {args.seconds:g} s to the built-in analytic scene (test PSNR "
        f"{result.metrics['psnr']:.2f} dB, {result.metrics['steps']} steps); marching cubes at {args.resolution}^3 "
        "over the scene box; distances in scene units to the nearest object (the scene is 2.4 units across)",
        script_command("nerf_mesh.py", vars(args)),
        rows, psnr=result.metrics["psnr"], steps=result.metrics["steps"])


if __name__ == "__main__":
    main()
