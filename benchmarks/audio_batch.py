"""Which minibatch suits audio? Short step-budget fits of the default models at several batch sizes.

For each (signal, model, batch) a 20-step probe measures the seconds per step, then a step budget sized to about
``--seconds`` of training is fitted (one thread, seed 0, the models' audio defaults as ``nstr fit`` applies them),
so every batch size gets about the same training time and a whole cosine schedule. Reported: SNR (dB), steps,
training seconds. The default chosen from it is ``nstr.signals.audio.signal.AUDIO_BATCH``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/audio_batch.py [--seconds 15] [--batches 1024,4096,16384,65536]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from nstr.bench.report import write_result
from nstr.models import build_model
from nstr.signals import Audio
from nstr.train.fit import fit

SIGNALS = {"speech": "tests/data/speech_front_center.wav", "chirp": "chirp"}


def run(signal: Audio, model_name: str, batch: int, seconds: float) -> dict:
    def model():
        torch.manual_seed(0)
        return build_model(model_name, 1, signal.out_dim, **signal.model_defaults(model_name))

    probe = fit(signal, model(), steps=20, batch_size=batch, eval_every=20, quiet=True).metrics
    steps = max(20, round(seconds / probe["seconds_per_step"]))
    metrics = fit(signal, model(), steps=steps, batch_size=batch, eval_every=max(steps // 10, 1), quiet=True).metrics
    return {"snr": round(metrics["snr"], 2), "steps": steps, "train_seconds": round(metrics["train_seconds"], 1),
            "params": metrics["params"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--batches", default="1024,4096,16384,65536")
    parser.add_argument("--models", default="nstr,hashgrid,siren")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/audio_batch.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = []
    for label, source in SIGNALS.items():
        signal = Audio(source)
        for model_name in args.models.split(","):
            for batch in (int(b) for b in args.batches.split(",")):
                row = {"signal": label, "samples": len(signal), "model": model_name, "batch": batch,
                       **run(signal, model_name, batch, args.seconds)}
                print(json.dumps(row), flush=True)
                results.append(row)
    write_result(args.out, "audio_batch", "Audio minibatch size at about equal training time",
                 f"Default models with their audio defaults, one thread, about {args.seconds:g} s of training per "
                 "fit (a step budget sized by a 20-step probe); SNR in dB.",
                 f"OMP_NUM_THREADS=1 python benchmarks/audio_batch.py --seconds {args.seconds:g} "
                 f"--batches {args.batches} --models {args.models}", results)


if __name__ == "__main__":
    main()
