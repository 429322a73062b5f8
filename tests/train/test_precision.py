"""--precision: a bf16 step for every registered model, fp16 with its loss scaler, float32 master weights and
Adam state, the places that stay float32 under autocast, and the settings in config.json and checkpoints."""

from __future__ import annotations

import json

import pytest
import torch

import nstr
from nstr.core.errors import NstrError
from nstr.core.precision import full_precision
from nstr.models import MODELS, build_model
from nstr.nn.hashgrid import FourierFeatures, HashGrid
from nstr.render.compositing import composite
from nstr.render.samplers import Samples
from nstr.signals import Image
from nstr.train.fit import FitSettings, _optimizer, training_step
from nstr.train.runs import prepare_run_dir

#: Small versions of the models whose defaults are large (a step in milliseconds).
SMALL = {
    "nerf-nstr": {"log2_table": 12, "levels": 4, "max_res": 64, "occupancy_res": 16},
    "nerf-hashgrid": {"log2_table": 12, "levels": 4, "max_res": 64, "occupancy_res": 16},
    "nerf-triplane": {"resolution": 32, "density_components": 4, "appearance_components": 8, "occupancy_res": 16},
    "hashgrid": {"log2_table": 12, "levels": 4, "max_res": 64},
    "siren": {"hidden": 32, "layers": 2},
    "ffn": {"hidden": 32, "layers": 2, "features": 32},
    "dinr": {"hidden": 16, "blocks": 1},
    "dinr-ffn": {"hidden": 16, "blocks": 1},
    "dinr-siren": {"hidden": 16, "blocks": 1},
    "dinr-official": {"hidden": 16, "blocks": 1},
}


def _model_and_batch(name: str) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    if 6 in MODELS[name].in_dims:  # rays: origins outside the box looking at it
        model = build_model(name, 6, 3, **SMALL.get(name, {}))
        origins = torch.nn.functional.normalize(torch.randn(64, 3, generator=generator), dim=1) * 4
        targets = torch.rand(64, 3, generator=generator) - 0.5
        x = torch.cat([origins, torch.nn.functional.normalize(targets - origins, dim=1)], dim=1)
    else:
        model = build_model(name, 2, 3, **SMALL.get(name, {}))
        x = torch.rand(256, 2, generator=generator) * 2 - 1
    return model, x, torch.rand(x.shape[0], 3, generator=generator)


def _float32_state(model, optimizer) -> bool:
    tensors = [*model.parameters(), *(v for s in optimizer.state.values() for v in s.values() if v.dim() > 0)]
    return all(t.dtype == torch.float32 for t in tensors)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_one_bf16_step_trains_every_model_in_float32(name):
    model, x, y = _model_and_batch(name)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = _optimizer(model, 1e-3)
    step = training_step(model, optimizer, precision="bf16")
    losses = step(x, y)
    assert step.scaler is None
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert _float32_state(model, optimizer) and optimizer.state
    moved = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert moved, "the step changed no weight"
    assert model.predict(x[:8]).dtype == torch.float32


def test_fp16_scales_the_loss_and_keeps_float32_master_weights():
    model, x, y = _model_and_batch("siren")
    optimizer = _optimizer(model, 1e-3)
    step = training_step(model, optimizer, precision="fp16")
    assert isinstance(step.scaler, torch.amp.GradScaler) and step.scaler.is_enabled()
    first = step(x, y)["loss"]
    for _ in range(4):
        last = step(x, y)["loss"]
    assert last < first and step.scaler.get_scale() > 1
    assert _float32_state(model, optimizer)


