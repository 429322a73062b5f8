"""The official DINR recipe in the fit: AdamW (weight decay 1e-5) and ReduceLROnPlateau on epoch losses."""

from __future__ import annotations

import json

import pytest
import torch

import nstr
from nstr.core.errors import NstrError
from nstr.models import build_model
from nstr.signals import Image
from nstr.train.fit import FitSettings, _optimizer
from nstr.train.plateau import Plateau, steps_per_epoch
from nstr.train.runs import prepare_run_dir


def test_steps_per_epoch():
    assert steps_per_epoch(4096, 0) == 1 and steps_per_epoch(4096, 4096) == 1 and steps_per_epoch(4096, 10**6) == 1
    assert steps_per_epoch(4096, 1000) == 5 and steps_per_epoch(393_216, 65_536) == 6  # a Kodak image


def test_plateau_steps_torch_scheduler_on_epoch_means():
    """Against torch's ReduceLROnPlateau stepped by hand with each epoch's mean loss: the same rates, and the
    first cut 11 epochs after the last improvement (patience 10)."""
    losses = [5.0, 4.0, 3.0, 3.5, 2.5, 2.0] + [2.0] * 90  # improving, then flat
    ours = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    plateau = Plateau(ours, epoch=3)
    reference = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, factor=0.1, patience=10)
    rates = []
    for i, loss in enumerate(losses):
        plateau.observe(loss)
        if i % 3 == 2:
            reference.step(sum(losses[i - 2 : i + 1]) / 3)
        assert ours.param_groups[0]["lr"] == theirs.param_groups[0]["lr"]
        rates.append(ours.param_groups[0]["lr"])
    # Epoch means 4, 2.67, 2, 2, ...: the last improvement ends epoch 3 (step 9); the 11th flat epoch cuts.
    assert rates.index(pytest.approx(0.1)) == 3 * (3 + 11) - 1
    assert rates[-1] == pytest.approx(0.01)


def _model(image):
    torch.manual_seed(0)
    return build_model("siren", image.in_dim, image.out_dim, hidden=32, layers=2)


def test_fit_with_the_official_recipe_records_it_and_resumes_exactly(tmp_path, camera64):
    image = Image(camera64[:32, :32])
    settings = FitSettings(steps=60, batch_size=256, eval_every=20, checkpoint_every=10, lr=1e-3,
                           optimizer="adamw", schedule="plateau")
    whole = nstr.fit(image, _model(image), settings, out=tmp_path / "whole", quiet=True)
    fit = json.loads((tmp_path / "whole" / "config.json").read_text())["fit"]
    assert (fit["optimizer"], fit["schedule"]) == ("adamw", "plateau")
    out = prepare_run_dir(tmp_path / "run", overwrite=False)

    def kill(step, record):
        if step == 40:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        nstr.fit(image, _model(image), settings, out=out, quiet=True, callback=kill)
    assert nstr.resume(out, quiet=True).metrics["psnr"] == whole.metrics["psnr"]
    # Without them, the model's defaults (Adam, cosine) are what config.json records.
    nstr.fit(image, _model(image), steps=2, out=tmp_path / "default", quiet=True)
    fit = json.loads((tmp_path / "default" / "config.json").read_text())["fit"]
    assert (fit["optimizer"], fit["schedule"]) == ("adam", "cosine")


def test_adamw_decays_the_weights_by_the_official_amount():
    """With a zero gradient Adam's step is 0, so AdamW's decoupled decay alone moves w to w (1 - lr 1e-5)."""
    model = build_model("siren", 2, 1, hidden=8, layers=1).double()
    optimizer = _optimizer(model, 0.1, "adamw")
    assert isinstance(optimizer, torch.optim.AdamW) and optimizer.param_groups[0]["weight_decay"] == 1e-5
    start = [p.detach().clone() for p in model.parameters()]
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    for w0, w1 in zip(start, model.parameters(), strict=True):
        assert torch.allclose(w1, w0 * (1 - 0.1 * 1e-5), rtol=0, atol=1e-15)
    assert type(_optimizer(model, 0.1)) is torch.optim.Adam


def test_bad_optimizer_and_schedule_are_one_line_errors(camera64):
    image = Image(camera64[:16, :16])
    for options, phrase in (({"optimizer": "sgd"}, "--optimizer must be one of adam, adamw"),
                            ({"schedule": "step"}, "--schedule must be one of cosine, constant, plateau")):
        with pytest.raises(NstrError, match=phrase):
            nstr.fit(image, _model(image), steps=1, quiet=True, **options)


def test_cli_takes_the_official_recipe(tmp_path):
    from nstr.cli.main import main

    out = tmp_path / "run"
    args = ["fit", "camera", "--model", "siren", "--hidden", "16", "--layers", "1", "--resize", "16x16", "--steps",
            "3", "--optimizer", "adamw", "--schedule", "plateau", "--out", str(out), "--quiet"]
    assert main(args) == 0
    fit = json.loads((out / "config.json").read_text())["fit"]
    assert (fit["optimizer"], fit["schedule"]) == ("adamw", "plateau")


def test_dinr_official_preset_brings_the_official_recipe(tmp_path):
    """``--model dinr-official`` trains with AdamW at 1e-3 and the plateau schedule unless the command line says
    otherwise (its ``fit_defaults``), in float32 (the official field precision)."""
    from nstr.cli.main import main

    common = ["fit", "camera", "--model", "dinr-official", "--hidden", "8", "--blocks", "1", "--ode-steps", "2",
              "--resize", "16x16", "--steps", "2", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "a")]) == 0
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert (config["fit"]["optimizer"], config["fit"]["schedule"]) == ("adamw", "plateau")
    assert config["model"]["options"]["field_precision"] == "fp32"
    assert main([*common, "--schedule", "cosine", "--out", str(tmp_path / "b")]) == 0
    fit = json.loads((tmp_path / "b" / "config.json").read_text())["fit"]
    assert (fit["optimizer"], fit["schedule"]) == ("adamw", "cosine")
