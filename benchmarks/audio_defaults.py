"""Where audio's model defaults come from: short step-budget fits around each default, at 50k parameters.

``nstr.signals.audio.signal.audio_model_defaults`` sets one option per model for 1-D input (SIREN's omega0, the
Fourier MLP's sigma and NSTR's basis sigma as a fraction of Nyquist, the grids' finest level). This script fits each
model with the default and with its neighbours on the real clips and the chirp: seed 0, one thread, batch 4,096,
a fixed number of steps (so a re-run on any machine gives the same SNR), the other options sized to 50k parameters
as ``nstr bench audio`` sizes them. Reported: SNR (dB) per (model, option value, signal).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/audio_defaults.py
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from nstr.bench.report import write_result
from nstr.bench.sizing import size_model
from nstr.models import build_model
from nstr.signals import Audio
from nstr.train.fit import fit

SIGNALS = {"speech": "tests/data/speech_front_center.wav", "chime": "tests/data/chime_complete.wav",
           "chirp": "chirp"}
PARAMS = 50_000
BATCH = 4096


@dataclass(frozen=True)
class Sweep:
    """One option of one model tried at several values; ``value(label, frames)`` turns a label into the option."""

    model: str
    option: str
    labels: tuple[str, ...]
    value: Callable[[str, int], float]
    signals: tuple[str, ...]
    steps: int


def _nyquist_fraction(label: str, frames: int) -> float:
    """'18 %' -> 0.18 x Nyquist, in cycles per unit of t (samples are 2 / (N - 1) apart)."""
    return round(float(label.rstrip(" %")) / 100 * (frames - 1) / 4, 1)


def _grid_cells(label: str, frames: int) -> float:
    """'N - 1', 'N / 2', 'N / 4': the finest grid level's cells for a clip of N samples."""
    return {"N - 1": frames - 1, "N / 2": frames // 2, "N / 4": frames // 4}[label]


SWEEPS = (
    Sweep("siren", "omega0", ("3000", "10000", "20000"), lambda label, _: float(label),
          ("speech", "chime", "chirp"), 500),
    Sweep("ffn", "sigma", ("2 %", "6 %", "18 %", "35 %"), _nyquist_fraction, ("speech", "chirp"), 300),
    Sweep("hashgrid", "max_res", ("N - 1", "N / 2", "N / 4"), _grid_cells, ("speech",), 1000),
    Sweep("nstr", "max_res", ("N - 1", "N / 2"), _grid_cells, ("speech",), 1000),
    Sweep("nstr", "basis_sigma", ("1 %", "5 %", "18 %", "36 %"), _nyquist_fraction, ("speech", "chirp"), 1000),
)


def run(signal: Audio, sweep: Sweep, label: str) -> dict:
    frames = signal.format.frames
    defaults = signal.model_defaults(sweep.model)
    options = {**defaults, sweep.option: sweep.value(label, frames)}
    options, params = size_model(sweep.model, 1, signal.out_dim, PARAMS, options)
    torch.manual_seed(0)
    model = build_model(sweep.model, 1, signal.out_dim, **options)
    metrics = fit(signal, model, steps=sweep.steps, batch_size=BATCH, eval_every=50, quiet=True).metrics
    return {"model": sweep.model, "option": sweep.option, "value": label,
            "is_default": defaults[sweep.option] == options[sweep.option],
            "snr": round(metrics["snr"], 2), "steps": sweep.steps, "params": params,
            "train_seconds": round(metrics["train_seconds"], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/audio_defaults.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    signals = {name: Audio(source) for name, source in SIGNALS.items()}
    results = []
    for sweep in SWEEPS:
        for name in sweep.signals:
            for label in sweep.labels:
                row = {"signal": name, "samples": len(signals[name]), **run(signals[name], sweep, label)}
                print(json.dumps(row), flush=True)
                results.append(row)
    write_result(args.out, "audio_defaults", "Audio model defaults: each default against its neighbours",
                 f"Seed 0, one thread, batch {BATCH}, a fixed number of steps per model, {PARAMS // 1000}k parameters "
                 "(the other options sized as `nstr bench audio` sizes them); SNR in dB. The defaults are "
                 "`nstr.signals.audio.signal.audio_model_defaults`.",
                 "OMP_NUM_THREADS=1 python benchmarks/audio_defaults.py", results)


if __name__ == "__main__":
    main()
