"""The contract every signal (image, audio, SDF, scene) follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from nstr.core.config import Config
from nstr.core.device import fits_on
from nstr.core.errors import NstrError
from nstr.models import model_class
from nstr.models.base import Field

#: Longer side in pixels of the pictures ``Signal.preview`` draws for live loggers.
PREVIEW_SIZE = 256


@dataclass(frozen=True)
class SignalConfig(Config):
    """Base of each signal kind's load options; each field's ``help`` becomes the ``nstr fit`` option's help."""


class Signal(ABC):
    """A sampled signal: coordinates in [-1, 1]^d and target values in [-1, 1] (normalised per signal).

    Values are normalised so that every model sees the same range; each kind maps predictions back to the
    input's own range, units and file format when it writes results.

    A new kind registers itself with ``nstr.signals.register_signal`` and lists the file suffixes it reads;
    ``load_signal`` then picks it by extension, and a run's ``config.json`` rebuilds it through ``from_spec``.

    Its load options are the fields of ``Config`` (a frozen ``SignalConfig`` dataclass): the constructor takes
    them as keywords or as one ``config``, the spec records them, and ``nstr fit`` makes its flags from them.
    """

    kind: ClassVar[str] = "signal"
    Config: ClassVar[type[SignalConfig]] = SignalConfig
    #: What this kind reads, for messages: "images", "mesh files (.obj .off ...)".
    description: ClassVar[str] = "signals"
    #: The kind ``load_signal`` builds when no other kind accepts the source (images: built-in names too).
    fallback: ClassVar[bool] = False
    #: File name endings this kind reads (lower case, with the dot).
    suffixes: ClassVar[tuple[str, ...]] = ()
    #: Samples and evaluation set (see ``eval_coords``): the fit trains on ``coords`` and ``training_targets``
    #: and scores the model at ``eval_coords`` against ``eval_values``.
    coords: torch.Tensor  # [N, in_dim] float32: the training samples
    values: torch.Tensor  # [N, out_dim] float32 in [-1, 1]
    #: Whether the training samples are the evaluation samples (``eval_coords`` is ``coords``: an image's
    #: pixels, a recording's samples): then the fit's ``--holdout`` keeps a random fraction of them out of
    #: training and scores it apart. A kind scored on an evaluation set drawn apart from the samples it trains on
    #: (an SDF's held-fixed points, a scene's val-view rays; both redraw their training samples through
    #: ``nstr.signals.sampling.Resampler``) sets False, and the fit refuses ``--holdout`` for it.
    evaluates_training_samples: ClassVar[bool] = True
    #: Fit settings that suit this kind (``FitSettings`` fields: audio's minibatch), applied where neither the
    #: command line, a config file nor the model (``Field.fit_defaults``) sets them; none by default.
    fit_defaults: ClassVar[dict[str, Any]] = {}
    #: Where the signal's tensors live (``to``): the training device, or the CPU when ``streamed``.
    device: torch.device = torch.device("cpu")
    #: True when the tensors stay on the host in pinned memory because they would not fit the device (``to``);
    #: the fit then draws minibatches on the host and copies each to the device.
    streamed: bool = False

    @classmethod
    def make_config(cls, config: SignalConfig | None, options: dict[str, Any]) -> SignalConfig:
        """The signal's config from a ``config`` or keyword ``options`` (not both); bad values are NstrErrors."""
        if config is not None:
            if options:
                raise TypeError("give either a config or keyword options, not both")
            return config
        unknown = sorted(set(options) - set(cls.Config.option_names()))
        if unknown:
            raise TypeError(f"{cls.__name__} has no option(s) {', '.join(unknown)}")
        return cls.Config(**options)

    @classmethod
    def config_from_spec(cls, spec: dict[str, Any]) -> SignalConfig:
        """The config a run's saved spec records (options it predates keep their defaults)."""
        return cls.Config.from_dict(spec)

    @property
    def in_dim(self) -> int:
        return self.coords.shape[1]

    @property
    def out_dim(self) -> int:
        return self.values.shape[1]

    @property
    def shape(self) -> tuple[int, ...]:
        """Sample-grid shape for pictures of a model's internals: (H, W) for images, (N,) for audio, () if none."""
        return ()

    @classmethod
    def spec_shape(cls, spec: dict[str, Any]) -> tuple[int, ...]:
        """``shape`` read from a run's saved spec, without loading the data."""
        return ()

    def __len__(self) -> int:
        return self.coords.shape[0]

    @classmethod
    def accepts(cls, source: str) -> bool:
        """Whether ``load_signal(source)`` should build this kind (by default: by file suffix)."""
        return Path(source).suffix.lower() in cls.suffixes

    @classmethod
    @abstractmethod
    def from_spec(cls, spec: dict[str, Any], run_dir: Path | None) -> Signal:
        """Rebuild the signal from ``spec()`` output; relative paths are relative to ``run_dir``."""

    @abstractmethod
    def spec(self, run_dir: Path | None = None) -> dict[str, Any]:
        """JSON description from which ``load_signal(spec, run_dir)`` rebuilds this signal.

        A signal with no file behind it (an in-memory array) saves its data into ``run_dir``.
        """

    @abstractmethod
    def metrics(self, pred: torch.Tensor) -> dict[str, float]:
        """Quality of a prediction [M, out_dim] at ``eval_coords`` (normalised space) against ``eval_values``."""

    @abstractmethod
    def psnr(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        """Cheap headline score of a prediction against ``target`` at the same samples (normalised space): the
        fit's logged psnr on ``eval_coords``, or on its trained and held-out parts."""

    @abstractmethod
    def write_outputs(self, pred: torch.Tensor, out_dir: Path) -> list[Path]:
        """Write the reconstruction ``pred`` (at ``eval_coords``) and pictures of it into ``out_dir``; return the
        files written."""

    @classmethod
    def model_name(cls, name: str) -> str:
        """The registered model that ``--model name`` means for this kind (a scene maps ``nstr`` to its
        radiance-field form); refuses models made for another kind of input."""
        if 6 in model_class(name).in_dims:
            raise NstrError(f"model '{name}' renders rays of a scene (a folder with transforms_train.json), "
                            f"not a {cls.kind}")
        return name

    def training_metrics(self, steps: int, seconds: float) -> dict[str, float]:
        """Speed numbers of a finished fit in this kind's units (a scene's rays per second); none by default."""
        return {}

    def model_defaults(self, model_name: str) -> dict[str, Any]:
        """Model options that suit this kind of signal (SIREN's omega0 = 3000 for audio), applied where the
        user gave none; recorded in the run's config like any other option. None by default."""
        return {}

    @property
    def training_targets(self) -> torch.Tensor:
        """Per-sample training data [N, out_dim + E], indexed like ``coords`` and passed to ``loss_terms`` as y.

        By default the values; a kind whose loss needs more per sample (an SDF's surface normals) appends
        columns here while ``values`` stays [N, out_dim] for evaluation.
        """
        return self.values

    def loss_terms(self, model: Field, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named training-loss terms on a batch (the fit minimises their sum and logs each).

        By default the model's own terms (squared error plus its regularisers); a kind with another loss
        (an SDF's eikonal term) overrides this and adds ``model.regularisers(x)``.
        """
        return model.loss_terms(x, y)

    @property
    def eval_coords(self) -> torch.Tensor:
        """The coordinates the fit scores the model at [M, in_dim]: the logged psnr, the choice of the best
        weights, ``metrics`` and ``write_outputs``. By default the training samples themselves; a kind that
        redraws its training samples returns its fixed evaluation set (and sets ``evaluates_training_samples``
        to False)."""
        return self.coords

    @property
    def eval_values(self) -> torch.Tensor:
        """Target values [M, out_dim] at ``eval_coords``."""
        return self.values

    def before_step(self, step: int, generator: torch.Generator) -> bool:
        """Called before every optimiser step; return True after replacing ``coords``/``values`` (resampling,
        through ``nstr.signals.sampling.Resampler``). The number of samples stays the same."""
        return False

    def to(self, device: str | torch.device) -> Signal:
        """Move the tensors the fit trains and scores on to ``device``, once, so minibatches are drawn there.

        On a CUDA device with too little free memory (more than ``nstr.core.device.DEVICE_MEMORY_SHARE`` of it)
        the tensors stay on the host in pinned memory instead (``streamed``): the fit draws each minibatch on
        the host and copies it to the device. Returns the signal itself.
        """
        device = torch.device(device)
        sizes: dict[int, int] = {}

        def measure(tensor: torch.Tensor) -> torch.Tensor:
            sizes[id(tensor)] = tensor.numel() * tensor.element_size()
            return tensor

        self.move_tensors(measure)
        streamed = not fits_on(device, sum(sizes.values()))
        moved: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # tensors shared by two names are moved once

        def move(tensor: torch.Tensor) -> torch.Tensor:
            if id(tensor) not in moved:
                copy = (tensor if tensor.is_pinned() else tensor.pin_memory()) if streamed else tensor.to(device)
                moved[id(tensor)] = (tensor, copy)
            return moved[id(tensor)][1]

        self.move_tensors(move)
        self.device, self.streamed = (torch.device("cpu"), True) if streamed else (device, False)
        return self

    def move_tensors(self, move: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Replace every tensor the fit uses by ``move(tensor)`` (``to`` calls this). By default every tensor
        attribute of the signal (coordinates, values, targets, evaluation set); a kind that keeps tensors in
        other objects (a pool of samples, camera views) moves those too."""
        for name, value in list(vars(self).items()):
            if isinstance(value, torch.Tensor):
                setattr(self, name, move(value))

    def field_metrics(self, model: Field) -> dict[str, Any]:
        """Quality numbers that need the fitted field itself, not its values at ``coords`` (an SDF's Chamfer
        distance on an extracted mesh); merged into metrics.json at the end of a fit. None by default."""
        return {}

    def write_field_outputs(self, model: Field, out_dir: Path) -> list[Path]:
        """Files decoded from the fitted field (an SDF's mesh.ply) at the end of a fit; none by default."""
        return []

    def preview(self, model: Field, pred: torch.Tensor) -> np.ndarray | None:
        """A small picture of the fit during training, RGB uint8 [H, W, 3] with the longer side at most
        ``PREVIEW_SIZE``, for live loggers (TensorBoard's image at each evaluation); ``pred`` is the model at
        ``eval_coords``. None by default: a kind without one logs scalars only."""
        return None

    def summary(self, metrics: dict[str, Any]) -> str:
        """One line of quality numbers for the command line."""
        return f"psnr {metrics['psnr']:.2f} dB"

    def output_names(self) -> str:
        """The files ``write_outputs`` and the fit leave in a run directory, for the command line."""
        return "metrics.json, model.safetensors, curve.png"

    @classmethod
    def render_run(cls, model: Field, spec: dict[str, Any], output: Path, options: dict[str, Any]) -> str:
        """Decode a fitted run into ``output``; return a one-line description of what was written."""
        raise NstrError(f"'nstr render' does not support {cls.kind} runs yet")
