"""FreSh (Kania et al. 2024): choose an embedding hyperparameter by matching spectra at initialisation.

The recipe, as in the official code (gmum/FreSh):

1. Target and untrained model output as (C, H, W) arrays in [-1, 1], both resized to a square (side =
   min(H, W), at most 1024, antialiased) before the DFT.
2. Magnitude of the unshifted DFT over the spatial axes, summed over channels.
3. Keep the non-redundant half of the DFT (:func:`mask_2d`) and sum it along anti-diagonals:
   ``s[k] = sum over i + j = k of |F[i, j]|`` (length 2n - 1 for side n). Volumes sum over
   ``i + j + k`` with the official 3-D mask (:func:`mask_3d`, length 3n - 2); 1-D signals use the analogue
   described in :func:`mask_1d` (length n).
4. Drop the DC entry ``s[0]`` and keep the first ``n`` entries (64 in the official configurations).
5. Distance: the 1-D Wasserstein distance between the two spectra as histograms over the index
   (:func:`spectral_distance`).
6. For each candidate value, average the distance over freshly initialised models; pick the argmin.

:func:`spectrum` reproduces numbers computed by the official code to better than 1e-9 relative (it works in
float64; the official works in float32, which agrees to about 1e-7).
"""

from __future__ import annotations

import math
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nstr.errors import NstrError

#: Largest side of the square (cube) the signal is resized to before the DFT, as the official code.
MAX_SIDE = 1024
#: Spectrum entries compared by default (after dropping DC), as the official configurations.
DEFAULT_N = 64
#: Precisions of the batched untrained forward passes (see :func:`select`).
PRECISIONS = ("bfloat16", "float32")

# ----------------------------------------------------------------------------------------------- spectra


def mask_1d(n: int) -> torch.Tensor:
    """Non-redundant half of a length-``n`` real DFT: indices ``0 .. n // 2`` (bool, shape (n,)).

    The DFT of a real signal satisfies ``F[k] = conj(F[n - k])``, so ``k <= n // 2`` carries everything;
    for even ``n`` the self-conjugate entry ``n / 2`` is kept once. This is the first row of
    :func:`mask_2d`, so the 1-D spectrum of ``f`` equals the 2-D spectrum of the image that repeats ``f``
    on every row, divided by the number of rows (and without the 2-D spectrum's trailing zeros).
    """
    return torch.arange(n) <= n // 2


def mask_2d(n: int) -> torch.Tensor:
    """The official non-redundant half of an ``n x n`` DFT (bool, shape (n, n)), indexed ``[i, j]``.

    Kept: the upper-left anti-triangle ``i + j <= n - 1``; on the next anti-diagonal ``i + j == n`` the
    first ``n // 2`` entries counted from the top row down (rows ``1 .. n // 2``); minus the first row and
    the first column after index ``n // 2`` (they are 1-D DFTs, redundant past their middle).
    """
    i = torch.arange(n)[:, None]
    j = torch.arange(n)[None, :]
    half = n // 2
    keep = (i + j <= n - 1) | ((i + j == n) & (i >= 1) & (i <= half))
    keep &= ~((j == 0) & (i > half)) & ~((i == 0) & (j > half))
    return keep


def mask_3d(n: int) -> torch.Tensor:
    """The official non-redundant part of an ``n x n x n`` DFT (bool, shape (n, n, n)), indexed ``[i, j, k]``.

    Each face through the origin (``i == 0``, ``j == 0`` or ``k == 0``) carries :func:`mask_2d` of the other
    two indices. Inside (all of ``i, j, k >= 1``) an entry is kept when ``j + k <= n - 1 + n // 2 - i + e``
    with ``e = 1`` for ``i < n // 2`` or odd ``n`` and ``e = 0`` otherwise; for even ``n`` the slice
    ``i == n / 2`` also keeps ``j + k == n`` with ``k >= n / 2``. This is the official code's mask, kept as
    it is so the numbers agree with it.
    """
    i = torch.arange(n)[:, None, None]
    j = torch.arange(n)[None, :, None]
    k = torch.arange(n)[None, None, :]
    m2 = mask_2d(n)
    half = n // 2
    extra = ((i < half) | (n % 2 == 1)).to(torch.long)
    inner = (j + k <= n - 1 + half - i + extra)
    if n % 2 == 0:
        inner = inner | ((i == half) & (j + k == n) & (k >= half))
    keep = inner & (i >= 1) & (j >= 1) & (k >= 1)
    keep = torch.where(i == 0, m2[None, :, :], keep)
    keep = torch.where(j == 0, m2[:, None, :], keep)
    keep = torch.where(k == 0, m2[:, :, None], keep)
    return keep


