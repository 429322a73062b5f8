"""FreSh: the official spectrum (masks, diagonal sums, reference numbers), the distance, selection and the CLI."""

from __future__ import annotations

import json
import math
import sys
import threading

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy.stats import wasserstein_distance

from nstr import fresh
from nstr.cli.fresh import fresh_command, parse_values, select_for_fit
from nstr.core.errors import NstrError
from nstr.fresh import select, spectral_distance, spectrum
from nstr.fresh.spectra import diagonal_sums, mask_1d, mask_2d, mask_3d, resize_to_square
from nstr.models import build_model
from nstr.signals import Image
from nstr.signals.image.signal import pixel_centres

SMALL_SIREN = {"hidden": 32, "layers": 1}


def _wave(n: int, fi: int, fj: int, amplitude: float = 1.0) -> torch.Tensor:
    """amplitude * cos(2 pi (fi i + fj j) / n) on an n x n grid, float64."""
    i = torch.arange(n, dtype=torch.float64)[:, None]
    j = torch.arange(n, dtype=torch.float64)[None, :]
    return amplitude * torch.cos(2 * math.pi * (fi * i + fj * j) / n)


# ------------------------------------------------------------------------------------------------ masks


def test_mask_2d_even_by_hand():
    expected = [[1, 1, 1, 0],
                [1, 1, 1, 1],  # (1, 3): first of the n // 2 kept entries on the anti-diagonal i + j = 4
                [1, 1, 1, 0],  # (2, 2): the second; (3, 1) is its mirror and is dropped
                [0, 0, 0, 0]]  # (3, 0): the first column is cut after index n // 2
    assert mask_2d(4).int().tolist() == expected


def test_mask_2d_odd_by_hand():
    expected = [[1, 1, 1, 0, 0],
                [1, 1, 1, 1, 1],
                [1, 1, 1, 1, 0],
                [0, 1, 0, 0, 0],
                [0, 0, 0, 0, 0]]
    assert mask_2d(5).int().tolist() == expected


def test_mask_3d_odd_by_hand():
    expected = [[[1, 1, 0], [1, 1, 1], [0, 0, 0]],
                [[1, 1, 1], [1, 1, 1], [1, 1, 0]],
                [[0, 0, 0], [0, 1, 0], [0, 0, 0]]]
    assert mask_3d(3).int().tolist() == expected


def test_mask_3d_faces_are_the_2d_mask():
    for n in (4, 5, 6):
        m2, m3 = mask_2d(n), mask_3d(n)
        assert torch.equal(m3[0], m2) and torch.equal(m3[:, 0], m2) and torch.equal(m3[:, :, 0], m2)


def test_mask_1d_keeps_the_non_redundant_half():
    assert mask_1d(8).int().tolist() == [1, 1, 1, 1, 1, 0, 0, 0]
    assert mask_1d(7).int().tolist() == [1, 1, 1, 1, 0, 0, 0]
    assert torch.equal(mask_1d(6), mask_2d(6)[0])


# ---------------------------------------------------------------------------------------- diagonal sums


def test_diagonal_sums_by_hand():
    magnitude = torch.tensor([[1.0, 2, 3], [4, 5, 6], [7, 8, 9]])
    # mask_2d(3) keeps [[1,1,0],[1,1,1],[0,0,0]]: s[k] = sum of kept entries with i + j = k
    assert diagonal_sums(magnitude).tolist() == [1, 2 + 4, 5, 6, 0]
    assert diagonal_sums(torch.arange(1.0, 9)).tolist() == [1, 2, 3, 4, 5, 0, 0, 0]
    assert len(diagonal_sums(torch.ones(4, 4, 4))) == 3 * 4 - 2


def test_spectrum_of_known_waves_even():
    n = 4  # a full cosine puts n^2 / 2 at (fi, fj) and at its mirror (-fi, -fj); the mask keeps one
    y = torch.stack([_wave(n, 0, 1), _wave(n, 1, 1, 2.0), _wave(n, 1, 3, 0.5)])
    s = spectrum(y)
    assert len(s) == 2 * n - 2
    # index k - 1 holds the entries with i + j = k (DC dropped)
    assert s.tolist() == pytest.approx([8, 16, 0, 4, 0, 0], abs=1e-9)
    checker = torch.stack([_wave(n, 2, 2)])  # (-1)^(i + j): the self-mirrored (2, 2), counted once
    assert spectrum(checker).tolist() == pytest.approx([0, 0, 0, 16, 0, 0], abs=1e-9)


