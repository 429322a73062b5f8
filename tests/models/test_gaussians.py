"""The 2-D Gaussian image model: images only, its three rendering paths agree, it initialises from the training
pixels only, trains on whole images by default, fits a real photograph, and works from the command line (run
directory, render at any size, info, viz, resume)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import nstr
from nstr.bench.sizing import size_model
from nstr.cli.main import main
from nstr.core.errors import NstrError
from nstr.core.metrics import psnr
from nstr.core.png import decode_png, encode_png
from nstr.inspect import write_pictures
from nstr.models import build_model
from nstr.render.image_grid import pixel_centres
from nstr.render.splat_points import splat_points
from nstr.signals import Image
from nstr.train.fit import split_holdout

DATA = Path(__file__).resolve().parents[1] / "data"


def _model(image, count=300, **options):
    torch.manual_seed(0)
    return build_model("gaussians", image.in_dim, image.out_dim, count=count, **options)


def test_images_only_and_bad_options_are_one_line_errors(capsys):
    for in_dim in (1, 3):
        with pytest.raises(NstrError, match="images only") as info:
            build_model("gaussians", in_dim, 1)
        assert "\n" not in str(info.value)
    for bad in ({"count": 0}, {"cutoff": -1.0}, {"init": "grid"}, {"gradient_share": 1.5}, {"position_lr": 0.0}):
        with pytest.raises(NstrError, match="model 'gaussians'"):
            build_model("gaussians", 2, 3, **bad)
    assert main(["fit", str(DATA / "chime_complete.wav"), "--model", "gaussians", "--steps", "1", "-q"]) == 2
    err = capsys.readouterr().err
    assert "images only" in err and err.count("\n") == 1


def test_eight_parameters_per_rgb_gaussian_and_budgets_map_to_the_count():
    assert build_model("gaussians", 2, 3, count=1000).num_params() == 8000
    assert build_model("gaussians", 2, 1, count=1000).num_params() == 6000
    options, params = size_model("gaussians", 2, 3, 300_000)
    assert options == {"count": 37_500} and params == 300_000


def test_grid_subset_and_point_paths_give_the_same_values(astronaut48):
    image = Image(astronaut48)
    model = _model(image)
    model.initialise(image.coords, image.values, seed=0, shape=image.shape)
    general = splat_points(model.means, model.factors(), model.colours, image.coords).detach()
    with torch.no_grad():
        assert torch.allclose(model(image.coords), general, atol=1e-5, rtol=0)  # the whole grid
        subset = torch.randperm(len(image.coords), generator=torch.Generator().manual_seed(0))[:1500]
        assert torch.allclose(model(image.coords[subset]), general[subset], atol=1e-5, rtol=0)  # pixels
        few = subset[:50]  # too few pixels to be worth drawing the image: the point path
        assert torch.allclose(model(image.coords[few]), general[few], atol=1e-5, rtol=0)
        other = pixel_centres(31, 57)  # another size: drawn as a grid too
        expected = splat_points(model.means, model.factors(), model.colours, other)
        assert torch.allclose(model.predict(other), expected, atol=1e-5, rtol=0)
    x = image.coords[:20].clone().requires_grad_(True)  # derivatives in x: the point path, autograd
    (grad,) = torch.autograd.grad(model(x).sum(), x)
    assert grad.shape == (20, 2) and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_initialisation_follows_the_image(astronaut48):
    image = Image(astronaut48)
    model = _model(image, count=800)
    untrained = psnr((model.predict(image.coords).clamp(-1, 1) + 1) / 2, (image.values + 1) / 2)
    model.initialise(image.coords, image.values, seed=0, shape=image.shape)
    initial = psnr((model.predict(image.coords).clamp(-1, 1) + 1) / 2, (image.values + 1) / 2)
    broad = _model(image, count=800, init_scale=0.8)  # overlapping Gaussians: a blurred copy of the image
    broad.initialise(image.coords, image.values, seed=0, shape=image.shape)
    blurred = psnr((broad.predict(image.coords).clamp(-1, 1) + 1) / 2, (image.values + 1) / 2)
    # Measured: 9.7 dB spread uniformly without data, 14.2 dB placed on the image with the default small
    # Gaussians (gaps between them), 17.6 dB with broad ones (colours divided by the overlap).
    assert untrained < 11 and initial > untrained + 3 and blurred > 16.5
    assert model.means.abs().max() <= 1 and torch.equal(model.grid, torch.tensor([48, 48]))
    assert float(model.pixel) == pytest.approx(2 / 48)
    lr = {id(g["params"][0]): g["lr_scale"] for g in model.param_groups()}
    assert lr[id(model.means)] == pytest.approx(10 * 2 / 48) and lr[id(model.colours)] == 1.0
    # The gradient share draws more Gaussians onto edges than a uniform draw does.
    uniform = _model(image, count=800, init="random")
    uniform.initialise(image.coords, image.values, seed=0, shape=image.shape)
    edges = _edge_mask(astronaut48)
    assert _share_on(model, edges) > _share_on(uniform, edges) + 0.1


def _edge_mask(array):
    gray = array.astype(float).mean(axis=2)
    magnitude = np.hypot(*np.gradient(gray))
    return magnitude > np.quantile(magnitude, 0.75)


def _share_on(model, mask):
    h, w = mask.shape
    cols = ((model.means[:, 0].detach() + 1) * w / 2).long().clamp(0, w - 1)
    rows = ((model.means[:, 1].detach() + 1) * h / 2).long().clamp(0, h - 1)
    return float(torch.from_numpy(mask)[rows, cols].double().mean())


def test_held_out_pixels_reach_neither_initialisation_nor_training(astronaut48):
    altered = astronaut48.copy()
    image = Image(astronaut48)
    _, held = split_holdout(len(image), 0.3, seed=0)
    flat = altered.reshape(-1, 3)
    flat[held.numpy()] = 255 - flat[held.numpy()]
    models = []
    for array in (astronaut48, altered):
        model = _model(image)
        nstr.fit(Image(array), model, steps=3, holdout=0.3, eval_every=3, quiet=True)
        models.append(model)
    for name, value in models[0].state_dict().items():
        assert torch.equal(value, models[1].state_dict()[name]), name


def test_whole_images_by_default_and_a_quality_floor(camera64, tmp_path):
    image = Image(camera64)
    model = _model(image, count=500)  # 3,000 numbers for 4,096 pixels: it cannot store them
    result = nstr.fit(image, model, steps=100, eval_every=50, out=tmp_path / "run", quiet=True)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["fit"]["batch_size"] == 0 and config["model"]["options"]["count"] == 500
    # Measured 34.1 dB after 100 steps (32.8 after 50; 13.5 dB as initialised).
    assert result.metrics["psnr"] > 31 and result.history[0]["psnr"] < 20


@pytest.mark.slow
def test_command_line_run_render_info_viz_and_resume(tmp_path, astronaut48, capsys):
    source = tmp_path / "a.png"
    source.write_bytes(encode_png(astronaut48))
    out = tmp_path / "run"
    args = ["fit", str(source), "--model", "gaussians", "--count", "600", "--steps", "40", "--eval-every", "20",
            "--checkpoint-every", "10", "--out", str(out), "-q"]
    assert main(args) == 0
    for name in ("config.json", "metrics.json", "recon.png", "model.safetensors", "gaussians.png"):
        assert (out / name).is_file(), name
    capsys.readouterr()
    # Rendering at twice the size: the same Gaussians, so 2 x 2 block means come back near the fitted image.
    assert main(["render", str(out), str(tmp_path / "big.png"), "--size", "96x96"]) == 0
    assert "wrote" in capsys.readouterr().out
    big = decode_png((tmp_path / "big.png").read_bytes()).astype(float)
    recon = decode_png((out / "recon.png").read_bytes()).astype(float)
    blocks = big.reshape(48, 2, 48, 2, 3).mean(axis=(1, 3))
    assert psnr(torch.from_numpy(blocks / 255), torch.from_numpy(recon / 255)) > 28
    assert main(["info", str(out)]) == 0 and "gaussians" in capsys.readouterr().out
    (out / "gaussians.png").unlink()
    assert main(["viz", str(out)]) == 0 and (out / "gaussians.png").is_file()
    # Interrupted after its checkpoint at step 20, resumed, it ends where the uninterrupted run ended.
    stopped = tmp_path / "stopped"

    def interrupt(step, record):
        if step == 20:
            raise KeyboardInterrupt

    image = Image(str(source))
    model = build_model("gaussians", 2, 3, count=600)
    with pytest.raises(KeyboardInterrupt):
        nstr.fit(image, model, steps=40, eval_every=20, checkpoint_every=10, out=stopped, quiet=True,
                 callback=interrupt)
    whole = nstr.fit(image, build_model("gaussians", 2, 3, count=600), steps=40, eval_every=20, quiet=True)
    assert nstr.resume(stopped, quiet=True).metrics["psnr"] == whole.metrics["psnr"]


def test_picture_of_the_gaussians(astronaut48, tmp_path):
    image = Image(astronaut48)
    model = _model(image)
    model.initialise(image.coords, image.values, seed=0, shape=image.shape)
    assert write_pictures(model, tmp_path, image.shape) == [tmp_path / "gaussians.png"]
    assert (tmp_path / "gaussians.png").stat().st_size > 10_000


def test_compile_is_refused_in_one_line(astronaut48, tmp_path):
    image = Image(astronaut48)
    with pytest.raises(NstrError, match="--compile does not apply to gaussians"):
        nstr.fit(image, _model(image), steps=1, compile=True, out=tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()
