"""Pictures of an audio fit: spectrograms (target, reconstruction, error) and a waveform overview with close-ups.

Both take normalised waveforms [N, C] and stay cheap on long recordings: the spectrograms gather at most
``MAX_FRAMES`` windowed frames (the hop grows with the length), and the waveform overview is a min/max
envelope of at most ``ENVELOPE_BINS`` columns computed block by block; neither copies the whole signal.
Drawn with matplotlib through ``nstr.core.plotting`` (Agg backend, atomic PNG writes).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nstr.core.lazy import lazy_import
from nstr.core.plotting import colourise, figure, save_figure, subplots

scipy_signal = lazy_import("scipy.signal")  # loaded on first use (0.4 s)

MAX_FRAMES = 1200
ENVELOPE_BINS = 2000
#: Dynamic range shown in the spectrograms, dB below the target's loudest bin.
DYNAMIC_RANGE_DB = 90.0
#: Length of each waveform close-up, seconds (at least 64 samples).
DETAIL_SECONDS = 0.01
#: Samples per block when scanning a waveform.
BLOCK = 1 << 20
#: Samples a live preview's spectrogram covers at most (about 6 s at 44.1 kHz), so drawing it stays cheap.
PREVIEW_SAMPLES = 1 << 18


def frame_starts(n: int, length: int) -> np.ndarray:
    """First sample of each spectrogram frame: a quarter window apart, or further for at most ``MAX_FRAMES``."""
    hop = max(length // 4, math.ceil((n - length) / MAX_FRAMES), 1)
    return np.arange(0, n - length + 1, hop)


def gather_frames(waveform: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """The frames beginning at ``starts`` as float64 [T, length, C] (at most ``MAX_FRAMES`` of them): never a
    copy of the whole signal."""
    return waveform[starts[:, None] + np.arange(length)].astype(np.float64)


def frame_power(frames: np.ndarray) -> np.ndarray:
    """Power |FFT(Hann x frame)|^2 [F, T] of frames [T, length, C], averaged over channels."""
    spectra = np.fft.rfft(frames * scipy_signal.windows.hann(frames.shape[1], sym=False)[None, :, None], axis=1)
    return np.mean(np.abs(spectra) ** 2, axis=2).T


def _to_db(power: np.ndarray, peak: float) -> np.ndarray:
    floor = max(peak, 1e-30) * 10 ** (-DYNAMIC_RANGE_DB / 10)
    return 10 * np.log10(np.maximum(power, floor) / max(peak, 1e-30))


def spectrogram_db(waveform: np.ndarray, rate: int, reference: float | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(power in dB [F, T] averaged over channels, frequencies in Hz [F], frame centres in s [T], peak power).

    Hann window of up to 1024 samples; hop a quarter window or longer, for at most ``MAX_FRAMES`` frames.
    dB are relative to ``reference`` (default this waveform's peak power).
    """
    length = min(1024, 2 * (waveform.shape[0] // 2))
    starts = frame_starts(waveform.shape[0], length)
    power = frame_power(gather_frames(waveform, starts, length))
    peak = float(power.max()) if reference is None else reference
    return _to_db(power, peak), np.fft.rfftfreq(length, 1 / rate), (starts + length / 2) / rate, peak


def spectrogram_preview(target: np.ndarray, pred: np.ndarray, rate: int) -> np.ndarray:
    """The reconstruction's spectrogram as RGB uint8 [F, T, 3] (magma; high frequencies at the top, time to the
    right) on the target's dB scale (its loudest bin 0 dB, ``DYNAMIC_RANGE_DB`` below black), of the first
    ``PREVIEW_SAMPLES`` samples of waveforms [N, C]."""
    n = min(len(target), PREVIEW_SAMPLES)
    _, _, _, peak = spectrogram_db(target[:n], rate)
    db, _, _, _ = spectrogram_db(pred[:n], rate, reference=peak)
    return colourise(db[::-1], "magma", -DYNAMIC_RANGE_DB, 0.0)


def save_spectrograms(path: Path, target: np.ndarray, pred: np.ndarray, rate: int) -> Path:
    """Three spectrograms on one dB scale: the target, the reconstruction, and the error (target - pred)."""
    length = min(1024, 2 * (target.shape[0] // 2))
    starts = frame_starts(target.shape[0], length)
    target_frames, pred_frames = gather_frames(target, starts, length), gather_frames(pred, starts, length)
    target_power = frame_power(target_frames)
    peak = float(target_power.max())
    panels = [
        ("target", _to_db(target_power, peak)),
        ("reconstruction", _to_db(frame_power(pred_frames), peak)),
        # The error's frames are differences of frames: no full-length difference array.
        ("error (target - reconstruction)", _to_db(frame_power(target_frames - pred_frames), peak)),
    ]
    freqs, times = np.fft.rfftfreq(length, 1 / rate), (starts + length / 2) / rate
    fig, axes = subplots(3, 1, figsize=(10, 9), sharex=True, constrained_layout=True)
    extent = (times[0], times[-1] if len(times) > 1 else times[0] + length / rate, 0, freqs[-1] / 1000)
    for ax, (title, db) in zip(axes, panels, strict=True):
        shown = ax.imshow(db, origin="lower", aspect="auto", extent=extent, cmap="magma",
                          vmin=-DYNAMIC_RANGE_DB, vmax=0)
        ax.set_title(title)
        ax.set_ylabel("kHz")
    axes[-1].set_xlabel("time (s)")
    channels = f", power averaged over {target.shape[1]} channels" if target.shape[1] > 1 else ""
    fig.colorbar(shown, ax=axes, label=f"dB relative to the target's loudest bin{channels}")
    return save_figure(fig, path)


def _envelopes(t: np.ndarray, p: np.ndarray, bins: int):
    """Bin size, min/max of t and of t - p per bin, and the indices of the largest |t| and |t - p|.

    One pass over blocks of whole bins, so the error t - p is never built at full length.
    """
    n = len(t)
    size = max(1, math.ceil(n / bins))
    step = max(size, BLOCK // size * size)
    lows, highs, err_lows, err_highs = [], [], [], []
    loudest = worst = (-1.0, 0)
    for a in range(0, n, step):
        tb = t[a : a + step].astype(np.float64)
        eb = tb - p[a : a + step]
        loudest = max(loudest, (float(np.max(np.abs(tb))), a + int(np.argmax(np.abs(tb)))))
        worst = max(worst, (float(np.max(np.abs(eb))), a + int(np.argmax(np.abs(eb)))))
        for x, lo, hi in ((tb, lows, highs), (eb, err_lows, err_highs)):
            padded = np.concatenate([x, np.full(-len(x) % size, x[-1])]).reshape(-1, size)
            lo.append(padded.min(axis=1))
            hi.append(padded.max(axis=1))
    starts = np.arange(0, n, size)
    return (starts, np.concatenate(lows), np.concatenate(highs), np.concatenate(err_lows),
            np.concatenate(err_highs), loudest[1], worst[1])


def save_waveform_detail(path: Path, target: np.ndarray, pred: np.ndarray, rate: int) -> Path:
    """The whole waveform (envelope of the target and of the error) and two close-ups: around the loudest
    sample and around the largest error, target and reconstruction overlaid. One channel: the loudest."""
    channel = int(np.argmax(np.maximum(target.max(axis=0), -target.min(axis=0))))  # no |target| copy
    t, p = target[:, channel], pred[:, channel]
    starts, lo, hi, err_lo, err_hi, loudest, worst = _envelopes(t, p, ENVELOPE_BINS)
    fig = figure(figsize=(11, 7), constrained_layout=True)
    grid = fig.add_gridspec(2, 2)
    overview = fig.add_subplot(grid[0, :])
    overview.fill_between(starts / rate, lo, hi, color="0.55", lw=0, label="target", step="post")
    overview.fill_between(starts / rate, err_lo, err_hi, color="tab:red", alpha=0.7, lw=0, label="error",
                          step="post")
    which = f" (channel {channel + 1} of {target.shape[1]})" if target.shape[1] > 1 else ""
    overview.set_title(f"waveform{which}, normalised to the peak")
    overview.set_xlabel("time (s)")
    overview.legend(loc="upper right")
    half = max(32, round(DETAIL_SECONDS * rate / 2))
    for column, (label, centre) in enumerate((("loudest", loudest), ("largest error", worst))):
        a, b = max(0, centre - half), min(len(t), centre + half)
        ax = fig.add_subplot(grid[1, column])
        ms = np.arange(a, b) / rate * 1000
        ax.plot(ms, t[a:b], color="black", lw=1.2, label="target")
        ax.plot(ms, p[a:b], color="tab:blue", lw=1.0, ls="--", label="reconstruction")
        ax.plot(ms, t[a:b] - p[a:b], color="tab:red", lw=0.8, label="error")
        ax.set_title(f"close-up: {label}")
        ax.set_xlabel("time (ms)")
        ax.legend(loc="lower right", fontsize=8)
    return save_figure(fig, path)