@lru_cache(maxsize=16)
def _bins(shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor, int]:
    """For a DFT of ``shape``: flat indices of the kept entries, their index sums, and the spectrum length."""
    n = shape[0]
    if any(s != n for s in shape):
        raise ValueError(f"the DFT must be square (cubic), got shape {shape}")
    mask = {1: mask_1d, 2: mask_2d, 3: mask_3d}[len(shape)](n)
    grids = torch.meshgrid(*[torch.arange(n)] * len(shape), indexing="ij")
    total = sum(grids) if len(shape) > 1 else grids[0]
    flat = torch.nonzero(mask.reshape(-1)).squeeze(1)
    return flat, total.reshape(-1)[flat], len(shape) * (n - 1) + 1


def diagonal_sums(magnitude: torch.Tensor) -> torch.Tensor:
    """Masked DFT magnitudes summed by index sum: ``s[k] = sum over i + j (+ l) = k`` of kept entries.

    ``magnitude`` is (n,), (n, n) or (n, n, n); the result has length ``n``, ``2n - 1`` or ``3n - 2``,
    including the DC entry ``s[0]``.
    """
    flat, bins, length = _bins(tuple(magnitude.shape))
    values = magnitude.reshape(-1)[flat]
    return torch.zeros(length, dtype=values.dtype).index_add_(0, bins, values)


def resize_to_square(y: torch.Tensor, max_side: int = MAX_SIDE) -> torch.Tensor:
    """Resize (C, H, W) to (C, s, s) with s = min(H, W, max_side), antialiased bilinear, as the official code.

    Volumes (C, D, H, W) go to a cube of side min(D, H, W, max_side) by area averaging (an antialiased box
    filter; ``torch`` has no antialiased trilinear). 1-D signals (C, T) are returned unchanged. Inputs that
    are already square (cubic) and no larger than ``max_side`` are returned as they are.
    """
    spatial = tuple(y.shape[1:])
    if len(spatial) == 1:
        return y
    side = min(min(spatial), max_side)
    if all(s == side for s in spatial):
        return y
    if len(spatial) == 2:
        return F.interpolate(y[None], size=(side, side), mode="bilinear", align_corners=False, antialias=True)[0]
    if len(spatial) == 3:
        return F.interpolate(y[None], size=(side, side, side), mode="area")[0]
    raise ValueError(f"expected (C, T), (C, H, W) or (C, D, H, W), got shape {tuple(y.shape)}")


def spectrum(y: torch.Tensor | np.ndarray, n: int | None = None, resize: bool = True) -> torch.Tensor:
    """The official FreSh 1-D spectrum of ``y`` (float64), DC dropped, cropped to the first ``n`` entries.

    ``y`` is (C, T) for 1-D signals, (C, H, W) for images or (C, D, H, W) for volumes (channels first).
    With ``resize`` the signal is first resized to a square (cube) as :func:`resize_to_square`. The
    magnitudes of the unshifted DFT over the spatial axes are summed over channels, masked to the
    non-redundant half and summed by index sum (:func:`diagonal_sums`); for side ``s`` the result has
    length ``s - 1``, ``2s - 2`` or ``3s - 3`` before cropping.

    Note the official code reads a 2-D input as one single-channel image; here 2-D means (C, T).
    """
    y = torch.as_tensor(y).detach().cpu().to(torch.float64)
    if y.ndim not in (2, 3, 4):
        raise ValueError(f"expected (C, T), (C, H, W) or (C, D, H, W), got shape {tuple(y.shape)}")
    if resize:
        y = resize_to_square(y)
    dims = tuple(range(1, y.ndim))
    magnitude = torch.fft.fftn(y, dim=dims).abs().sum(dim=0)
    s = diagonal_sums(magnitude)[1:]
    return s if n is None else s[:n]


