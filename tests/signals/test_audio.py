"""Audio signals: metrics against hand-computed cases, file round trips, bad input, quality floors, CLI, render."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from nstr.cli.main import main
from nstr.core import metrics as metrics_module
from nstr.core.errors import NstrError
from nstr.core.metrics import psnr
from nstr.models import build_model
from nstr.signals import load_signal
from nstr.signals.audio.metrics import (
    log_spectral_distance,
    snr,
    spectral_convergence,
    stft_magnitude_blocks,
    stft_transform,
)
from nstr.signals.audio.pictures import spectrogram_db
from nstr.signals.audio.signal import Audio, Chirp, time_coords
from nstr.train.fit import fit

DATA = Path(__file__).parents[1] / "data"  # committed copies, origin and licence in data/README.md


def _clip(name: str) -> Path:
    path = DATA / name
    assert path.is_file(), f"missing test data {path}: see tests/data/README.md"
    return path


@pytest.fixture(scope="module")
def speech() -> Path:
    return _clip("speech_front_center.wav")


@pytest.fixture(scope="module")
def chime() -> Path:
    return _clip("chime_complete.wav")


def _noise(n: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, channels))


# -- metrics ---------------------------------------------------------------------------------------

def test_snr_hand_computed():
    target = np.array([1.0, -1.0, 1.0, -1.0])
    assert snr(target, target + 0.1) == pytest.approx(20.0, abs=1e-9)  # 4 / (4 * 0.01) = 100
    stereo = np.array([[1.0, 2.0], [-1.0, -2.0]])
    # signal 1 + 4 + 1 + 4 = 10, noise 0.01 + 0.04 + 0.01 + 0.04 = 0.1: 20 dB over both channels together
    assert snr(stereo, stereo * 1.1) == pytest.approx(20.0, abs=1e-9)
    assert snr(stereo, stereo * 0.0) == pytest.approx(0.0, abs=1e-12)
    assert snr(target, target) == math.inf
    x = _noise(1000, 2)
    assert snr(x, x * 0.9, chunk=7) == pytest.approx(snr(x, x * 0.9), rel=1e-12) == pytest.approx(20.0)


def test_spectral_convergence_hand_computed():
    x = _noise(6000, 2)
    assert spectral_convergence(x, x) == 0.0
    assert spectral_convergence(x, 0.7 * x) == pytest.approx(0.3, abs=1e-12)  # | |0.7 X| - |X| | = 0.3 |X|
    assert spectral_convergence(x, -x) == pytest.approx(0.0, abs=1e-12)  # phase-blind
    assert spectral_convergence(x, np.zeros_like(x)) == pytest.approx(1.0, abs=1e-12)
    # Blocks of frames give exactly the one-transform result.
    assert spectral_convergence(x, 0.5 * x + 0.1 * _noise(6000, 2, 1), frames=3) == pytest.approx(
        spectral_convergence(x, 0.5 * x + 0.1 * _noise(6000, 2, 1)), rel=1e-12)


@pytest.mark.parametrize("n", [3, 700, 5000])
def test_stft_blocks_equal_scipy_short_time_fft(n):
    """The block-wise magnitudes are scipy's ShortTimeFFT.stft over the whole signal, frame for frame."""
    x = _noise(n, 2)
    full = np.abs(stft_transform(n).stft(x.T, axis=-1))  # [C, F, frames]
    for frames in (1, 3, 512):
        blocks = np.concatenate([b for (b,) in stft_magnitude_blocks(x, frames=frames)], axis=-1)
        assert blocks.shape == full.shape and np.allclose(blocks, full, rtol=1e-12, atol=1e-12)


def test_spectral_convergence_of_an_added_far_tone():
    """A tone at 1 kHz plus a quarter-amplitude tone at 9 kHz: the STFT magnitudes differ only in the other
    tone's bins (Hann leakage 8 kHz away is negligible), so SC = ||E|| / ||T|| = 0.25."""
    rate, n = 48_000, 48_000
    t = np.arange(n) / rate
    target = np.sin(2 * np.pi * 1000 * t)
    pred = target + 0.25 * np.sin(2 * np.pi * 9000 * t)
    assert spectral_convergence(target, pred) == pytest.approx(0.25, rel=1e-3)


