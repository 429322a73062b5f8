"""Audio quality metrics on waveforms [N, C] (samples x channels): SNR, spectral convergence, log-spectral distance.

All three take the target first and compare over every channel at once. The spectral metrics use the magnitude
of a short-time Fourier transform (Hann window of ``STFT_WINDOW`` samples, hop a quarter of it) with the frames
of ``scipy.signal.ShortTimeFFT`` (scipy is already a dependency), computed block by block so that long recordings
are measured with bounded memory and exactly the result of one big transform.

A silent target (every sample zero) has no defined SNR or spectral convergence (both divide by its energy);
the functions raise ``NstrError`` saying so instead of dividing by zero.
"""

from __future__ import annotations

import math

import numpy as np

from nstr.core.errors import NstrError
from nstr.core.lazy import lazy_import

scipy_signal = lazy_import("scipy.signal")  # loaded on first use (0.4 s)

#: STFT window length in samples (about 21-23 ms at 44.1-48 kHz, the usual choice for speech and music).
STFT_WINDOW = 1024
#: Frames per block when accumulating spectral sums (bounds memory on long recordings).
FRAMES_PER_BLOCK = 512
#: Power floor of the log-spectral distance, relative to the target's largest bin: -80 dB. Without it a
#: silent frame of the target (log 0) would dominate the average.
LSD_FLOOR = 1e-8


def _as_2d(name: str, array: np.ndarray) -> np.ndarray:
    """[N] or [N, C] as [N, C], float32 or float64 kept as they are (no full-size float64 copy)."""
    array = np.asarray(array)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] == 0:
        raise NstrError(f"{name} must be a non-empty waveform [samples] or [samples, channels], got {array.shape}")
    return array


def _pair(target: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    target, pred = _as_2d("target", target), _as_2d("prediction", pred)
    if target.shape != pred.shape:
        raise NstrError(f"prediction has shape {pred.shape} but the target has {target.shape}")
    return target, pred


def _silent(what: str) -> NstrError:
    return NstrError(f"{what} is undefined for an all-silent target (every sample is 0): there is no signal "
                     "energy to compare against")


def snr(target: np.ndarray, pred: np.ndarray, chunk: int = 1 << 20) -> float:
    """Signal-to-noise ratio in dB: 10 log10(sum target^2 / sum (target - pred)^2) over all samples and channels.

    inf for an exact match; raises ``NstrError`` for a silent target. Sums run over ``chunk`` samples at a time
    in float64, so a long recording needs no full-size temporary.
    """
    target, pred = _pair(target, pred)
    signal = noise = 0.0
    for i in range(0, target.shape[0], chunk):
        t, p = target[i : i + chunk].astype(np.float64), pred[i : i + chunk].astype(np.float64)
        signal += float(np.sum(t * t))
        noise += float(np.sum((t - p) ** 2))
    if signal == 0.0:
        raise _silent("SNR")
    return math.inf if noise == 0.0 else 10.0 * math.log10(signal / noise)


def stft_transform(n: int, window: int = STFT_WINDOW):
    """The ``ShortTimeFFT`` used by the spectral metrics for a signal of ``n`` samples (window shrunk for short
    signals so that it fits: an even length at most ``n``)."""
    if n < 2:
        raise NstrError(f"a spectrum needs at least 2 samples, got {n}")
    length = min(window, 2 * (n // 2))
    window_values = scipy_signal.windows.hann(length, sym=False)
    return scipy_signal.ShortTimeFFT(window_values, hop=max(1, length // 4), fs=1.0, mfft=length)


def stft_magnitude_blocks(*waveforms: np.ndarray, window: int = STFT_WINDOW, frames: int = FRAMES_PER_BLOCK):
    """Yield, per block of frames, the STFT magnitudes [C, F, frames] of each waveform [N, C] (all the same
    length); the blocks cover every frame of ``scipy.signal.ShortTimeFFT.stft`` exactly once, in order.

    scipy's transform defines the frames (frame p covers samples p hop - m_num_mid onwards, zero beyond the
    ends); each block gathers its frames from the samples they touch and transforms them with one vectorised
    ``numpy.fft.rfft`` (scipy's own per-frame loop is about 20x slower on a 10-minute recording), so cost and
    memory per block do not grow with N. The magnitudes equal scipy's (tested).
    """
    n = waveforms[0].shape[0]
    sft = stft_transform(n, window)
    hop, length, mid, win = sft.hop, sft.m_num, sft.m_num_mid, sft.win
    p_min, p_max = sft.p_min, sft.p_max(n)
    for p0 in range(p_min, p_max, frames):
        p1 = min(p0 + frames, p_max)
        first, last = p0 * hop - mid, (p1 - 1) * hop - mid + length  # the block's samples [first, last)
        a, b = max(first, 0), min(last, n)
        index = (np.arange(p1 - p0) * hop)[:, None] + np.arange(length)  # [frames, length] into the span
        blocks = []
        for w in waveforms:
            span = np.zeros((last - first, w.shape[1]))
            span[a - first : b - first] = w[a:b]
            spectra = np.fft.rfft(span[index] * win[None, :, None], axis=1)  # [frames, F, C]
            blocks.append(np.abs(spectra).transpose(2, 1, 0))
        yield tuple(blocks)


def spectral_convergence(target: np.ndarray, pred: np.ndarray, window: int = STFT_WINDOW,
                         frames: int = FRAMES_PER_BLOCK) -> float:
    """|| |STFT target| - |STFT pred| ||_F / || |STFT target| ||_F over all channels (0 is perfect; 1 for silence).

    Scale-sensitive and phase-blind: ``pred = a * target`` gives exactly |1 - a|.
    """
    target, pred = _pair(target, pred)
    diff = norm = 0.0
    for mag_t, mag_p in stft_magnitude_blocks(target, pred, window=window, frames=frames):
        diff += float(np.sum((mag_t - mag_p) ** 2))
        norm += float(np.sum(mag_t**2))
    if norm == 0.0:
        raise _silent("spectral convergence")
    return math.sqrt(diff / norm)


def log_spectral_distance(target: np.ndarray, pred: np.ndarray, window: int = STFT_WINDOW,
                          frames: int = FRAMES_PER_BLOCK) -> float:
    """Log-spectral distance in dB: the mean over frames (and channels) of the RMS over frequency of
    10 log10(|P|^2 + e) - 10 log10(|T|^2 + e), with e = ``LSD_FLOOR`` times the target's largest bin power.

    ``pred = a * target`` gives |20 log10 a| wherever the target is well above the floor.
    """
    target, pred = _pair(target, pred)
    peak = max(float(np.max(mag_t)) for (mag_t,) in stft_magnitude_blocks(target, window=window, frames=frames))
    if peak == 0.0:
        raise _silent("log-spectral distance")
    floor = LSD_FLOOR * peak**2
    total, count = 0.0, 0
    for mag_t, mag_p in stft_magnitude_blocks(target, pred, window=window, frames=frames):
        gap = 10.0 * (np.log10(mag_p**2 + floor) - np.log10(mag_t**2 + floor))  # [C, F, frames]
        per_frame = np.sqrt(np.mean(gap**2, axis=1))
        total += float(np.sum(per_frame))
        count += per_frame.size
    return total / count
