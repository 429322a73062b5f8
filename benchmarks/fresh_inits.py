"""Does FreSh pick the same embedding scale from 3 untrained models per value as from the official 10?

The benchmark suites score each candidate with fewer untrained models than the official code when 10 cost more
than the machine can give (``Suite.fresh_inits``). This measures what that changes: for each signal and model,
one selection with 10 initialisations, keeping every initialisation's distance (initialisation k is seeded the
same for every value, so the distances are paired); then the choice from the first 3, the share of the 8 windows
of 3 consecutive initialisations that choose what all 10 choose, and how far (in the 10-initialisation mean
distance) the worst 3-initialisation choice is from the best value. No times: it measures agreement, and may share
the machine with other work.

    .venv/bin/python benchmarks/fresh_inits.py [--budget 100000] [--signals camera,astronaut]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import nstr
from nstr.bench.provenance import origin
from nstr.bench.report import write_result
from nstr.bench.sizing import size_model
from nstr.bench.suites import FRESH_GRIDS
from nstr.fresh import select

INITS, FEW = 10, 3


def row(signal: str, model: str, budget: int) -> dict:
    """One signal and model: the 10-initialisation choice against the choices of each 3 consecutive ones."""
    image = nstr.Image(signal)
    grid = FRESH_GRIDS[model]
    options, params = size_model(model, image.in_dim, image.out_dim, budget)
    selection = select(image, model, grid.param, grid.values, inits=INITS, options=options, precision="float32")
    distances = np.array([c.distances for c in selection.candidates])  # values x initialisations
    mean = distances.mean(axis=1)
    best = int(mean.argmin())
    windows = [int(distances[:, k:k + FEW].mean(axis=1).argmin()) for k in range(INITS - FEW + 1)]
    worst = max(windows, key=lambda w: mean[w])
    return {
        "signal": signal, "model": model, "params": params, "side": selection.side,
        f"choice ({INITS} inits)": grid.values[best], f"choice (first {FEW})": grid.values[windows[0]],
        f"windows of {FEW} agreeing": f"{sum(w == best for w in windows)}/{len(windows)}",
        f"choices of the {len(windows)} windows": " ".join(f"{grid.values[w]:g}" for w in windows),
        "worst window's excess distance": float(mean[worst] - mean[best]),
        "spread of the best value's distance": float(distances[best].std()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=100_000, help="parameters of each model")
    parser.add_argument("--signals", default="camera,astronaut")
    parser.add_argument("--models", default="siren,ffn")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/fresh_inits.json"))
    args = parser.parse_args()
    origin()  # the commit this run starts from (the result names it)
    rows = []
    for signal in args.signals.split(","):
        for model in args.models.split(","):
            rows.append(row(signal, model, args.budget))
            print({k: round(v, 3) if isinstance(v, float) else v for k, v in rows[-1].items()}, flush=True)
    write_result(
        args.out, "fresh_inits", f"FreSh with {FEW} untrained models per value against the official {INITS}",
        (f"Each signal at full size, each model at about {args.budget:,} parameters with FreSh's official grid, "
         f"float32. One selection with {INITS} initialisations per value (paired across values); the choice of "
         f"the first {FEW}, of each {FEW} consecutive ones, and the worst of those choices' excess in the "
         f"{INITS}-initialisation mean distance (0: every window chose the best value)."),
        f".venv/bin/python benchmarks/fresh_inits.py --budget {args.budget} --signals {args.signals} "
        f"--models {args.models}",
        rows,
    )


if __name__ == "__main__":
    main()
