"""Where a short fit's wall time goes: training, evaluations, and the end of the fit.

A 60-second table1 cell of a 1.2M-parameter MLP trained 60 s and took 130 s: predicting all 262,144 pixels of a
512 x 512 photograph costs such an MLP ~20 s on one thread, and a fit predicted the whole image three times (the
evaluations at step 0 and at its last step, then once more at the end with the best weights, which were the
last step's). The end of a fit now scores the last evaluation's prediction when that evaluation was the best
(``nstr.train.fit._Trainer.best_prediction``). This script measures both ways in one process, taking turns:
``predict again`` replaces ``best_prediction`` with a fresh prediction, as every fit did before.

    .venv/bin/python benchmarks/fit_end.py                     # Table 1's 1.2M SIREN and Fourier MLP on camera
    .venv/bin/python benchmarks/fit_end.py --steps 2 --repeats 1
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import skimage.data
import torch

from nstr.bench.report import script_command, write_result
from nstr.models import build_model
from nstr.signals import Image
from nstr.train import fit as fit_module

#: Table 1's MLPs at 1.2M parameters on a 512 x 512 grey photograph (the table1 suite's cells' configurations).
MODELS = {"siren": {"hidden": 631, "layers": 3}, "ffn": {"hidden": 552, "layers": 4}}
WAYS = ("predict again", "reuse the last evaluation")


def timed_fit(image: Image, name: str, options: dict[str, Any], steps: int, way: str) -> dict[str, Any]:
    """One fit of ``steps`` steps with evaluations only at its start and end; wall time and predictions made."""
    torch.manual_seed(0)
    model = build_model(name, image.in_dim, image.out_dim, **options)
    predicts = []
    predict = type(model).predict

    def counted(self, *args, **kwargs):
        predicts.append(1)
        return predict(self, *args, **kwargs)

    trainer = fit_module._Trainer
    reuse = trainer.best_prediction
    type(model).predict = counted
    if way == WAYS[0]:
        trainer.best_prediction = lambda self, state: self.model.predict(self.signal.eval_coords)
    try:
        start = time.perf_counter()
        metrics = fit_module.fit(image, model, steps=steps, eval_every=steps, batch_size=16_384, quiet=True).metrics
        wall = time.perf_counter() - start
    finally:
        type(model).predict, trainer.best_prediction = predict, reuse
    return {"model": name, "params": metrics["params"], "end of fit": way, "steps": steps,
            "whole-image predictions": len(predicts), "train s": round(metrics["train_seconds"], 1),
            "wall s": round(wall, 1), "psnr": round(metrics["psnr"], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/fit_end.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    image = Image(skimage.data.camera())
    rows = []
    for name, options in MODELS.items():
        for _ in range(args.repeats):
            for way in WAYS:  # the two ways take turns, so drifting load hits both alike
                rows.append(timed_fit(image, name, options, args.steps, way))
                print(rows[-1], flush=True)
    write_result(args.out, "fit_end", "The end of a fit: predicting again against reusing the last evaluation",
                 f"Table 1's 1.2M-parameter MLPs fitted {args.steps} steps of 16,384 pixels to camera (512 x 512) "
                 f"with {args.threads} thread(s), evaluated at the start and the end, {args.repeats} time(s) each "
                 "way in turn; the same PSNR either way, as the two score the same prediction.",
                 script_command("fit_end.py", vars(args)), rows)


if __name__ == "__main__":
    main()