def test_spectrum_of_known_waves_odd():
    n = 5
    s = spectrum(torch.stack([_wave(n, 0, 2), _wave(n, 3, 2)]))
    assert len(s) == 2 * n - 2
    # (0, 2) is kept, its mirror (0, 3) is past the first-row cut; (3, 2) has i + j = 5 but row 3 > n // 2,
    # so its mirror (2, 3) is the one kept, also at index sum 5
    assert s.tolist() == pytest.approx([0, 12.5, 0, 0, 12.5, 0, 0, 0], abs=1e-9)


def test_spectrum_crop_and_channel_sum():
    g = torch.Generator().manual_seed(0)
    y = torch.rand(3, 9, 9, generator=g, dtype=torch.float64)
    full = spectrum(y)
    assert torch.equal(spectrum(y, 5), full[:5])
    assert torch.allclose(full, sum(spectrum(y[c : c + 1]) for c in range(3)))
    magnitude = sum(torch.fft.fft2(y[c]).abs() for c in range(3))
    assert torch.allclose(full, diagonal_sums(magnitude)[1:])


@pytest.mark.parametrize("n", [6, 7])
def test_1d_spectrum_is_the_2d_spectrum_of_repeated_rows(n):
    f = torch.rand(2, n, generator=torch.Generator().manual_seed(n), dtype=torch.float64)
    s1 = spectrum(f)
    assert len(s1) == n - 1
    image = f[:, None, :].expand(2, n, n)
    s2 = spectrum(image)
    assert torch.allclose(s2[: n - 1], n * s1) and s2[n - 1 :].abs().max() < 1e-9
    t = torch.arange(8, dtype=torch.float64)
    assert spectrum(torch.cos(2 * math.pi * 3 * t / 8)[None]).tolist() == pytest.approx([0, 0, 4, 0, 0, 0, 0])


@pytest.mark.parametrize("n", [4, 5])
def test_3d_spectrum_of_a_volume_constant_along_any_axis(n):
    image = torch.rand(2, n, n, generator=torch.Generator().manual_seed(n), dtype=torch.float64)
    s2 = spectrum(image)
    for axis in (1, 2, 3):
        volume = image.unsqueeze(axis).expand(2, n, n, n)
        s3 = spectrum(volume)
        assert len(s3) == 3 * n - 3
        assert torch.allclose(s3[: 2 * n - 2], n * s2) and s3[2 * n - 2 :].abs().max() < 1e-9
    k = torch.arange(n, dtype=torch.float64)
    wave = torch.cos(2 * math.pi * k / n).expand(1, n, n, n)
    assert spectrum(wave)[0].item() == pytest.approx(n**3 / 2)


def test_spectrum_rejects_bad_shapes():
    with pytest.raises(ValueError):
        spectrum(torch.zeros(4))
    with pytest.raises(ValueError):
        spectrum(torch.zeros(1, 4, 5), resize=False)


def test_resize_to_square():
    y = torch.rand(3, 40, 60, dtype=torch.float64)
    assert resize_to_square(y) is not y and resize_to_square(y).shape == (3, 40, 40)
    expected = torch.nn.functional.interpolate(y[None], size=(40, 40), mode="bilinear", antialias=True)[0]
    assert torch.allclose(resize_to_square(y), expected)
    square = torch.rand(1, 32, 32)
    assert resize_to_square(square) is square
    assert resize_to_square(square, max_side=16).shape == (1, 16, 16)
    assert resize_to_square(torch.rand(2, 6, 8, 10)).shape == (2, 6, 6, 6)
    assert len(spectrum(y)) == 2 * 40 - 2


# ------------------------------------------------------------------------------- official reference numbers


def _photo(name: str) -> torch.Tensor:
    import skimage.data
    from skimage.transform import resize

    unit = resize(getattr(skimage.data, name)() / 255.0, (256, 256), order=1, anti_aliasing=True)
    unit = unit[..., None] if unit.ndim == 2 else unit
    return torch.from_numpy(np.moveaxis(unit * 2 - 1, -1, 0).copy())