def spectral_distance(u: Sequence[float] | np.ndarray | torch.Tensor,
                      v: Sequence[float] | np.ndarray | torch.Tensor) -> float:
    """1-D Wasserstein distance between two spectra read as histograms over their index 0 .. len - 1.

    Exactly ``scipy.stats.wasserstein_distance(arange(n), arange(n), u_weights=u, v_weights=v)``; the
    weights are normalised by scipy, so only the shape of each spectrum matters.
    """
    from scipy.stats import wasserstein_distance

    u = np.asarray(torch.as_tensor(u, dtype=torch.float64).cpu())
    v = np.asarray(torch.as_tensor(v, dtype=torch.float64).cpu())
    if u.ndim != 1 or u.shape != v.shape:
        raise ValueError(f"spectra must be 1-D with the same length, got {u.shape} and {v.shape}")
    index = np.arange(len(u))
    return float(wasserstein_distance(index, index, u_weights=u, v_weights=v))


# ----------------------------------------------------------------------------- batched untrained forwards

Forward = Callable[[torch.Tensor], torch.Tensor]
#: Model class name -> builder of a fast forward ``fn(model, dtype) -> (x -> y) or None``.
FAST_FORWARDS: dict[str, Callable[[nn.Module, torch.dtype], Forward | None]] = {}


def fast_forward(class_name: str):
    """Register a fast inference forward for a model class (by class name, so no import cycle).

    The builder returns ``None`` when it does not recognise the model's structure, and :func:`select`
    then falls back to the model's own forward in float32. A builder must keep the first (coordinate)
    layer in float32 and may run the wide hidden matrix products in ``dtype``.
    """

    def add(builder: Callable[[nn.Module, torch.dtype], Forward | None]):
        FAST_FORWARDS[class_name] = builder
        return builder

    return add


def _sin_(h: torch.Tensor) -> torch.Tensor:
    """In-place sine; float32 through numpy's SIMD sine (measured 2.4x torch's on this CPU, same accuracy)."""
    if h.dtype == torch.float32 and h.device.type == "cpu" and h.is_contiguous():
        array = h.numpy()
        np.sin(array, out=array)
        return h
    return h.sin_()


