"""FreSh selection: rank candidate values of one model option by spectral distance at initialisation."""

from __future__ import annotations

import math
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from nstr.core.device import resolve_device
from nstr.core.errors import NstrError
from nstr.core.precision import native_bf16
from nstr.fresh.forwards import _Workers, evaluate, forward_for
from nstr.fresh.spectra import (
    DEFAULT_N,
    PRECISIONS,
    resize_to_square,
    spectral_distance,
    spectrum,
    square_side,
)
from nstr.models import build_model, model_class
from nstr.signals.image.signal import pixel_centres

# ------------------------------------------------------------------------------------------------ select


@dataclass
class Candidate:
    """One candidate value: distances over the initialisations, their mean and (population) spread."""

    value: float
    distances: list[float]
    spectrum: np.ndarray = field(repr=False)  # mean model spectrum, first n entries

    @property
    def mean(self) -> float:
        return float(np.mean(self.distances))

    @property
    def std(self) -> float:
        return float(np.std(self.distances))

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "mean": self.mean, "std": self.std, "distances": self.distances}


@dataclass
class Selection:
    """What :func:`select` found; ``to_dict()`` is what ``fresh.json`` and a run's config.json store."""

    model: str
    param: str
    candidates: list[Candidate]
    target: np.ndarray = field(repr=False)  # target spectrum, first n entries
    inits: int = 10
    n: int = DEFAULT_N
    seed: int = 0
    side: int = 0
    precision: str = "float32"
    options: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    device: str = "cpu"  #: where the untrained models ran

    @property
    def best(self) -> Candidate:
        """The candidate with the smallest mean distance (the first one on a tie)."""
        return min(self.candidates, key=lambda c: c.mean)

    @property
    def worst(self) -> Candidate:
        return max(self.candidates, key=lambda c: c.mean)

    def ranked(self) -> list[Candidate]:
        return sorted(self.candidates, key=lambda c: c.mean)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "param": self.param, "best": self.best.value,
            "candidates": [c.to_dict() for c in self.candidates],
            "inits": self.inits, "n": self.n, "seed": self.seed, "side": self.side,
            "precision": self.precision, "options": dict(self.options), "seconds": self.seconds,
            "device": self.device,
        }


def _init_seed(seed: int, k: int) -> int:
    """Seed of initialisation ``k``; the same for every candidate value (common random numbers)."""
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


def _option_type(cls: type, param: str) -> type:
    hints = typing.get_type_hints(cls.Config)
    return hints[param]


def check_param(model: str, param: str, values: Sequence[float], options: dict[str, Any] | None = None
                ) -> tuple[str, list[float | int]]:
    """Validate ``param`` and ``values`` for ``model``: returns the config field name and typed values.

    ``param`` may be spelt with dashes (``basis-sigma``). Every value is checked against the model's
    config with the fixed ``options`` before any model is evaluated; problems are one-line NstrErrors.
    """
    cls = model_class(model)
    name = param.replace("-", "_")
    names = cls.option_names()
    if name not in names:
        raise NstrError(f"'{param}' is not an option of model '{model}' (options: {', '.join(names)})")
    options = dict(options or {})
    if name in options:
        raise NstrError(f"'{param}' is the option being selected; do not also fix it")
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise NstrError(f"model '{model}' has no option(s) {', '.join(unknown)}")
    kind = _option_type(cls, name)
    if kind not in (int, float):
        raise NstrError(f"'{param}' of model '{model}' is not numeric; FreSh selects a number")
    if not values:
        raise NstrError("give at least one candidate value")
    typed: list[float | int] = []
    for v in values:
        v = float(v)
        if not math.isfinite(v):
            raise NstrError(f"candidate value {v} is not finite")
        if kind is int:
            if not v.is_integer():
                raise NstrError(f"'{param}' of model '{model}' takes whole numbers, got {v:g}")
            v = int(v)
        try:
            cls.Config(**{**options, name: v})
        except (ValueError, TypeError) as exc:
            raise NstrError(f"model '{model}' with {param}={v:g}: {exc}") from None
        typed.append(v)
    if len(set(typed)) != len(typed):
        raise NstrError("candidate values repeat; give each value once")
    return name, typed


def _target_image(signal: Any) -> torch.Tensor:
    """The signal's values as a (C, H, W) tensor; FreSh selection supports images."""
    fmt = getattr(signal, "format", None)
    if fmt is None or not hasattr(fmt, "height") or signal.in_dim != 2:
        raise NstrError(f"FreSh selection supports images; got a {getattr(signal, 'kind', 'signal')}")
    return signal.values.t().reshape(signal.out_dim, fmt.height, fmt.width)


