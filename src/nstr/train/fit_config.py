"""Fit configurations read from a file: a run's ``config.json``, or a YAML or JSON file written by hand with the
same keys (``nstr fit --config FILE``).

Every key is optional in a hand-written file::

    signal: photo.png                       # a file or a built-in name, or a mapping with the kind's options:
    signal: {source: photo.png, resize: 256x256}
    model: siren                            # a registered name, or a mapping with its options:
    model: {name: siren, options: {omega0: 30.0, hidden: 128}}
    fit: {steps: 2000, lr: 1.0e-4, seed: 1} # fields of FitSettings
    environment: {device: cpu}              # where to fit

A run's config.json holds these and more: its signal mapping names the ``kind`` and what the kind recorded about
the data (an image's format, a mesh's normalisation), and is rebuilt by the kind itself (``from_spec``), as a
resume rebuilds it; its model options are complete, so the kind's model defaults never apply to them. Relative
paths of a hand-written source are read from the file's folder when the file is there, else as given.

PyYAML reads the YAML (JSON is read by the standard library); YAML 1.1 reads ``1e-4`` as text, which is taken
for a number where the option is a number (``nstr.core.config.checked_values``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nstr.core.config import checked_values
from nstr.core.errors import NstrError
from nstr.core.lazy import lazy_import
from nstr.models import model_class
from nstr.signals import Signal, signal_class, signal_kind
from nstr.train.fit import FitSettings

yaml = lazy_import("yaml")

#: Top-level keys: what a config describes, and what a run's config.json records beside it (read, not used).
KEYS = ("signal", "model", "fit", "environment")
RECORDED_KEYS = ("nstr_version", "fresh", "config_file")
MODEL_KEYS = ("name", "options", "in_dim", "out_dim", "resolved")
SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True)
class FitConfig:
    """What a config file says about a fit; sections the file leaves out are empty."""

    path: Path
    signal: dict[str, Any] | None = None  #: ``source`` and the kind's options (a run's spec: also ``kind``)
    model: str | None = None
    model_options: dict[str, Any] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=dict)  #: FitSettings fields, checked
    device: str | None = None

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def recorded(self) -> bool:
        """Whether the signal is a run's own spec (it names its kind) rather than written by hand."""
        return self.signal is not None and "kind" in self.signal

    def source(self) -> str | None:
        """The signal's source as a fit reads it (a hand-written relative path: from the file's folder if there)."""
        if self.signal is None:
            return None
        return self.signal["source"] if self.recorded else _source_near(self.folder, self.signal["source"])

    def kind(self) -> type[Signal] | None:
        """The signal's kind: the one a run's spec names, else the one its source is read as."""
        if self.signal is None:
            return None
        return signal_class(self.signal["kind"]) if self.recorded else signal_kind(self.source())

    def build_signal(self, options: dict[str, Any]) -> Signal:
        """The file's signal with ``options`` (the command line's kind options) over the file's own."""
        kind = self.kind()
        if self.recorded:
            return kind.from_spec({**self.signal, **options}, self.folder)
        own = {k: v for k, v in self.signal.items() if k != "source"}
        return kind(self.source(), kind.Config(**{**own, **options}))

    def options_for(self, model: str) -> dict[str, Any]:
        """The file's model options checked as options of ``model`` (the registered model the file's name means
        for the signal's kind: ``nstr`` on a scene is ``nerf-nstr``)."""
        return checked_values(model_class(model).Config, self.model_options, f"{self.path}: model options of {model}")


def _source_near(folder: Path, source: str) -> str:
    """A hand-written source: a relative path names a file in the config's folder when there is one."""
    if not Path(source).is_absolute() and (folder / source).exists():
        return str(folder / source)
    return source


def _load(path: Path) -> Any:
    if not path.is_file():
        raise NstrError(f"config file '{path}' not found" if not path.exists() else f"'{path}' is not a file")
    if path.suffix.lower() not in SUFFIXES:
        raise NstrError(f"config file '{path}' must be .json (a run's config.json), .yaml or .yml")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise NstrError(f"config file '{path}' is not text") from None
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise NstrError(f"'{path}' is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except yaml.YAMLError as exc:
        raise NstrError(f"'{path}' is not valid YAML ({' '.join(str(exc).split())})") from None


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise NstrError(f"{where} must be a mapping of keys to values, got {type(value).__name__}")
    return value


def _signal(value: Any, path: Path) -> dict[str, Any]:
    """The signal section as a mapping with a ``source``; a hand-written one's options checked against its kind."""
    if isinstance(value, str):
        value = {"source": value}
    value = _mapping(value, f"{path}: signal")
    if not isinstance(value.get("source"), str):
        raise NstrError(f"{path}: signal needs a source (a file or a built-in name such as astronaut)")
    if "kind" in value:
        signal_class(value["kind"])  # a run's spec: the kind rebuilds it
        return dict(value)
    own = {k: v for k, v in value.items() if k != "source"}
    kind = signal_kind(_source_near(path.parent, value["source"]))
    return {"source": value["source"], **checked_values(kind.Config, own, f"{path}: signal options of {kind.kind}")}


def _model(value: Any, path: Path) -> tuple[str | None, dict[str, Any]]:
    if isinstance(value, str):
        value = {"name": value}
    value = _mapping(value, f"{path}: model")
    unknown = sorted(set(value) - set(MODEL_KEYS))
    if unknown:
        raise NstrError(f"{path}: model has unknown key(s) {', '.join(unknown)}; give name and options")
    name = value.get("name")
    if name is not None:
        if not isinstance(name, str):
            raise NstrError(f"{path}: model name must be text, got {name!r}")
        model_class(name)  # an unknown name is an error here
    options = _mapping(value.get("options") or {}, f"{path}: model options")
    if options and name is None:
        raise NstrError(f"{path}: model options need the model's name")
    return name, dict(options)


def read_fit_config(path: str | Path) -> FitConfig:
    """Read and check a config file; anything wrong with it is a one-line ``NstrError`` naming the file."""
    path = Path(path)
    data = _load(path)
    data = {} if data is None else _mapping(data, f"config file '{path}'")
    unknown = sorted(set(data) - set(KEYS) - set(RECORDED_KEYS))
    if unknown:
        raise NstrError(f"{path}: unknown key(s) {', '.join(unknown)}; a config has {', '.join(KEYS)}")
    signal = _signal(data["signal"], path) if data.get("signal") is not None else None
    model, options = _model(data["model"], path) if data.get("model") is not None else (None, {})
    fit = checked_values(FitSettings, _mapping(data.get("fit") or {}, f"{path}: fit"), f"{path}: fit")
    environment = _mapping(data.get("environment") or {}, f"{path}: environment")
    device = environment.get("device")
    if device is not None and not isinstance(device, str):
        raise NstrError(f"{path}: environment device must be text such as cpu or cuda, got {device!r}")
    return FitConfig(path, signal, model, options, fit, device)