def _linear_chain(layers: list[tuple[torch.Tensor, torch.Tensor]], dtype: torch.dtype,
                  activation: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """h -> activation(h W + b) for each (W^T, b) in ``layers``, in ``dtype``; returns float32."""
    cast = [(w.to(dtype).contiguous(), b.to(dtype)) for w, b in layers]

    def run(h: torch.Tensor) -> torch.Tensor:
        h = h.to(dtype)
        for w, b in cast:
            h = activation(torch.addmm(b, h, w))
        return h.float()

    return run


@fast_forward("SIREN")
def _siren_forward(model: nn.Module, dtype: torch.dtype) -> Forward | None:
    """SIREN with each omega folded into its layer: sin(x (omega W)^T + omega b), one addmm + in-place sin."""
    sines, omegas, last = getattr(model, "sines", None), getattr(model, "omegas", None), getattr(model, "last", None)
    if not isinstance(sines, nn.ModuleList) or omegas is None or not isinstance(last, nn.Linear):
        return None
    folded = [((layer.weight * w).t().contiguous(), layer.bias * w) for layer, w in zip(sines, omegas, strict=True)]
    (w0, b0), hidden = folded[0], _linear_chain(folded[1:], dtype, _sin_)
    wl, bl = last.weight.t().contiguous(), last.bias

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(bl, hidden(_sin_(torch.addmm(b0, x, w0))), wl)

    return run


@fast_forward("FourierMLP")
def _ffn_forward(model: nn.Module, dtype: torch.dtype) -> Forward | None:
    """Fourier features in float32, then the MLP's hidden Linear layers in ``dtype``, the last in float32."""
    encoding, mlp = getattr(model, "encoding", None), getattr(model, "mlp", None)
    if encoding is None or not isinstance(mlp, nn.Sequential):
        return None
    modules = list(mlp)
    linears = [m for m in modules if isinstance(m, nn.Linear)]
    acts = {type(m) for m in modules if not isinstance(m, nn.Linear)}
    if len(acts) != 1 or not isinstance(modules[-1], nn.Linear) or len(modules) != 2 * len(linears) - 1:
        return None
    act = modules[1]
    if isinstance(act, nn.ReLU):
        activation = torch.relu_
    elif isinstance(act, nn.GELU):
        def activation(h: torch.Tensor, approximate: str = act.approximate) -> torch.Tensor:
            return F.gelu(h, approximate=approximate)
    else:
        return None
    hidden = _linear_chain([(m.weight.t(), m.bias) for m in linears[:-1]], dtype, activation)
    wl, bl = linears[-1].weight.t().contiguous(), linears[-1].bias

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(bl, hidden(encoding(x)), wl)

    return run


def _forward_for(model: nn.Module, precision: str) -> tuple[Forward, str]:
    """The fastest available forward of ``model`` and the precision it actually runs in."""
    builder = FAST_FORWARDS.get(type(model).__name__)
    dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
    with torch.no_grad():
        fast = builder(model, dtype) if builder is not None else None
    if fast is not None:
        return fast, precision
    return model, "float32"


class _Workers:
    """Run independent forward passes on ``workers`` threads, each with one torch thread.

    Whole models in parallel rather than each product split across threads: on a shared 2-core machine
    the split products wait for each other at every barrier (measured 4-5x slower under load). The
    models are built beforehand in the calling thread, since torch's global RNG is not thread-safe.
    """

    def __init__(self, workers: int | None):
        self.workers = max(1, workers if workers is not None else torch.get_num_threads())
        self.pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> _Workers:
        if self.workers > 1:
            self.pool = ThreadPoolExecutor(self.workers, initializer=torch.set_num_threads, initargs=(1,))
        return self

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> Iterator[Any]:
        return self.pool.map(fn, items) if self.pool is not None else map(fn, items)

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


@torch.inference_mode()
def evaluate(forward: Forward, x: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """``forward`` over ``x`` [N, d] in chunks (activations stay in cache), float32 [N, out]."""
    return torch.cat([forward(x[i : i + chunk]).float() for i in range(0, x.shape[0], chunk)])


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
    from nstr.models import model_class

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


def select(signal: Any, model: str, param: str, values: Sequence[float], inits: int = 10, n: int = DEFAULT_N,
           seed: int = 0, options: dict[str, Any] | None = None, precision: str = "bfloat16",
           workers: int | None = None, progress: Callable[[int, int], None] | None = None) -> Selection:
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
    256 x 256 grid within 30 s on 2 cores; ``"bfloat16"`` (the default) runs the hidden-layer products of
    SIREN and Fourier-feature MLPs in bfloat16 with float32 accumulation (first layer and output stay in
    float32), about twice as fast. Measured on camera 256 x 256 against float32 (same seeds): mean
    distances differ by at most 0.02 for omega0 >= 30 and by about 0.09 (0.2 standard errors of 10
    inits) at omega0 = 10, where the smooth output makes rounding noise most visible; the choice (70)
    is the same. Use ``"float32"`` for the exact recipe.
    """
    from nstr.models import build_model
    from nstr.signals.image import pixel_centres

    if precision not in PRECISIONS:
        raise NstrError(f"precision must be one of {', '.join(PRECISIONS)}, got '{precision}'")
    if inits < 1:
        raise NstrError(f"inits must be a positive number of initialisations, got {inits}")
    if n < 1:
        raise NstrError(f"n (spectrum entries compared) must be positive, got {n}")
    options = dict(options or {})
    name, typed = check_param(model, param, values, options)
    started = time.perf_counter()
    target_image = resize_to_square(_target_image(signal).double())
    side = target_image.shape[-1]
    target = spectrum(target_image, n)
    if float(target.sum()) <= 0:
        raise NstrError("the target image is constant: its spectrum is empty, there is nothing to match")
    x = pixel_centres(side, side)
    in_dim, out_dim = signal.in_dim, signal.out_dim
    used = {precision}

    def score(net: nn.Module) -> torch.Tensor:
        forward, actual = _forward_for(net, precision)
        if actual != precision:
            used.add(actual)
        out = evaluate(forward, x)
        return spectrum(out.t().reshape(out_dim, side, side), n, resize=False)

    candidates: list[Candidate] = []
    total, done = len(typed) * inits, 0
    with _Workers(workers) as pool:
        for value in typed:
            nets = []
            for k in range(inits):  # built here, in order: the global RNG is not thread-safe
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(_init_seed(seed, k))
                    nets.append(build_model(model, in_dim, out_dim, **{**options, name: value}).eval())
            distances, spectra = [], []
            for s in pool.map(score, nets):
                usable = bool(torch.isfinite(s).all()) and float(s.sum()) > 0
                distances.append(spectral_distance(target, s) if usable else math.inf)
                spectra.append(s.numpy())
                done += 1
                if progress is not None:
                    progress(done, total)
            candidates.append(Candidate(value, distances, np.mean(spectra, axis=0)))
    used_precision = "float32" if "float32" in used else precision
    return Selection(model=model, param=name, candidates=candidates, target=target.numpy(), inits=inits, n=n,
                     seed=seed, side=side, precision=used_precision, options=options,
                     seconds=time.perf_counter() - started)


# ------------------------------------------------------------------------------------------------- plot


def plot_selection(selection: Selection, path: Path, title: str | None = None) -> Path:
    """PNG: the target spectrum against the best and worst candidates' mean spectra, and distance vs value.

    Spectra are shown as the distance sees them: the first ``n`` entries, each normalised to sum to one.
    """
    from nstr.viz import pyplot, save_figure

    plt = pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    index = np.arange(1, selection.n + 1)[: len(selection.target)]

    def unit(s: np.ndarray) -> np.ndarray:
        return s / max(float(np.sum(s)), 1e-300)

    best, worst = selection.best, selection.worst
    ax.plot(index, unit(selection.target), color="black", lw=2, label="target")
    ax.plot(index, unit(best.spectrum), color="tab:green",
            label=f"best {selection.param}={best.value:g} (W {best.mean:.3g})")
    if worst is not best:
        ax.plot(index, unit(worst.spectrum), color="tab:red", ls="--",
                label=f"worst {selection.param}={worst.value:g} (W {worst.mean:.3g})")
    ax.set_yscale("log")
    ax.set_xlabel("spectrum index (diagonal frequency, DC dropped)")
    ax.set_ylabel("share of the compared spectrum")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    vals = [c.value for c in selection.candidates]
    ax2.errorbar(vals, [c.mean for c in selection.candidates], yerr=[c.std for c in selection.candidates],
                 marker="o", ms=3, capsize=2)
    ax2.axvline(best.value, color="tab:green", alpha=0.5)
    ax2.set_xlabel(selection.param)
    ax2.set_ylabel(f"Wasserstein distance (mean ± std, {selection.inits} inits)")
    ax2.grid(alpha=0.3)
    fig.suptitle(title or f"FreSh: {selection.model} {selection.param} (n = {selection.n})")
    return save_figure(fig, Path(path))


__all__ = [
    "MAX_SIDE", "DEFAULT_N", "PRECISIONS", "mask_1d", "mask_2d", "mask_3d", "diagonal_sums", "resize_to_square",
    "spectrum", "spectral_distance", "fast_forward", "evaluate", "check_param", "Candidate", "Selection",
    "select", "plot_selection",
]