def test_log_spectral_distance_of_a_scaled_signal():
    x = _noise(8000)
    assert log_spectral_distance(x, x) == 0.0
    assert log_spectral_distance(x, 0.5 * x) == pytest.approx(20 * math.log10(2), rel=1e-3)  # 6.02 dB


def test_silent_target_is_undefined_not_a_division_by_zero():
    silent = np.zeros((100, 2))
    for metric in (snr, spectral_convergence, log_spectral_distance):
        with pytest.raises(NstrError, match="undefined for an all-silent target"):
            metric(silent, silent + 0.1)
    with pytest.raises(NstrError, match="shape"):
        snr(np.ones(10), np.ones(11))


def test_audio_psnr_is_the_core_psnr_on_the_unit_scale(monkeypatch):
    """Values in [-1, 1]: an error of 0.1 everywhere is 0.05 on [0, 1], MSE 0.0025, PSNR 26.0206 dB; the
    prediction is clipped to [-1, 1] first (1.3 counts as 1.0). Summed in blocks: the same number."""
    audio = Audio(np.sin(np.linspace(0.0, 20.0, 1001))[:, None] * 0.8, rate=8000)
    target = audio.values  # normalised: peak 1
    pred = torch.where(target > 0, target - 0.1, target + 0.1)  # |error| 0.1, inside [-1, 1]
    expected = -10 * math.log10(0.05**2)
    assert audio.psnr(pred, target) == pytest.approx(expected, abs=1e-5)  # float32 error values
    mapped = psnr((pred.clamp(-1, 1) + 1) / 2, (target + 1) / 2)  # float32 rounding in the mapping
    assert audio.psnr(pred, target) == pytest.approx(mapped, abs=1e-6)
    over = target.clone()
    over[0] = 1.3 if float(target[0]) > 0 else -1.3  # beyond full scale: clipped to +-1
    assert audio.psnr(over, target) == psnr(over.clamp(-1, 1), target, data_range=2.0)
    whole = audio.psnr(pred, target)
    monkeypatch.setattr(metrics_module, "PSNR_BLOCK", 7)
    assert audio.psnr(pred, target) == pytest.approx(whole, abs=1e-12)
    assert audio.psnr(target, target) == math.inf


# -- loading and writing -----------------------------------------------------------------------

def test_coordinates_and_normalisation(tmp_path):
    samples = np.array([[0, 100], [-16384, 200], [8192, -300], [0, 0], [5, 5]], dtype=np.int16)
    path = tmp_path / "a.wav"
    sf.write(path, samples, 8000, subtype="PCM_16")
    audio = load_signal(str(path))
    assert isinstance(audio, Audio) and (audio.in_dim, audio.out_dim) == (1, 2) and audio.shape == (5,)
    assert torch.equal(audio.coords[:, 0], torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0]))  # -1 + 2 i / (N - 1)
    assert audio.format.peak == 0.5  # 16384 / 32768, over all channels
    assert torch.allclose(audio.values[1], torch.tensor([-1.0, 200 / 16384]))
    assert float(audio.values.abs().max()) == 1.0
    assert torch.equal(time_coords(5, 2, 4), audio.coords[2:4])


@pytest.mark.parametrize(("suffix", "subtype", "exact"), [
    (".wav", "PCM_16", True), (".flac", "PCM_24", True), (".wav", "PCM_U8", True), (".wav", "FLOAT", False),
    (".ogg", "VORBIS", False),
])
def test_round_trip_keeps_format_length_channels_and_samples(tmp_path, suffix, subtype, exact):
    rate, n = 22_050, 3001
    data = 0.4 * np.clip(_noise(n, 2), -2, 2) / 2
    source = tmp_path / f"in{suffix}"
    sf.write(source, data, rate, subtype=subtype)
    audio = Audio(source)
    written = audio.write_outputs(audio.values, tmp_path)
    recon = tmp_path / f"recon{suffix}"
    assert recon in written and (tmp_path / "spectrogram.png").is_file() and (tmp_path / "waveform.png").is_file()
    a, b = sf.info(str(source)), sf.info(str(recon))
    assert (b.samplerate, b.frames, b.channels, b.format, b.subtype) == (a.samplerate, a.frames, a.channels,
                                                                         a.format, a.subtype)
    if exact:  # an exact prediction gives back the very same integer samples
        assert np.array_equal(sf.read(recon, dtype="int32")[0], sf.read(source, dtype="int32")[0])
    elif subtype == "FLOAT":  # float32 values divided by the peak and multiplied back: within an ulp
        assert np.allclose(sf.read(recon)[0], sf.read(source)[0], rtol=2e-7, atol=1e-9)
    assert not list(tmp_path.glob(".recon*"))  # no temporary left behind


