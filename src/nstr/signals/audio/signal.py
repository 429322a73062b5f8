"""Audio: WAV, FLAC and OGG waveforms (read and written with soundfile), arrays, or the built-in ``chirp``.

Coordinates: sample i of N sits at t_i = -1 + 2 i / (N - 1), so the first and last samples are the ends of
[-1, 1] at any rate, and ``nstr render RUN out.wav --rate R`` samples the same interval (the same duration)
with round(N R / rate) points. Channels are the outputs: a stereo file is a field [N, 1] -> [N, 2].

Values: samples in full-scale units (1.0 = digital full scale, integer PCM read exactly through int32) divided
by the file's peak |sample| over all channels, so they fill [-1, 1]; the peak is kept (``AudioFormat``) and
reconstructions are written back at the input's rate, length, channels, container and subtype (16-bit PCM stays
16-bit PCM; values beyond full scale are clipped for every subtype but FLOAT/DOUBLE).

soundfile (libsndfile) because it reads and writes WAV, FLAC and OGG/Vorbis with one API, exposes the subtype
so that output matches input, reads integer PCM without a lossy float detour, and streams blocks to disk.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from nstr.core.config import option
from nstr.core.device import accumulation_dtype, module_device
from nstr.core.errors import NstrError
from nstr.core.io import atomic_path
from nstr.core.lazy import lazy_import
from nstr.core.metrics import psnr
from nstr.core.plotting import shrink
from nstr.models.base import Field
from nstr.signals.audio.metrics import log_spectral_distance, snr, spectral_convergence
from nstr.signals.audio.pictures import PREVIEW_SAMPLES, save_spectrograms, save_waveform_detail, spectrogram_preview
from nstr.signals.base import PREVIEW_SIZE, Signal, SignalConfig
from nstr.signals.registry import register_signal

scipy_signal = lazy_import("scipy.signal")  # loaded on first use (0.4 s)

#: Containers we read and write, by file ending (soundfile's major format names).
CONTAINERS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".oga": "OGG"}
AUDIO_SUFFIXES = tuple(CONTAINERS)
#: Other audio endings: recognised so that they get an audio error message rather than an image one.
OTHER_AUDIO_SUFFIXES = (".mp3", ".aif", ".aiff", ".aifc", ".au", ".m4a", ".aac", ".opus", ".wma", ".caf", ".w64")
#: Integer PCM subtypes and their bit depths: read and written through int32 so values round-trip exactly.
INTEGER_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}
#: Subtypes that hold values beyond full scale (everything else is clipped to [-1, 1] on output).
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")
#: Samples per block when reading, evaluating and writing (memory stays bounded on long recordings).
BLOCK = 1 << 18
#: Audio's minibatch (``Audio.fit_defaults``), chosen by ``benchmarks/audio_batch.py``: the default models with their
#: audio defaults, about 15 s of training each (a step budget sized by a 20-step probe; one thread on a 2-core
#: machine shared with other work, so the seconds varied from 8 to 21), SNR in dB at 1024 / 4096 / 16384 / 65536:
#: speech (68,545 samples) nstr 31.9 / 34.8 / 26.1 / 12.0, hashgrid 40.8 / 47.0 / 52.6 / 16.3; chirp (44,100)
#: nstr 28.7 / 32.3 / 26.3 / 19.1, hashgrid 44.5 / 63.3 / 81.4 / 38.2; siren under 6 dB at every size in 15 s.
#: 65,536 (the images' default, a full batch on these clips) loses 13-31 dB; NSTR, the default model, is best at
#: 4096; the hash grid scored 6-18 dB more at 16,384 (where it also happened to train longer, 21 s against 8-13 s).
AUDIO_BATCH = 4096
CHIRP = "chirp"


@dataclass(frozen=True)
class Chirp:
    """The built-in synthetic signal: a linear sweep (scipy.signal.chirp), deterministic, mono."""

    rate: int = 44_100
    seconds: float = 1.0
    f0: float = 100.0  #: start frequency, Hz
    f1: float = 8_000.0  #: end frequency, Hz
    amplitude: float = 0.5

    def waveform(self) -> np.ndarray:
        """[N, 1] float32 samples in full-scale units, N = round(rate * seconds)."""
        t = np.arange(round(self.rate * self.seconds)) / self.rate
        # phi -90 degrees: the sweep starts at 0
        sweep = scipy_signal.chirp(t, f0=self.f0, t1=self.seconds, f1=self.f1, method="linear", phi=-90.0)
        return (self.amplitude * sweep).astype(np.float32)[:, None]


@dataclass(frozen=True)
class AudioFormat:
    """How a recording was stored: enough to write a prediction back as the user's own kind of file."""

    rate: int
    frames: int
    channels: int
    container: str  #: soundfile major format: WAV, FLAC or OGG
    subtype: str  #: soundfile subtype: PCM_16, PCM_24, FLOAT, VORBIS, ...
    peak: float  #: largest |sample| in full-scale units; values = samples / peak

    @property
    def suffix(self) -> str:
        return {"WAV": ".wav", "FLAC": ".flac", "OGG": ".ogg"}.get(self.container, ".wav")

    def to_file_data(self, values: np.ndarray, subtype: str | None = None) -> np.ndarray:
        """Normalised values [n, C] -> what soundfile writes for ``subtype`` (default the input's): int32
        quantised to the subtype's bit depth, else float64 full-scale units (clipped unless FLOAT/DOUBLE)."""
        subtype = subtype or self.subtype
        native = values.astype(np.float64) * self.peak
        if subtype in INTEGER_BITS:
            bits = INTEGER_BITS[subtype]
            top = float(1 << (bits - 1))
            levels = np.clip(np.rint(native * top), -top, top - 1).astype(np.int64)
            return (levels << (32 - bits)).astype(np.int32)
        return native if subtype in FLOAT_SUBTYPES else np.clip(native, -1.0, 1.0)