def test_fp32_adds_no_autocast_and_no_scaler():
    """The default step is the plain float32 step: the same numbers as a hand-written Adam step."""
    results = []
    for precision in ("fp32", None):
        model, x, y = _model_and_batch("ffn")
        optimizer = _optimizer(model, 1e-3)
        if precision is None:
            loss = torch.mean((model(x) - y) ** 2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        else:
            step = training_step(model, optimizer, precision=precision)
            assert step.scaler is None
            step(x, y)
        results.append([p.detach().clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*results, strict=True))


@pytest.mark.slow  # a fit of several seconds: out of the developer loop
def test_bf16_fit_learns_records_its_precision_and_evaluates_in_float32(tmp_path, camera64):
    image = Image(camera64)
    torch.manual_seed(0)
    model = build_model("siren", 2, 1, hidden=64, layers=2)
    result = nstr.fit(image, model, steps=60, lr=1e-3, batch_size=0, eval_every=60, precision="bf16", quiet=True,
                      out=tmp_path / "run")
    assert result.metrics["psnr"] > 20.0  # fp32 reaches about 24 dB here; untrained is below 12
    assert json.loads((tmp_path / "run" / "config.json").read_text())["fit"]["precision"] == "bf16"
    assert result.metrics["psnr"] == image.psnr(result.model.predict(image.coords), image.eval_values)


def test_fp16_checkpoint_keeps_the_loss_scale_and_resumes_exactly(tmp_path, camera64):
    image = Image(camera64)
    settings = FitSettings(steps=12, batch_size=256, eval_every=4, checkpoint_every=2, lr=1e-3, precision="fp16")

    def model():
        torch.manual_seed(0)
        return build_model("siren", 2, 1, hidden=16, layers=1)

    whole = nstr.fit(image, model(), settings, quiet=True)
    out = prepare_run_dir(tmp_path / "run", overwrite=False)

    def kill(step, record):
        if step == 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        nstr.fit(image, model(), settings, out=out, quiet=True, callback=kill)
    assert "scaler" in torch.load(out / "checkpoint.pt", weights_only=False)
    resumed = nstr.resume(out, quiet=True)
    assert resumed.metrics["psnr"] == whole.metrics["psnr"]


def test_unknown_precision_is_a_one_line_error(camera64):
    image = Image(camera64)
    with pytest.raises(NstrError, match="--precision must be one of fp32, bf16, fp16, got 'fp8'"):
        nstr.fit(image, build_model("siren", 2, 1, hidden=8, layers=1), steps=1, precision="fp8", quiet=True)


@pytest.mark.slow
def test_compiled_bf16_step_matches_eager_bf16(camera64):
    image = Image(camera64)
    runs = []
    for compile in (False, True):
        torch.manual_seed(0)
        model = build_model("siren", 2, 1, hidden=32, layers=2)
        runs.append(nstr.fit(image, model, steps=4, batch_size=0, eval_every=2, precision="bf16", compile=compile,
                             quiet=True))
    for a, b in zip(runs[0].history, runs[1].history, strict=True):
        assert a.get("loss", 0.0) == pytest.approx(b.get("loss", 0.0), rel=2e-2)


# -- what stays float32 under autocast -------------------------------------------------------------------------
def test_fourier_phases_stay_float32_under_autocast():
    encoding = FourierFeatures(2, 64, sigma=10.0, generator=torch.Generator().manual_seed(0))
    x = torch.rand(100, 2) * 2 - 1
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = encoding(x)
        with full_precision(x):
            assert (x @ encoding.B).dtype == torch.float32
        assert (x @ encoding.B).dtype == torch.bfloat16  # autocast is back on after the region
    assert mixed.dtype == torch.float32 and torch.equal(mixed, encoding(x))


@pytest.mark.parametrize("name", ["siren", "nstr", "dinr-siren", "ffn"])
def test_encodings_with_large_phases_are_not_rounded(name):
    """Under bf16 autocast the outputs stay close to float32's: the phases that would be rounded to 0.125 rad (and
    turn the encoding into noise) are computed in float32; only the products after them are rounded."""
    model, x, _ = _model_and_batch(name)
    with torch.no_grad():
        exact = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = model(x).float()
    assert (mixed - exact).abs().max() < 0.05 * exact.abs().max() + 1e-3


def test_hash_grid_gradients_are_exact_under_autocast():
    """The grid's gathers and interpolation have no autocast ops: the same table gradient as in float32."""
    torch.manual_seed(0)
    grid = HashGrid(2, levels=4, features=2, log2_table=10, max_res=64)
    with torch.no_grad():
        grid.table.uniform_(-1, 1)
    x = torch.rand(500, 2) * 2 - 1
    grads = []
    for dtype in (None, torch.bfloat16):
        grid.zero_grad()
        with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            out = grid(x)
        assert out.dtype == torch.float32
        (out.pow(2).sum()).backward()
        grads.append(grid.table.grad.clone())
    assert torch.equal(*grads)


def test_compositing_runs_in_float32_for_bf16_fields():
    """Transmittance is a cumulative sum along each ray: a field's bfloat16 outputs are composited in float32."""
    generator = torch.Generator().manual_seed(0)
    ray_index = torch.arange(8).repeat_interleave(32)
    starts = torch.rand(256, generator=generator).sort().values
    samples = Samples(ray_index, starts, starts + 0.01, n_rays=8)
    sigma = (torch.rand(256, generator=generator) * 50).bfloat16()
    rgb = torch.rand(256, 3, generator=generator).bfloat16()
    background = torch.ones(3)
    out = composite(sigma, rgb, samples, background)
    exact = composite(sigma.float(), rgb.float(), samples, background)
    assert all(out[k].dtype == torch.float32 and torch.equal(out[k], exact[k]) for k in ("rgb", "depth", "opacity"))
