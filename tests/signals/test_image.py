"""Image signal: coordinates, normalisation, every supported format round trip, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from nstr.core.errors import NstrError
from nstr.core.metrics import psnr, ssim
from nstr.core.png import decode_png, encode_png
from nstr.signals import Image, load_signal
from nstr.signals.image.signal import parse_size, pixel_centres


def test_pixel_centres_hand_computed():
    coords = pixel_centres(2, 4)
    xs = [-0.75, -0.25, 0.25, 0.75]
    expected = [[x, y] for y in (-0.5, 0.5) for x in xs]
    assert torch.allclose(coords, torch.tensor(expected))


def test_values_normalised_to_unit_range(camera64):
    image = Image(camera64)
    assert image.values.shape == (64 * 64, 1)
    assert torch.allclose(image.values[:, 0], torch.from_numpy(camera64.reshape(-1) / 255 * 2 - 1).float())
    assert image.coords.shape == (64 * 64, 2)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(30, dtype=np.uint8).reshape(5, 6),
        np.random.default_rng(0).integers(0, 256, (5, 6, 3)).astype(np.uint8),
        np.random.default_rng(1).integers(0, 256, (5, 6, 4)).astype(np.uint8),
        np.random.default_rng(2).integers(0, 256, (5, 6, 2)).astype(np.uint8),
        np.random.default_rng(3).integers(0, 65536, (5, 6, 3)).astype(np.uint16),
        np.random.default_rng(4).integers(0, 65536, (5, 6)).astype(np.uint16),
    ],
    ids=["gray8", "rgb8", "rgba8", "gray-alpha8", "rgb16", "gray16"],
)
def test_png_round_trip_keeps_dtype_channels_and_values(tmp_path, array):
    path = tmp_path / "in.png"
    path.write_bytes(encode_png(array))
    image = Image(path)
    native = image.format.to_native(image.values.numpy())
    assert native.dtype == array.dtype and native.shape == array.shape
    assert np.array_equal(native, array)
    assert np.array_equal(decode_png(encode_png(native)), array)


@pytest.mark.parametrize("suffix", [".tif", ".bmp"])
def test_lossless_formats_read(tmp_path, suffix, astronaut48):
    import imageio.v3 as iio

    path = tmp_path / f"a{suffix}"
    iio.imwrite(path, astronaut48)
    image = Image(path)
    assert np.array_equal(image.format.to_native(image.values.numpy()), astronaut48)


def test_jpeg_reads_close_to_original(tmp_path, astronaut48):
    import imageio.v3 as iio

    path = tmp_path / "a.jpg"
    iio.imwrite(path, astronaut48, quality=95)
    native = Image(path).format.to_native(Image(path).values.numpy())
    assert native.shape == astronaut48.shape
    assert np.abs(native.astype(int) - astronaut48.astype(int)).mean() < 4


def test_float_npy_outside_unit_range_written_back_in_its_range(tmp_path):
    array = np.linspace(-3.0, 5.0, 48, dtype=np.float32).reshape(6, 8)
    np.save(tmp_path / "f.npy", array)
    image = Image(tmp_path / "f.npy")
    assert image.values.min() == -1 and image.values.max() == 1
    native = image.format.to_native(image.values.numpy())
    assert native.dtype == np.float32
    assert np.allclose(native, array, atol=1e-5)


def test_builtin_names_need_no_download():
    image = Image("chelsea")
    assert image.shape == (300, 451) and image.out_dim == 3


def test_resize_is_anti_aliased():
    image = Image("camera", resize=(32, 40))
    assert image.shape == (32, 40) and len(image) == 32 * 40


def test_parse_size():
    assert parse_size("512x384") == (384, 512)
    assert parse_size("64") == (64, 64)
    with pytest.raises(NstrError):
        parse_size("12xq")


def _bad_files(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("this is not an image\n")
    good = encode_png(np.zeros((8, 8), np.uint8))
    (tmp_path / "truncated.png").write_bytes(good[: len(good) // 2])
    np.save(tmp_path / "nan.npy", np.array([[0.0, np.nan], [1.0, 0.5]]))
    np.save(tmp_path / "inf.npy", np.array([[0.0, np.inf], [1.0, 0.5]]))
    np.save(tmp_path / "strings.npy", np.array([["a", "b"], ["c", "d"]]))
    np.save(tmp_path / "objects.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    np.save(tmp_path / "shape.npy", np.zeros((4, 4, 7)))
    np.save(tmp_path / "const.npy", np.full((4, 4), 3.0))
    (tmp_path / "image.gif").write_bytes(b"GIF89a")
    return {
        "missing.png": "not found",
        "empty.png": "empty",
        "text.png": "could not be read",
        "truncated.png": "could not be read",
        "nan.npy": "NaN or Inf",
        "inf.npy": "NaN or Inf",
        "strings.npy": "needs numbers",
        "objects.npy": "not a readable .npy",
        "shape.npy": "shape",
        "const.npy": "constant",
        "image.gif": "unsupported extension",
    }


def test_bad_files_give_one_line_errors(tmp_path):
    for name, phrase in _bad_files(tmp_path).items():
        with pytest.raises(NstrError) as info:
            Image(tmp_path / name)
        message = str(info.value)
        assert phrase in message, (name, message)
        assert "\n" not in message


def test_noise_trains_on_a_noisy_target_and_scores_the_clean_image(tmp_path):
    clean = Image("camera", resize=(64, 64))
    noisy = Image("camera", resize=(64, 64), noise=0.1, noise_seed=3)
    residual = noisy.values - clean.values
    assert abs(residual.std().item() - 0.2) < 0.01  # 10 % of the 2-wide normalised range
    assert torch.equal(noisy.clean, clean.values)
    scores = noisy.metrics(clean.values)  # predicting the clean image exactly is perfect denoising
    assert scores["psnr"] > 90 and scores["psnr_noisy_target"] < 25
    again = load_signal(noisy.spec(tmp_path), tmp_path)
    assert torch.equal(again.values, noisy.values)
    with pytest.raises(NstrError, match="noise"):
        Image("camera", noise=-0.1)


def test_psnr_by_hand():
    target = torch.zeros(10, 3, dtype=torch.float64)
    pred = torch.full((10, 3), 0.1, dtype=torch.float64)  # MSE 0.01: 20 dB
    assert psnr(pred, target) == pytest.approx(20.0, abs=1e-9)
    assert psnr(pred * 2, target, data_range=2.0) == pytest.approx(20.0, abs=1e-9)  # same error relative to 2
    assert psnr(pred + 5, target, clip=(0.0, 0.1)) == pytest.approx(20.0, abs=1e-9)  # clipped to 0.1 first
    assert psnr(target, target) == math.inf


@pytest.mark.parametrize("shape", [(40, 36, 3), (12, 30, 3), (5, 9, 1)])
def test_ssim_windows_are_scikit_images_protocols(shape):
    """One SSIM, two windows: "uniform" is scikit-image's default (7 x 7, sample covariances; the largest odd
    window that fits a smaller image), "gaussian" the NeRF papers' (11 x 11 Gaussian sigma 1.5, population
    covariances; nan below 11 pixels)."""
    gen = np.random.default_rng(0)
    a = gen.random(shape)
    b = np.clip(a + 0.1 * gen.standard_normal(shape), 0, 1)
    side = min(shape[:2])
    win = 7 if side >= 7 else (side if side % 2 else side - 1)
    expected = structural_similarity(a, b, data_range=1.0, channel_axis=2, win_size=win)
    assert ssim(a, b) == ssim(a, b, window="uniform") == expected
    if side >= 7:
        assert expected == structural_similarity(a, b, data_range=1.0, channel_axis=2)  # skimage's default
    if side >= 11:
        gaussian = structural_similarity(a, b, data_range=1.0, channel_axis=2, gaussian_weights=True, sigma=1.5,
                                         use_sample_covariance=False)
        assert ssim(a, b, window="gaussian") == gaussian != expected
    else:
        assert math.isnan(ssim(a, b, window="gaussian"))
    with pytest.raises(ValueError, match="window"):
        ssim(a, b, window="box")