def time_coords(n: int, start: int = 0, stop: int | None = None, device: str | torch.device = "cpu") -> torch.Tensor:
    """Coordinates [stop - start, 1] of samples start..stop-1 of n: t_i = -1 + 2 i / (n - 1), float32, on
    ``device`` (computed in float64 there, except on MPS, which has none)."""
    device = torch.device(device)
    i = torch.arange(start, n if stop is None else stop, dtype=accumulation_dtype(device), device=device)
    return (i * (2.0 / (n - 1)) - 1.0).float().unsqueeze(1)


def _all_coords(n: int) -> torch.Tensor:
    coords = torch.empty(n, 1, device="cpu")
    for i in range(0, n, BLOCK):  # in blocks: no float64 temporary the size of the signal
        coords[i : i + BLOCK] = time_coords(n, i, min(i + BLOCK, n))
    return coords


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _check_path(source: str) -> Path:
    path = Path(source)
    if not path.exists():
        raise NstrError(f"audio file '{source}' not found: give an existing .wav, .flac or .ogg file, or '{CHIRP}'")
    if path.is_dir():
        raise NstrError(f"'{source}' is a directory, not an audio file")
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise NstrError(f"'{source}' has an unsupported audio format '{path.suffix}': convert it to .wav, .flac "
                        "or .ogg (for example with ffmpeg or sox)")
    if path.stat().st_size == 0:
        raise NstrError(f"'{source}' is empty (0 bytes)")
    return path