def test_spec_rebuilds_file_array_and_chirp(tmp_path, chime):
    audio = Audio(chime)
    again = load_signal(json.loads(json.dumps(audio.spec(tmp_path))), tmp_path)
    assert torch.equal(again.values, audio.values) and again.format == audio.format
    array = (_noise(500, 1) * 1000).astype(np.int16)
    from_array = Audio(array, rate=8000)
    spec = from_array.spec(tmp_path)
    assert spec["source"] == "source.wav" and torch.equal(load_signal(spec, tmp_path).values, from_array.values)
    chirp = load_signal("chirp")
    spec = chirp.spec()
    assert spec["chirp"] == {"rate": 44100, "seconds": 1.0, "f0": 100.0, "f1": 8000.0, "amplitude": 0.5}
    assert torch.equal(load_signal(spec).values, chirp.values)


def test_chirp_sweeps_linearly():
    """1 s from 100 Hz to 8 kHz, f(t) = 100 + 7900 t: (100 + 8000) / 2 = 4050 cycles, so about 8100 zero
    crossings; the first and last 50 ms hold 2 x 0.05 x f(0.025) = 29.75 and 2 x 0.05 x f(0.975) = 780.25."""
    x = load_signal("chirp").values[:, 0].numpy()
    assert len(x) == 44_100

    def crossings(part):
        return int(np.sum(np.signbit(part[1:]) != np.signbit(part[:-1])))

    assert abs(crossings(x) - 8100) <= 4
    assert abs(crossings(x[:2205]) - 29.75) <= 1.5 and abs(crossings(x[-2205:]) - 780.25) <= 1.5
    assert Chirp(seconds=0.5).waveform().shape == (22_050, 1)


def test_model_defaults_scale_with_sample_count():
    audio = Audio(np.sin(np.arange(1001) * 0.3), rate=8000)
    nyquist = 1000 / 4  # cycles per unit: samples 2 / 1000 apart
    assert audio.model_defaults("siren") == {"omega0": 10_000.0}
    assert audio.model_defaults("hashgrid") == {"max_res": 1000}
    assert audio.model_defaults("nstr") == {"basis_sigma": 0.18 * nyquist, "max_res": 1000}
    assert audio.model_defaults("ffn") == {"sigma": 0.18 * nyquist}
    for name in ("siren", "ffn", "hashgrid", "nstr", "nstr-paper"):  # every model builds on 1-D input
        model = build_model(name, 1, 1, **audio.model_defaults(name))
        assert model(audio.coords[:7]).shape == (7, 1)


def test_spectrogram_peaks_at_the_tone():
    rate = 16_000
    tone = np.sin(2 * np.pi * 3000 * np.arange(rate) / rate)[:, None]
    db, freqs, times, _ = spectrogram_db(tone, rate)
    assert db.shape == (len(freqs), len(times)) and db.max() == 0.0
    assert abs(freqs[np.argmax(db.mean(axis=1))] - 3000) <= rate / 1024


# -- bad input ---------------------------------------------------------------------------------

def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    empty_audio = tmp_path / "zero.wav"
    sf.write(empty_audio, np.zeros((0, 1)), 8000, subtype="PCM_16")
    silent = tmp_path / "silent.flac"
    sf.write(silent, np.zeros((800, 2)), 8000, subtype="PCM_16")
    corrupt = tmp_path / "corrupt.wav"
    good = tmp_path / "good.wav"
    sf.write(good, _noise(800) * 0.1, 8000, subtype="PCM_16")
    corrupt.write_bytes(b"RIFX" + good.read_bytes()[4:12] + b"junkjunk" * 8)
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.array([[0.1], [np.nan], [0.2]]), 8000, subtype="FLOAT")
    mp3 = tmp_path / "song.mp3"
    mp3.write_bytes(b"ID3\x03" + b"\x00" * 64)
    zero_bytes = tmp_path / "nothing.ogg"
    zero_bytes.touch()
    return {
        "zero-length": (empty_audio, "no samples"),
        "silent": (silent, "silent (every sample is 0): SNR is undefined"),
        "corrupt header": (corrupt, "could not be read as audio"),
        "NaN": (nan, "NaN or Inf"),
        "unsupported": (mp3, "unsupported audio format '.mp3': convert it to .wav, .flac or .ogg"),
        "0 bytes": (zero_bytes, "empty (0 bytes)"),
        "missing": (tmp_path / "gone.wav", "not found"),
    }