def test_reference_numbers_of_the_official_code():
    camera, astronaut = _photo("camera"), _photo("astronaut")
    assert camera.shape == (1, 256, 256) and astronaut.shape == (3, 256, 256)
    sc, sa = spectrum(camera), spectrum(astronaut)
    assert len(sc) == 510
    assert sc[:3].tolist() == pytest.approx([25042.6451185, 18412.3419016, 10917.5377506], rel=1e-6)
    assert sa[:2].tolist() == pytest.approx([38789.2178565, 36850.6814738], rel=1e-6)
    assert spectral_distance(spectrum(camera, 64), spectrum(astronaut, 64)) == pytest.approx(1.52185188937, rel=1e-6)
    # float32 input (as the official code runs) agrees to well within the same tolerance
    assert spectrum(camera.float())[:3].tolist() == pytest.approx(sc[:3].tolist(), rel=1e-6)


# ------------------------------------------------------------------------------------------------ distance


def test_distance_is_scipy_wasserstein_over_the_index():
    rng = np.random.default_rng(0)
    u, v = rng.random(64), rng.random(64)
    index = np.arange(64)
    assert spectral_distance(u, v) == pytest.approx(wasserstein_distance(index, index, u, v), rel=1e-12)
    assert spectral_distance(torch.from_numpy(u), 7 * v) == pytest.approx(spectral_distance(u, v), rel=1e-12)
    assert spectral_distance(u, u) == 0
    assert spectral_distance([1, 0, 0], [0, 0, 1]) == pytest.approx(2)
    with pytest.raises(ValueError):
        spectral_distance(u, v[:10])


# ----------------------------------------------------------------------------------------------- selection


def _untrained_image(model: str, size: int, seed: int, **options) -> np.ndarray:
    torch.manual_seed(seed)
    net = build_model(model, 2, 1, **options)
    with torch.no_grad():
        return net(pixel_centres(size, size)).reshape(size, size).numpy().astype(np.float64)


def test_selection_recovers_siren_omega0_of_a_synthetic_target():
    target = Image(_untrained_image("siren", 48, seed=1234, omega0=60.0, **SMALL_SIREN))
    values = list(range(10, 121, 10))
    result = select(target, "siren", "omega0", values, inits=4, n=32, options=SMALL_SIREN)
    assert result.best.value in (50.0, 60.0, 70.0)
    assert [c.value for c in result.candidates] == values
    assert result.worst.mean > 2 * result.best.mean
    again = select(target, "siren", "omega0", values, inits=4, n=32, options=SMALL_SIREN)
    assert [c.distances for c in again.candidates] == [c.distances for c in result.candidates]


def test_selection_recovers_fourier_feature_sigma_of_a_synthetic_target():
    options = {"features": 32, "hidden": 32, "layers": 2}
    target = Image(_untrained_image("ffn", 48, seed=99, sigma=3.0, **options))
    result = select(target, "ffn", "sigma", [1, 2, 3, 4, 6, 8], inits=4, n=32, options=options)
    assert result.best.value in (2.0, 3.0, 4.0)


@pytest.mark.parametrize("native, expected", [(True, "bfloat16"), (False, "float32")])
def test_auto_precision_uses_bfloat16_only_where_the_device_multiplies_it_natively(monkeypatch, camera64, native,
                                                                                     expected):
    # Emulated bfloat16 took 364 s against 21 s in float32 for one untrained 1.2M Fourier MLP on an AVX2 CPU.
    seen = []
    probe = lambda device: seen.append(device.type) or native  # noqa: E731
    monkeypatch.setattr(sys.modules["nstr.fresh.select"], "native_bf16", probe)
    result = select(Image(camera64), "siren", "omega0", [20, 80], inits=2, n=16, options=SMALL_SIREN)
    assert result.precision == expected and seen == ["cpu"]
    exact = select(Image(camera64), "siren", "omega0", [20, 80], inits=2, n=16, options=SMALL_SIREN,
                   precision=expected)
    assert [c.distances for c in result.candidates] == [c.distances for c in exact.candidates]


def test_float32_selection_matches_the_models_own_forward(monkeypatch, camera64):
    signal = Image(camera64)
    args = (signal, "siren", "omega0", [20, 80])
    fast = select(*args, inits=2, n=16, options=SMALL_SIREN, precision="float32", workers=1)
    monkeypatch.setattr(fresh.forwards, "FAST_FORWARDS", {})
    threads = torch.get_num_threads()
    plain = select(*args, inits=2, n=16, options=SMALL_SIREN, precision="bfloat16", workers=2)
    # The calling thread keeps its own OpenMP count whatever the workers do, so this alone cannot fail; the
    # process-wide count that the workers' set_num_threads(1) changes is tested below.
    assert torch.get_num_threads() == threads
    assert plain.precision == "float32" and fast.precision == "float32"
    for a, b in zip(fast.candidates, plain.candidates, strict=True):
        assert a.distances == pytest.approx(b.distances, rel=1e-5)


