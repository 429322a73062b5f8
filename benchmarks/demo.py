"""What `make demo` does, stored: the default model fitted to `astronaut` for 90 s (the demo's exact command), the
README's picture redrawn from that run, and its numbers in benchmarks/results/demo.json, which the README quotes
(tests/test_readme_numbers.py checks the quote against the JSON).

    .venv/bin/python benchmarks/demo.py [--seconds 90] [--picture docs/demo.png]

Run it on an otherwise idle machine: the fit has a wall-time budget.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import nstr
from nstr.bench.report import write_result

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
from make_figure import main as draw  # noqa: E402  (the picture's own script, beside the picture)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--picture", type=Path, default=ROOT / "docs" / "demo.png")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "demo.json")
    args = parser.parse_args()
    command = ["nstr", "fit", "astronaut", "--max-seconds", f"{args.seconds:g}"]
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder) / "demo"
        subprocess.run([str(Path(sys.executable).parent / "nstr"), *command[1:], "--out", str(run_dir)], check=True)
        run = nstr.load(run_dir)
        row = {"model": run.config["model"]["name"],
               **{key: run.metrics[key] for key in ("params", "psnr", "ssim", "steps", "train_seconds")}}
        # The result first: it records the checkout's state, which redrawing the tracked picture changes.
        write_result(args.out, "demo", "The demo: `make demo`'s fit, stored",
                     f"`{' '.join(command)}` (what `make demo` runs), the README's picture drawn from this run",
                     "python benchmarks/demo.py" + (f" --seconds {args.seconds:g}" if args.seconds != 90 else ""),
                     [{"signal": "astronaut", **row}])
        draw(str(run_dir), str(args.picture))


if __name__ == "__main__":
    main()
