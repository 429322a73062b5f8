"""Run directories: where a fit keeps everything needed to reproduce, resume and decode it.

A run directory holds ``config.json`` (signal spec, model name and options, fit settings, versions),
``model.safetensors`` (best weights), ``metrics.json``, ``history.jsonl`` (written as the fit goes), pictures,
with ``--log tensorboard`` a ``tensorboard/`` folder, and while training ``checkpoint.pt``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save

from nstr.core.device import module_device, resolve_device
from nstr.core.errors import NstrError
from nstr.core.io import read_json, write_atomic
from nstr.models import build_model
from nstr.signals import Image, load_signal

CONFIG, METRICS, WEIGHTS, CHECKPOINT = "config.json", "metrics.json", "model.safetensors", "checkpoint.pt"


def default_run_dir(signal_name: str, model_name: str, root: Path = Path("runs")) -> Path:
    """A new, unique folder name under ``runs/``: <signal>-<model>-<date>-<time>[-k] (a scene's transforms*.json
    file is named by its folder: lego/transforms.json makes lego-...)."""
    path = Path(signal_name)
    stem = path.resolve().parent.name if path.suffix == ".json" and path.stem.startswith("transforms") else path.stem
    stem = stem if signal_name != "<array>" else "array"
    base = root / f"{stem}-{model_name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    candidate, k = base, 1
    while candidate.exists():
        k += 1
        candidate = base.with_name(f"{base.name}-{k}")
    return candidate


def check_run_dir(out: Path, overwrite: bool) -> Path:
    """Refuse, before any work, an ``out`` that is a file or a folder with results in it (unless ``overwrite``)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NstrError(f"--out '{out}' exists and is a file; choose a folder name")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise NstrError(f"'{out}' already exists and is not empty; choose another --out or pass --overwrite")
    return out


def prepare_run_dir(out: Path, overwrite: bool) -> Path:
    """Create ``out``; refuse to touch an existing non-empty folder unless ``overwrite`` is set."""
    out = check_run_dir(out, overwrite)
    if out.exists() and any(out.iterdir()):
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def save_weights(model: torch.nn.Module, path: Path) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    write_atomic(path, save(state))


def load_weights(model: torch.nn.Module, path: Path) -> None:
    """Read ``model.safetensors`` straight onto the model's device (weights are stored from the host, so a run
    trained on one device loads on any other)."""
    if not Path(path).exists():
        raise NstrError(f"'{path}' is missing: the run did not finish; resume it with 'nstr fit --resume'")
    model.load_state_dict(load_file(str(path), device=str(module_device(model))))


@dataclass
class Run:
    """A finished fit read back from its directory: ``nstr.load(path)``."""

    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    model: torch.nn.Module

    def render(self, height: int, width: int) -> np.ndarray:
        """Decode a fitted image at any resolution, in the input's dtype and value range."""
        if self.config["signal"]["kind"] != "image":
            raise NstrError(f"Run.render decodes images; this is a {self.config['signal']['kind']} run")
        return Image.decode(self.model, self.config["signal"], height, width)

    def signal(self):
        """The signal the run was fitted to, rebuilt from its config."""
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
        if "device" in m:
            lines.append(f"device     {m['device']} ({m.get('device_name', '?')})")
        for key in ("psnr", "ssim", "lpips", "psnr_train", "psnr_holdout", "snr", "spectral_convergence", "chamfer",
                    "iou"):
            if m.get(key) is not None:
                lines.append(f"{key:<10} {m[key]:.4f}")
        return "\n".join(lines)


def load(run_dir: str | Path, device: str | torch.device | None = None) -> Run:
    """Read a run directory: its config, metrics and the fitted model with its best weights, on ``device``
    ("auto", "cpu", "cuda", "cuda:N", "mps"; None: the CPU), whichever device the run was trained on."""
    device = resolve_device("cpu" if device is None else device)
    path = Path(run_dir)
    if not path.is_dir():
        raise NstrError(f"run directory '{path}' not found")
    config = read_json(path / CONFIG)
    metrics = read_json(path / METRICS) if (path / METRICS).exists() else {}
    spec = config["model"]
    model = build_model(spec["name"], spec["in_dim"], spec["out_dim"], **spec["options"]).to(device)
    load_weights(model, path / WEIGHTS)
    model.eval()
    return Run(path, config, metrics, model)