def concrete_precision(precision: str, device: torch.device) -> str:
    """``precision`` with "auto" resolved for ``device``: bfloat16 where it multiplies bfloat16 natively, else
    float32 (emulated bfloat16 is many times slower than float32: see :func:`select`)."""
    if precision != "auto":
        return precision
    return "bfloat16" if native_bf16(device) else "float32"


def select(signal: Any, model: str, param: str, values: Sequence[float], inits: int = 10, n: int = DEFAULT_N,
           seed: int = 0, options: dict[str, Any] | None = None, precision: str = "auto",
           workers: int | None = None, progress: Callable[[int, int], None] | None = None,
           device: str | torch.device | None = None) -> Selection:
    """FreSh: the value of ``param`` whose untrained models' spectra are closest to the signal's.

    ``signal`` is an nstr image signal (values in [-1, 1]); ``model`` a registry name; ``param`` a numeric
    option of that model's config; ``values`` the candidates; ``options`` fixes the other options. For
    each value, ``inits`` models are built with ``nstr.models.build_model`` (initialisation ``k`` seeded
    from ``(seed, k)``, the same seeds for every value, so the comparison between values is paired),
    evaluated untrained on the pixel centres of the square grid of side min(H, W, 1024), and scored by
    :func:`spectral_distance` between the target's and the output's :func:`spectrum`, both cropped to
    ``n``. The target is the signal resized to that square as the official code does. ``workers``
    threads (default: torch's thread count) evaluate whole models in parallel; ``progress(done, total)``
    is called after each model.

    What the parameter means:

    - SIREN ``omega0``: the frequency scale of the first layer, sin(omega0 (W0 x + b0)); larger values
      move the untrained output's energy to higher frequencies. Official grid 10, 20, ..., 200.
    - Fourier features (``ffn``) ``sigma``: the standard deviation of the frequencies B in
      [sin(2 pi B x), cos(2 pi B x)], in cycles per unit on [-1, 1] (the official code's convention too,
      so its grid 1, 2, ..., 20 carries over; Tancik's sigma on [0, 1) is twice ours).
    - NSTR ``basis-sigma`` (the scale of its global basis frequencies omega_i) and DINR's embedding
      scale (the Fourier sigma or SIREN omega of its first map): any numeric option of a registered model
      is selected the same way, by registry name; models without a registered fast forward
      (:func:`fast_forward`) run their own forward in float32.

    ``precision``: the official code runs in float32. On a CPU the untrained forward passes dominate and
    float32 matrix products run at the FMA peak, too slow for 20 values x 10 inits of SIREN 3 x 256 on a
    256 x 256 grid within 30 s on 2 cores; ``"bfloat16"`` runs the hidden-layer products of SIREN and
    Fourier-feature MLPs in bfloat16 with float32 accumulation (first layer and output stay in float32),
    about twice as fast where the hardware multiplies bfloat16 (AVX512-BF16 or AMX). Measured on camera
    256 x 256 against float32 (same seeds): mean distances differ by at most 0.02 for omega0 >= 30 and by
    about 0.09 (0.2 standard errors of 10 inits) at omega0 = 10, where the smooth output makes rounding noise
    most visible; the choice (70) is the same. Without those units bfloat16 is emulated: on an AVX2 CPU one
    untrained 1.2M-parameter Fourier MLP on a 512 x 512 grid took 364 s in bfloat16 against 21 s in float32
    (one thread). ``"auto"`` (the default) is therefore bfloat16 where :func:`native_bf16` says the device
    has it, float32 elsewhere; ``"float32"`` is the exact recipe everywhere.

    ``device``: where the untrained models run ("auto", "cpu", "cuda", ...; None: the CPU). Each model is
    initialised on the host from its seed and then moved, so a value's models are the same on every device;
    spectra and distances are computed on the host in float64. On a GPU the models run one after another.
    """
    return select_many([signal], model, param, values, inits, n, seed, options, precision, workers, progress,
                       device)[0]


def select_many(signals: Sequence[Any], model: str, param: str, values: Sequence[float], inits: int = 10,
                n: int = DEFAULT_N, seed: int = 0, options: dict[str, Any] | None = None, precision: str = "auto",
                workers: int | None = None, progress: Callable[[int, int], None] | None = None,
                device: str | torch.device | None = None) -> list[Selection]:
    """:func:`select` for each of ``signals``, evaluating the untrained models once per shape.

    The untrained models' spectra depend on the architecture, the grid side and the channels, not on the
    target: signals with the same square side and channel count share them, and only the distances are
    computed per signal. Each selection equals :func:`select` on its signal alone; its ``seconds`` is the time
    of the spectra it used (shared ones counted in full for each signal) plus its own target's.
    """
    found = dict(iter_selections(signals, model, param, values, inits, n, seed, options, precision, workers,
                                 progress, device))
    return [found[k] for k in range(len(signals))]