def read_audio(source: str) -> tuple[np.ndarray, int, str, str]:
    """(samples [N, C] float32 in full-scale units, rate, container, subtype), read in blocks.

    Integer PCM is read as int32 (exact) and scaled by 2^-31; everything else as float32.
    """
    path = _check_path(source)
    try:
        with sf.SoundFile(str(path)) as handle:
            n, channels, rate = handle.frames, handle.channels, handle.samplerate
            container, subtype = handle.format, handle.subtype
            if n <= 0:
                raise NstrError(f"'{source}' holds no samples (zero-length audio); there is nothing to fit")
            samples = np.empty((n, channels), dtype=np.float32)
            dtype = "int32" if subtype in INTEGER_BITS else "float32"
            done = 0
            while done < n:
                block = handle.read(min(BLOCK, n - done), dtype=dtype, always_2d=True)
                if len(block) == 0:
                    break
                samples[done : done + len(block)] = block * (2.0**-31) if dtype == "int32" else block
                done += len(block)
    except NstrError:
        raise
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, TypeError... for bad files
        raise NstrError(f"'{source}' could not be read as audio ({_one_line(exc)}); is the file corrupt?") from None
    if done < n:
        raise NstrError(f"'{source}' is truncated: its header promises {n} samples but only {done} could be read")
    return samples, rate, container, subtype


def _array_samples(array: np.ndarray, rate: int | None) -> tuple[np.ndarray, int, str]:
    """(samples [N, C] float32 full scale, rate, subtype) of an in-memory waveform [N] or [N, C]."""
    if rate is None or rate < 1:
        raise NstrError("an audio array needs its sample rate: Audio(array, rate=44100)")
    if array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[1] < 1):
        raise NstrError(f"an audio array is [samples] or [samples, channels], got shape {array.shape}")
    if array.dtype == np.int16:
        return (array.astype(np.float32) / 32768.0).reshape(len(array), -1), rate, "PCM_16"
    if not np.issubdtype(array.dtype, np.floating):
        raise NstrError(f"an audio array holds float or int16 samples, got {array.dtype}")
    subtype = "DOUBLE" if array.dtype == np.float64 else "FLOAT"
    return array.astype(np.float32).reshape(len(array), -1), rate, subtype


@dataclass(frozen=True)
class AudioConfig(SignalConfig):
    """Load options of a waveform: none on the command line (a file is fitted at its own rate and length)."""

    rate: int | None = option(None, "sample rate in Hz of a waveform given as an array", cli=False)
    chirp: Chirp | None = option(None, "settings of the built-in chirp [Chirp()]", cli=False)

    def __post_init__(self) -> None:
        if isinstance(self.chirp, dict):  # as a run's config.json holds it
            object.__setattr__(self, "chirp", Chirp(**self.chirp))