def test_selection_restores_the_callers_thread_count(camera64):
    """torch.set_num_threads(1) in a worker also sets the process-wide count that every thread started later
    takes (measured: a new thread then reports 1); select() must leave the caller's count, here 3 (neither
    the workers' 1 nor the suite's 2), both in the calling thread and for threads started afterwards."""
    def new_thread_count() -> int:
        seen: list[int] = []
        thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        thread.start()
        thread.join()
        return seen[0]

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        assert new_thread_count() == 3
        select(Image(camera64), "siren", "omega0", [20, 80], inits=2, n=16, options=SMALL_SIREN, workers=2)
        assert torch.get_num_threads() == 3
        assert new_thread_count() == 3
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("model,options", [
    ("siren", {"omega0": 90.0, "hidden": 32, "layers": 2}),
    ("ffn", {"sigma": 5.0, "features": 16, "hidden": 32, "layers": 2}),
    ("ffn", {"sigma": 5.0, "features": 16, "hidden": 32, "layers": 1, "activation": "gelu"}),
])
def test_fast_forwards_match_the_module(model, options):
    torch.manual_seed(0)
    net = build_model(model, 2, 3, **options).eval()
    x = pixel_centres(24, 24)
    with torch.no_grad():
        expected = net(x)
    builder = fresh.FAST_FORWARDS[type(net).__name__]
    exact = fresh.evaluate(builder(net, torch.float32), x, chunk=100)
    assert torch.allclose(exact, expected, atol=1e-5)
    rough = fresh.evaluate(builder(net, torch.bfloat16), x, chunk=100)
    assert (rough - expected).abs().max() < 0.02 * expected.abs().max()


def test_signals_of_one_shape_share_their_untrained_models_and_each_selection_equals_its_own(monkeypatch,
                                                                                                camera64):
    """select_many builds the untrained models once per (side, channels): two grey images of one side share
    them, a colour image and a narrower grey image get their own; every selection equals select() alone."""
    grey, other = Image(camera64), Image(np.ascontiguousarray(camera64[::-1, :]))
    colour, narrow = Image(np.stack([camera64, camera64.T, camera64[::-1]], axis=-1)), Image(camera64[:, :40])
    built = []
    real_build = sys.modules["nstr.fresh.select"].build_model
    monkeypatch.setattr(sys.modules["nstr.fresh.select"], "build_model",
                        lambda model, i, o, **kw: built.append((o, kw["omega0"])) or real_build(model, i, o, **kw))
    args = ("siren", "omega0", [20, 80])
    many = fresh.select_many([grey, colour, other, narrow], *args, inits=2, n=16, options=SMALL_SIREN)
    assert len(built) == 3 * 2 * 2  # three shapes x two values x two initialisations, not four signals' worth
    assert sorted(set(built)) == [(1, 20), (1, 80), (3, 20), (3, 80)]
    for signal, selection in zip((grey, colour, other, narrow), many, strict=True):
        alone = select(signal, *args, inits=2, n=16, options=SMALL_SIREN)
        assert selection.side == alone.side
        assert [c.distances for c in selection.candidates] == [c.distances for c in alone.candidates]
    assert many[0].candidates[0].distances != many[2].candidates[0].distances  # shared models, own targets


def test_selection_on_a_non_square_image_uses_the_square_grid(camera64):
    signal = Image(camera64[:, :40])
    result = select(signal, "siren", "omega0", [30], inits=1, n=8, options=SMALL_SIREN)
    assert result.side == 40 and len(result.target) == 8
    record = json.loads(json.dumps(result.to_dict()))
    assert record["best"] == 30 and record["candidates"][0]["value"] == 30 and record["param"] == "omega0"


@pytest.mark.parametrize("kwargs,message", [
    ({"param": "bogus"}, "not an option"),
    ({"param": "activation", "model": "ffn"}, "not numeric"),
    ({"values": [-5.0]}, "positive"),
    ({"values": []}, "at least one"),
    ({"values": [10, 10]}, "repeat"),
    ({"inits": 0}, "inits"),
    ({"n": 0}, r"^n \(spectrum"),
    ({"precision": "half"}, "precision"),
    ({"options": {"omega0": 3.0}}, "being selected"),
    ({"model": "nope"}, "unknown model"),
])
def test_selection_errors_are_one_line(camera64, kwargs, message):
    args = {"model": "siren", "param": "omega0", "values": [10.0, 20.0], "inits": 1, "n": 8,
            "options": dict(SMALL_SIREN)}
    args.update(kwargs)
    with pytest.raises(NstrError, match=message) as info:
        select(Image(camera64), **args)
    assert "\n" not in str(info.value)