def test_bad_files_give_one_line_errors(tmp_path, capsys):
    for label, (path, message) in _bad_files(tmp_path).items():
        with pytest.raises(NstrError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
            load_signal(str(path))
        assert "\n" not in str(caught.value), label
        assert main(["fit", str(path), "--steps", "1", "--out", str(tmp_path / f"run-{label}"), "-q"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("nstr: error:") and err.count("\n") == 1 and "Traceback" not in err, label
        assert not (tmp_path / f"run-{label}").exists(), label
    with pytest.raises(NstrError, match="--resize applies to images"):
        load_signal("chirp", resize=(4, 4))
    with pytest.raises(NstrError, match="sample rate"):
        Audio(np.ones(10, dtype=np.float32))


# -- fitting -----------------------------------------------------------------------------------

@pytest.mark.slow
def test_quality_floor_on_real_speech(speech):
    """NSTR (audio defaults, 39k parameters) on the 1.43 s voice clip, 200 steps: 19.2 dB SNR measured."""
    audio = Audio(speech)
    torch.manual_seed(0)
    model = build_model("nstr", 1, 1, **audio.model_defaults("nstr"), levels=8, log2_table=12)
    metrics = fit(audio, model, steps=200, batch_size=4096, eval_every=100, quiet=True).metrics
    assert metrics["snr"] > 16.0 and metrics["spectral_convergence"] < 0.15 and metrics["psnr"] > 38.0


@pytest.mark.slow
def test_cli_fit_render_and_stereo(tmp_path, chime, capsys):
    """Fit the stereo chime from the command line, then render it at its own rate (the same samples as
    recon.wav, also when written in small blocks) and at 16 kHz (the same duration)."""
    out = tmp_path / "run"
    args = ["fit", str(chime), "--model", "hashgrid", "--levels", "8", "--log2-table", "12", "--steps", "200",
            "--batch-size", "4096", "--eval-every", "100", "--out", str(out), "-q"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "snr" in printed and "spectral convergence" in printed and "recon.wav" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["snr"] > 10 and len(metrics["snr_channels"]) == 2 and "spectral_convergence" in metrics
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["options"]["max_res"] == 48021  # the audio default, applied by nstr fit
    recon, rate = sf.read(out / "recon.wav", dtype="int16")
    assert recon.shape == (48022, 2) and rate == 44100

    assert main(["render", str(out), str(tmp_path / "same.wav")]) == 0
    assert np.array_equal(sf.read(tmp_path / "same.wav", dtype="int16")[0], recon)
    import nstr.signals.audio.signal as audio_module

    audio_module.BLOCK, block = 1000, audio_module.BLOCK
    try:
        assert main(["render", str(out), str(tmp_path / "blocks.flac")]) == 0
    finally:
        audio_module.BLOCK = block
    assert np.array_equal(sf.read(tmp_path / "blocks.flac", dtype="int16")[0], recon)

    assert main(["render", str(out), str(tmp_path / "low.wav"), "--rate", "16000"]) == 0
    info = sf.info(str(tmp_path / "low.wav"))
    assert (info.samplerate, info.frames, info.channels, info.subtype) == (16000, 17423, 2, "PCM_16")
    assert info.duration == pytest.approx(48022 / 44100, abs=1 / 16000)
    capsys.readouterr()
    assert main(["render", str(out), str(tmp_path / "x.png")]) == 2
    assert "must end in .wav, .flac or .ogg" in capsys.readouterr().err
    assert main(["render", str(out), str(tmp_path / "x.wav"), "--rate", "0"]) == 2
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.wav").exists()