@register_signal
class Audio(Signal):
    """A waveform: ``Audio("speech.wav")``, ``Audio("chirp")``, ``Audio(array, rate=44100)``.

    Options (``AudioConfig``): ``rate`` (arrays only), ``chirp`` (the built-in chirp's ``Chirp`` settings).
    """

    kind = "audio"
    Config = AudioConfig
    description = "audio files (.wav .flac .ogg)"
    suffixes = AUDIO_SUFFIXES
    #: A second of audio is 44k-48k samples: the images' 65,536 would be a full batch (see ``AUDIO_BATCH``).
    fit_defaults = {"batch_size": AUDIO_BATCH}

    def __init__(self, source: str | Path | np.ndarray, config: AudioConfig | None = None, *, resize: Any = None,
                 **options: Any):
        if resize is not None:
            raise NstrError("--resize applies to images; audio is fitted at its own sample rate")
        self.config = self.make_config(config, options)
        rate, chirp = self.config.rate, self.config.chirp
        self._array: np.ndarray | None = None
        self.chirp: Chirp | None = None
        if isinstance(source, np.ndarray):
            self.source, self._array = "<array>", source
            samples, rate, subtype = _array_samples(source, rate)
            container = "WAV"
        elif str(source) == CHIRP:
            self.source, self.chirp = CHIRP, chirp or Chirp()
            samples, rate, container, subtype = self.chirp.waveform(), self.chirp.rate, "WAV", "FLOAT"
        else:
            self.source = str(source)
            samples, rate, container, subtype = read_audio(self.source)
        self._validate(samples)
        peak = float(max(samples.max(), -samples.min()))  # no |samples| copy
        self.format = AudioFormat(int(rate), samples.shape[0], samples.shape[1], container, subtype, peak)
        samples /= np.float32(peak)  # in place: no second full-size copy
        self.values = torch.from_numpy(samples)
        self.coords = _all_coords(samples.shape[0])

    def _validate(self, samples: np.ndarray) -> None:
        if samples.shape[0] == 0:
            raise NstrError(f"'{self.source}' holds no samples (zero-length audio); there is nothing to fit")
        if samples.shape[0] < 2:
            raise NstrError(f"'{self.source}' holds a single sample; a waveform needs at least 2")
        if not np.isfinite(samples).all():
            raise NstrError(f"'{self.source}' contains NaN or Inf samples; clean them before fitting")
        if not np.any(samples):
            raise NstrError(f"'{self.source}' is silent (every sample is 0): SNR is undefined and there is "
                            "nothing to fit; give a recording with sound in it")

    @classmethod
    def accepts(cls, source: str) -> bool:
        """Audio file endings (supported or not, so unsupported ones get an audio error) and ``chirp``."""
        return source == CHIRP or Path(source).suffix.lower() in AUDIO_SUFFIXES + OTHER_AUDIO_SUFFIXES

    @property
    def rate(self) -> int:
        return self.format.rate

    @property
    def shape(self) -> tuple[int]:
        return (self.format.frames,)

    @classmethod
    def spec_shape(cls, spec: dict[str, Any]) -> tuple[int]:
        return (spec["format"]["frames"],)

    @classmethod
    def from_spec(cls, spec: dict[str, Any], run_dir: Path | None) -> Audio:
        if spec["source"] == CHIRP:
            return cls(CHIRP, cls.config_from_spec(spec))
        path = spec["source"]
        if run_dir is not None and not Path(path).is_absolute():
            path = str(Path(run_dir) / path)
        return cls(path)

    def spec(self, run_dir: Path | None = None) -> dict[str, Any]:
        source = self.source
        if self._array is not None:
            if run_dir is None:
                raise NstrError("audio given as an array can only be described inside a run directory")
            source = "source.wav"  # relative to the run directory; the exact samples, as FLOAT/DOUBLE/PCM_16
            raw = AudioFormat(self.rate, self.format.frames, self.format.channels, "WAV", self.format.subtype, 1.0)
            write_audio(Path(run_dir) / source, raw, [(self.values.cpu().numpy() * self.format.peak)])
        elif source != CHIRP:
            source = str(Path(source).resolve())
        spec = {"kind": self.kind, "source": source, "format": asdict(self.format)}
        if self.chirp is not None:
            spec["chirp"] = asdict(self.chirp)
        return spec

    def model_defaults(self, model_name: str) -> dict[str, Any]:
        return audio_model_defaults(model_name, self.format.frames)

    # -- quality ----------------------------------------------------------------------------------
    def psnr(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        """PSNR of normalised values (peak-to-peak 2, like images), used by the fit to keep the best weights:
        ``nstr.core.metrics.psnr`` with the prediction clipped to [-1, 1] (it sums in blocks, so a long
        recording needs no full-size temporaries)."""
        return psnr(pred, target, data_range=2.0, clip=(-1.0, 1.0))

    def metrics(self, pred: torch.Tensor) -> dict[str, Any]:
        """SNR (dB), spectral convergence, log-spectral distance (dB) over all channels, and the PSNR.

        Computed on the normalised values: native units are these times one common factor (the peak),
        which cancels in all three. The prediction is the continuous function's, before clipping or
        quantising to the file's subtype.
        """
        p, t = pred.detach().cpu().numpy(), self.values.cpu().numpy()
        metrics: dict[str, Any] = {
            "snr": snr(t, p),
            "spectral_convergence": spectral_convergence(t, p),
            "log_spectral_distance": log_spectral_distance(t, p),
            "psnr": self.psnr(pred, self.values),
        }
        if self.format.channels > 1:
            metrics["snr_channels"] = [snr(t[:, c], p[:, c]) if np.any(t[:, c]) else math.nan
                                       for c in range(self.format.channels)]
        return metrics

    def preview(self, model: Field, pred: torch.Tensor) -> np.ndarray:
        """The reconstruction's spectrogram on the target's dB scale (``spectrogram_preview``), every k-th bin."""
        n = min(len(pred), PREVIEW_SAMPLES)
        picture = spectrogram_preview(self.values[:n].cpu().numpy(), pred[:n].detach().float().cpu().numpy(),
                                      self.rate)
        return shrink(picture, PREVIEW_SIZE)

    def summary(self, metrics: dict[str, Any]) -> str:
        return (f"snr {metrics['snr']:.2f} dB, spectral convergence {metrics['spectral_convergence']:.4f}, "
                f"log-spectral distance {metrics['log_spectral_distance']:.2f} dB")

    # -- outputs ----------------------------------------------------------------------------------
    def recon_name(self) -> str:
        """recon.wav (recon.flac / recon.ogg for those inputs: the input's own container and subtype)."""
        return f"recon{self.format.suffix}"

    def write_outputs(self, pred: torch.Tensor, out_dir: Path) -> list[Path]:
        out_dir = Path(out_dir)
        p = pred.detach().cpu().numpy()
        recon = write_audio(out_dir / self.recon_name(), self.format,
                            (p[i : i + BLOCK] for i in range(0, len(p), BLOCK)))
        t = self.values.cpu().numpy()
        return [
            recon,
            save_spectrograms(out_dir / "spectrogram.png", t, p, self.rate),
            save_waveform_detail(out_dir / "waveform.png", t, p, self.rate),
        ]

    def output_names(self) -> str:
        return f"{self.recon_name()}, spectrogram.png, waveform.png, curve.png, metrics.json, model.safetensors"

    @classmethod
    def render_run(cls, model: Field, spec: dict[str, Any], output: Path, options: dict[str, Any]) -> str:
        """Evaluate the fitted function at ``options['rate']`` Hz (default the input's) over the same interval,
        block by block, into a .wav/.flac/.ogg with the input's channels and subtype (or the container's default
        subtype when it cannot hold the input's). Below the input's rate, content above the new Nyquist
        frequency aliases: this samples the function, it does not low-pass it."""
        suffix = output.suffix.lower()
        if suffix not in CONTAINERS:
            raise NstrError(f"OUTPUT '{output}' must end in .wav, .flac or .ogg for an audio run")
        fmt = AudioFormat(**spec["format"])
        rate = fmt.rate if options.get("rate") is None else int(options["rate"])
        if rate < 1:
            raise NstrError(f"--rate must be a positive number of samples per second, got {rate}")
        n = max(2, round(fmt.frames * rate / fmt.rate))
        container = CONTAINERS[suffix]
        subtype = fmt.subtype if sf.check_format(container, fmt.subtype) else sf.default_subtype(container)
        target = AudioFormat(rate, n, fmt.channels, container, subtype, fmt.peak)
        device = module_device(model)
        blocks = (model.predict(time_coords(n, i, min(i + BLOCK, n), device)).cpu().numpy() for i in range(0, n, BLOCK))
        write_audio(output, target, blocks)
        return (f"wrote {output} ({n} samples at {rate} Hz = {n / rate:.3f} s, {fmt.channels} channel(s), "
                f"{container} {subtype})")


def write_audio(path: Path, fmt: AudioFormat, blocks: Iterator[np.ndarray] | list[np.ndarray]) -> Path:
    """Write normalised blocks [n, C] as ``fmt`` (container, subtype, rate, peak) to ``path``, atomically: the
    blocks stream into a temporary file beside ``path`` that replaces it only once complete."""

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        try:
            with sf.SoundFile(tmp, "w", samplerate=fmt.rate, channels=fmt.channels, format=fmt.container,
                              subtype=fmt.subtype) as handle:
                for block in blocks:
                    handle.write(fmt.to_file_data(block))
        except (RuntimeError, ValueError, TypeError) as exc:  # libsndfile refuses a rate or subtype
            raise NstrError(f"could not write '{path}' as {fmt.container} {fmt.subtype} at {fmt.rate} Hz "
                            f"({_one_line(exc)})") from None
    return path


#: First-layer frequency scale of SIREN on our [-1, 1] time axis (see ``audio_model_defaults``).
SIREN_OMEGA0 = 10_000.0
#: FFN's sigma and NSTR's basis_sigma as a fraction of the Nyquist frequency (N - 1) / 4 cycles per unit.
NYQUIST_FRACTION = 0.18


def audio_model_defaults(model_name: str, frames: int) -> dict[str, Any]:
    """Model options for a 1-D waveform of ``frames`` samples, chosen by short fits on the real clips.

    Measured as ``OMP_NUM_THREADS=1 nstr fit SIGNAL --model M --batch-size 4096 --eval-every 50 --steps S``
    with the option shown (at 50k parameters: the other options as ``nstr bench audio --list`` sizes them),
    on the 1.43 s speech clip (N = 68545), the 1.09 s stereo chime (48022) and the chirp (44100); SNR in dB.
    ``benchmarks/audio_defaults.py`` re-measures each default against its neighbours at 50k parameters and stores
    the result (``benchmarks/results/audio_defaults.json``, quoted in the README); there the Fourier MLP's sigma
    peaks at 6 % of Nyquist on speech and 18 % on the chirp, and NSTR's basis at 36 % on speech.

    - siren: omega0 = 10000. The reference training script uses omega0 = 3000 on coordinates in [-100, 100]
      (300000 on our [-1, 1]: SIREN does not train at all, 0.0 dB); its notebook uses 3000 on [-1, 1]. On
      [-1, 1], 3 x 256, 300-500 steps: speech 13.3 (3000) / 16.4 (10000, 500 steps) / 4.1 (20000, 300 steps);
      chime 7.7 / 8.1; chirp 5.5 / 19.9 (500 steps), 9.7 (6927) and 5.0 (15000) at 300 steps. The best value
      was about 10000 on all three 1.0-1.4 s clips; longer recordings probably want more (unmeasured).
    - ffn: sigma = 0.18 x Nyquist ((N - 1) / 4 cycles per unit). 300 steps: speech 13.3 / 15.7 / 20.6 / 13.6 dB
      at sigma 300 / 1000 / 3000 / 6000 (Nyquist 17136); chirp 19.0 / 22.8 / 18.9 at 700 / 2000 / 4000
      (Nyquist 11025): both peak near 18 %.
    - hashgrid, nstr: the finest grid level has one cell per sample interval (max_res = N - 1, so vertices sit
      on the samples); levels and table size are left to the user or the benchmark's sizing. NSTR at 50k
      parameters on speech, 1000 steps: 32.5 dB (max_res N - 1) against 29.2 (N / 2); the hash grid 33.1 /
      29.8 / 22.9 dB at N - 1, N / 2, N / 4.
    - nstr, nstr-paper: basis_sigma = 0.18 x Nyquist. NSTR at 50k, 1000 steps, on the chirp: 25.1 / 26.6 /
      29.7 / 29.5 dB at 1 / 5 / 18 / 36 % of Nyquist; speech 32.9 / 32.5 / 33.2 dB at 1 / 5 / 18 %; chime
      30.3 / 30.6 at 5 / 18 %. (nstr-paper's single coarse grid is not tuned for audio.)
    """
    nyquist = (frames - 1) / 4  # cycles per unit of t: samples are 2 / (N - 1) apart
    finest = max(frames - 1, 16)  # one grid cell per sample interval: vertices sit on the samples
    spread = round(NYQUIST_FRACTION * nyquist, 1)
    if model_name == "siren":
        return {"omega0": SIREN_OMEGA0}
    if model_name == "ffn":
        return {"sigma": spread}
    if model_name == "hashgrid":
        return {"max_res": finest}
    if model_name == "nstr":
        return {"basis_sigma": spread, "max_res": finest}
    if model_name == "nstr-paper":
        return {"basis_sigma": spread}
    return {}