def iter_selections(signals: Sequence[Any], model: str, param: str, values: Sequence[float], inits: int = 10,
                    n: int = DEFAULT_N, seed: int = 0, options: dict[str, Any] | None = None,
                    precision: str = "auto", workers: int | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    device: str | torch.device | None = None) -> Iterator[tuple[int, Selection]]:
    """:func:`select_many` as (index into ``signals``, selection) pairs, yielded as soon as the untrained models
    of each shape are scored (so a caller can store them before the next shape's models run)."""
    if precision not in PRECISIONS:
        raise NstrError(f"precision must be one of {', '.join(PRECISIONS)}, got '{precision}'")
    if inits < 1:
        raise NstrError(f"inits must be a positive number of initialisations, got {inits}")
    if n < 1:
        raise NstrError(f"n (spectrum entries compared) must be positive, got {n}")
    options = dict(options or {})
    name, typed = check_param(model, param, values, options)
    device = resolve_device("cpu" if device is None else device)
    precision = concrete_precision(precision, device)
    targets = []
    for signal in signals:
        started = time.perf_counter()
        target_image = resize_to_square(_target_image(signal).double())
        target = spectrum(target_image, n)
        if float(target.sum()) <= 0:
            raise NstrError("the target image is constant: its spectrum is empty, there is nothing to match")
        targets.append((grid_shape(signal), target, time.perf_counter() - started))
    shapes = list(dict.fromkeys(shape for shape, _, _ in targets))
    total = len(shapes) * len(typed) * inits
    for k, shape in enumerate(shapes):
        done = k * len(typed) * inits
        step = None if progress is None else (lambda i, _t, done=done: progress(done + i, total))
        started = time.perf_counter()
        spectra, used = untrained_spectra(model, name, typed, *shape, inits=inits, n=n, seed=seed,
                                          options=options, precision=precision, device=device, workers=workers,
                                          progress=step)
        seconds = time.perf_counter() - started
        for index, (own, target, target_seconds) in enumerate(targets):
            if own != shape:
                continue
            candidates = []
            for value, value_spectra in zip(typed, spectra, strict=True):
                distances = [spectral_distance(target, s) if bool(torch.isfinite(s).all()) and float(s.sum()) > 0
                             else math.inf for s in value_spectra]
                candidates.append(Candidate(value, distances, np.mean([s.numpy() for s in value_spectra], axis=0)))
            yield index, Selection(model=model, param=name, candidates=candidates, target=target.numpy(),
                                   inits=inits, n=n, seed=seed, side=shape[0], precision=used, options=options,
                                   seconds=seconds + target_seconds, device=str(device))


def grid_shape(signal: Any) -> tuple[int, int, int]:
    """(square grid side, input dims, channels) of the untrained models FreSh evaluates for ``signal``: signals
    with the same shape share them."""
    return square_side(tuple(_target_image(signal).shape[-2:])), signal.in_dim, signal.out_dim


def untrained_spectra(model: str, param: str, values: Sequence[float | int], side: int, in_dim: int,
                      out_dim: int, inits: int = 10, n: int = DEFAULT_N, seed: int = 0,
                      options: dict[str, Any] | None = None, precision: str = "float32",
                      device: torch.device | None = None, workers: int | None = None,
                      progress: Callable[[int, int], None] | None = None) -> tuple[list[list[torch.Tensor]], str]:
    """The spectra (first ``n`` entries) of ``inits`` untrained models per value of ``param`` (already checked by
    :func:`check_param`), evaluated on the pixel centres of a ``side`` x ``side`` grid; and the precision the
    forwards actually ran in (float32 where a model has no fast forward). ``precision`` is concrete here."""
    options = dict(options or {})
    device = device or torch.device("cpu")
    x = pixel_centres(side, side, device=device)
    used = {precision}

    def score(net: nn.Module) -> torch.Tensor:
        forward, actual = forward_for(net, precision)
        if actual != precision:
            used.add(actual)
        out = evaluate(forward, x).cpu()
        return spectrum(out.t().reshape(out_dim, side, side), n, resize=False)

    spectra: list[list[torch.Tensor]] = []
    total, done = len(values) * inits, 0
    with _Workers(workers if device.type == "cpu" else 1) as pool:
        for value in values:
            nets = []
            for k in range(inits):  # built here, in order: the global RNG is not thread-safe
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(_init_seed(seed, k))
                    nets.append(build_model(model, in_dim, out_dim, **{**options, param: value}).eval().to(device))
            spectra.append([])
            for s in pool.map(score, nets):
                spectra[-1].append(s)
                done += 1
                if progress is not None:
                    progress(done, total)
    return spectra, "float32" if "float32" in used else precision