def test_constant_target_is_refused():
    with pytest.raises(NstrError, match="constant"):
        select(Image(np.zeros((16, 16), dtype=np.uint8)), "siren", "omega0", [10], inits=1, options=SMALL_SIREN)


# --------------------------------------------------------------------------------------------------- CLI


def test_parse_values():
    assert parse_values("10:200:10") == [float(v) for v in range(10, 201, 10)]
    assert parse_values("0.1:0.3:0.1") == [0.1, 0.2, 0.3]
    assert parse_values("1:2:0.4") == [1.0, 1.4, 1.8]
    assert parse_values(" 3, 1.5 ,8") == [3.0, 1.5, 8.0]
    assert parse_values("30") == [30.0]
    for bad in ("10:200", "a:b:c", "10:5:1", "1:2:0", "1,,2", "", "1,1", "1:nan:1", "0:1e9:1e-3"):
        with pytest.raises(NstrError):
            parse_values(bad)


def _fresh_args(source, out, *extra):
    return [str(source), "--values", "20:80:30", "--inits", "2", "--n", "16", "--hidden", "32", "--layers", "1",
            "--out", str(out), "-q", *extra]


def test_cli_writes_table_json_and_plot(tmp_path, camera64):
    np.save(tmp_path / "cam.npy", camera64)
    out = tmp_path / "sel"
    result = CliRunner().invoke(fresh_command, _fresh_args(tmp_path / "cam.npy", out))
    assert result.exit_code == 0, result.output
    record = json.loads((out / "fresh.json").read_text())
    for key in ("candidates", "best", "signal", "model", "param", "inits", "n", "seconds"):
        assert key in record
    assert [c["value"] for c in record["candidates"]] == [20.0, 50.0, 80.0]
    assert {"value", "mean", "std"} <= set(record["candidates"][0])
    assert record["best"] == min(record["candidates"], key=lambda c: c["mean"])["value"]
    assert record["model"] == "siren" and record["param"] == "omega0" and record["inits"] == 2
    assert (out / "fresh.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = result.output.splitlines()
    assert lines[0].split()[:2] == ["rank", "omega0"] and "best" in lines[1]
    assert f"best omega0 = {record['best']:g}" in result.output

    before = (out / "fresh.json").read_bytes()
    again = CliRunner().invoke(fresh_command, _fresh_args(tmp_path / "cam.npy", out, "--seed", "5"))
    assert isinstance(again.exception, NstrError) and "already exists" in str(again.exception)
    assert (out / "fresh.json").read_bytes() == before
    forced = CliRunner().invoke(fresh_command, _fresh_args(tmp_path / "cam.npy", out, "--seed", "5", "--overwrite"))
    assert forced.exit_code == 0 and (out / "fresh.json").read_bytes() != before


@pytest.mark.parametrize("extra,message", [
    (["--values", "1:2"], "start:stop:step"),
    (["--param", "bogus"], "not an option"),
    (["--inits", "0"], "--inits"),
    (["--n", "-1"], "--n"),
    (["--omega0", "30"], "being selected"),
    (["--model", "ffn", "--param", "activation", "--values", "1,2"], "not numeric"),
])
def test_cli_bad_inputs_are_one_line_errors(tmp_path, extra, message):
    result = CliRunner().invoke(fresh_command, [*_fresh_args("camera", tmp_path / "x"), *extra])
    assert isinstance(result.exception, NstrError), result.output
    assert message in str(result.exception) and "\n" not in str(result.exception)
    assert not (tmp_path / "x" / "fresh.json").exists()


def test_select_for_fit(camera64):
    param, best, record = select_for_fit(Image(camera64), "siren", "omega0=20,60", dict(SMALL_SIREN), inits=2, n=16)
    assert param == "omega0" and best in (20.0, 60.0)
    assert record["spec"] == "omega0=20,60" and record["best"] == best and len(record["candidates"]) == 2
    json.dumps(record)
    with pytest.raises(NstrError, match="PARAM=VALUES"):
        select_for_fit(Image(camera64), "siren", "10:200:10", {})
    with pytest.raises(NstrError, match="being selected"):
        select_for_fit(Image(camera64), "siren", "omega0=10,20", {"omega0": 30.0})
