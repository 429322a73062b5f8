"""Run directories: where a fit keeps everything needed to reproduce, resume and decode it.

A run directory holds ``config.json`` (signal spec, model name and options, fit settings, versions),
``model.safetensors`` (best weights), ``metrics.json``, pictures, and while training ``checkpoint.pt``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nstr.core.errors import NstrError

CONFIG, METRICS, WEIGHTS, CHECKPOINT = "config.json", "metrics.json", "model.safetensors", "checkpoint.pt"


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` only if the block completes, so a
    reader (or a crash) never sees a half-written file. For writers that need a file name (soundfile)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files owner-only; results get the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's file-creation mask (read by setting and restoring it: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that a reader (or a crash) never sees it half-written."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, (json.dumps(obj, indent=2, default=_json_default, allow_nan=True) + "\n").encode())


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in JSON")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise NstrError(f"'{path}' is missing: is this a run directory written by 'nstr fit'?") from None
    except json.JSONDecodeError as exc:
        raise NstrError(f"'{path}' is not valid JSON ({exc})") from None


def default_run_dir(signal_name: str, model_name: str, root: Path = Path("runs")) -> Path:
    """A new, unique folder name under ``runs/``: <signal>-<model>-<date>-<time>[-k]."""
    stem = Path(signal_name).stem if signal_name != "<array>" else "array"
    base = root / f"{stem}-{model_name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    candidate, k = base, 1
    while candidate.exists():
        k += 1
        candidate = base.with_name(f"{base.name}-{k}")
    return candidate


def prepare_run_dir(out: Path, overwrite: bool) -> Path:
    """Create ``out``; refuse to touch an existing non-empty folder unless ``overwrite`` is set."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NstrError(f"--out '{out}' exists and is a file; choose a folder name")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise NstrError(f"'{out}' already exists and is not empty; choose another --out or pass --overwrite")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict[str, Any]:
    """Machine and library versions, stored with every run and benchmark result."""
    import scipy
    import skimage

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-image": skimage.__version__,
        "machine": platform.machine(),
        "processor": cpu_model(),
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }


def save_weights(model: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    write_atomic(path, save(state))


def load_weights(model: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import load_file

    if not Path(path).exists():
        raise NstrError(f"'{path}' is missing: the run did not finish; resume it with 'nstr fit --resume'")
    model.load_state_dict(load_file(str(path)))


@dataclass
class Run:
    """A finished fit read back from its directory: ``nstr.load(path)``."""

    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    model: torch.nn.Module

    def render(self, height: int, width: int) -> np.ndarray:
        """Decode a fitted image at any resolution, in the input's dtype and value range."""
        from nstr.signals.image.signal import ImageFormat, pixel_centres

        if self.config["signal"]["kind"] != "image":
            raise NstrError(f"Run.render decodes images; this is a {self.config['signal']['kind']} run")
        fmt = ImageFormat(**self.config["signal"]["format"])
        pred = self.model.predict(pixel_centres(height, width))
        return fmt.to_native(pred.numpy(), height, width)

    def signal(self):
        """The signal the run was fitted to, rebuilt from its config."""
        from nstr.signals import load_signal

        return load_signal(self.config["signal"], self.path)

    def summary(self) -> str:
        m, c = self.metrics, self.config
        lines = [
            f"run        {self.path}",
            f"signal     {c['signal']['source']} ({c['signal']['kind']})",
            f"model      {c['model']['name']}  {json.dumps(c['model']['options'])}",
            f"params     {m.get('params')}",
            f"steps      {m.get('steps')}  in {m.get('train_seconds', float('nan')):.1f} s "
            f"({m.get('seconds_per_step', float('nan')) * 1e3:.1f} ms/step)",
        ]
        for key in ("psnr", "ssim", "psnr_train", "psnr_holdout", "snr", "spectral_convergence", "chamfer", "iou"):
            if key in m:
                lines.append(f"{key:<10} {m[key]:.4f}")
        return "\n".join(lines)


def load(run_dir: str | Path) -> Run:
    """Read a run directory: its config, metrics and the fitted model with its best weights."""
    from nstr.models import build_model

    path = Path(run_dir)
    if not path.is_dir():
        raise NstrError(f"run directory '{path}' not found")
    config = read_json(path / CONFIG)
    metrics = read_json(path / METRICS) if (path / METRICS).exists() else {}
    spec = config["model"]
    model = build_model(spec["name"], spec["in_dim"], spec["out_dim"], **spec["options"])
    load_weights(model, path / WEIGHTS)
    model.eval()
    return Run(path, config, metrics, model)
