"""LPIPS: the network computes the published formula (checked with random weights against a functional
re-derivation with AlexNet's published layer shapes), reads weight files in torchvision's and lpips' key layouts,
is found where the README says, and reaches metrics.json: a number with weights, null and a note without."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import nstr
import nstr.nn.lpips as lpips_module
from nstr.core.errors import NstrError
from nstr.nn.lpips import ALEXNET_FILE, LINEAR_FILE, LPIPS, WEIGHTS_ENV, find_weights, lpips_metric, lpips_with
from nstr.signals import Image


def _reference(net: LPIPS, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Zhang et al.'s eq. 1 in float64 with AlexNet's layers written out (Krizhevsky's conv1 11x11 stride 4,
    conv2 5x5, conv3-5 3x3, 3x3 stride-2 max pools) and lpips v0.1's input scaling, from the net's weights."""
    convs = [m for m in net.features if isinstance(m, torch.nn.Conv2d)]
    w = [(c.weight.double(), c.bias.double()) for c in convs]
    shift = torch.tensor([-0.030, -0.088, -0.188], dtype=torch.float64).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450], dtype=torch.float64).view(1, 3, 1, 1)

    def taps(image: torch.Tensor) -> list[torch.Tensor]:
        h = (image.double() * 2 - 1 - shift) / scale
        h1 = F.relu(F.conv2d(h, *w[0], stride=4, padding=2))
        h2 = F.relu(F.conv2d(F.max_pool2d(h1, 3, 2), *w[1], padding=2))
        h3 = F.relu(F.conv2d(F.max_pool2d(h2, 3, 2), *w[2], padding=1))
        h4 = F.relu(F.conv2d(h3, *w[3], padding=1))
        h5 = F.relu(F.conv2d(h4, *w[4], padding=1))
        return [h1, h2, h3, h4, h5]

    total = torch.zeros(x.shape[0], dtype=torch.float64)
    for a, b, lin in zip(taps(x), taps(y), net.lins, strict=True):
        na = a / (a.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        nb = b / (b.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        weights = lin.weight.double().view(1, -1, 1, 1)
        total += (weights * (na - nb) ** 2).sum(1).mean(dim=(1, 2))
    return total


@pytest.fixture
def random_net() -> LPIPS:
    torch.manual_seed(0)
    net = LPIPS()
    for lin in net.lins:  # positive like the trained heads (random init draws signs)
        lin.weight.abs_()
    return net


def test_network_computes_the_formula(random_net):
    generator = torch.Generator().manual_seed(1)
    x, y = torch.rand(2, 3, 64, 48, generator=generator), torch.rand(2, 3, 64, 48, generator=generator)
    ours = random_net(x, y)
    assert torch.allclose(ours.double(), _reference(random_net, x, y), rtol=1e-4)
    assert torch.allclose(random_net(y, x), ours) and (ours > 0).all()
    assert torch.equal(random_net(x, x), torch.zeros(2))
    taps = random_net.taps(x)
    assert [t.shape[1] for t in taps] == [64, 192, 384, 256, 256] and taps[0].shape[2:] == (15, 11)


def _write_weights(folder, net: LPIPS) -> None:
    """``net``'s weights as torchvision's AlexNet file (with its classifier) and lpips' v0.1 heads (with dropout)."""
    folder.mkdir(parents=True, exist_ok=True)
    trunk = {f"features.{k}": v for k, v in net.features.state_dict().items()}
    trunk["classifier.1.weight"] = torch.zeros(8, 4)  # torchvision's file has the classifier too (ignored)
    torch.save(trunk, folder / ALEXNET_FILE)
    torch.save({f"lin{k}.model.1.weight": lin.weight.clone() for k, lin in enumerate(net.lins)}, folder / LINEAR_FILE)


def test_weights_load_from_torchvision_and_lpips_files(tmp_path, random_net):
    _write_weights(tmp_path, random_net)
    loaded = LPIPS().load(tmp_path / ALEXNET_FILE, tmp_path / LINEAR_FILE)
    x, y = torch.rand(1, 3, 40, 40), torch.rand(1, 3, 40, 40)
    assert torch.equal(loaded(x, y), random_net(x, y))
    torch.save({"lin0.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(NstrError, match="not LPIPS v0.1's alex.pth"):
        LPIPS().load(tmp_path / ALEXNET_FILE, tmp_path / "bad.pth")
    (tmp_path / "broken.pth").write_bytes(b"not torch")
    with pytest.raises(NstrError, match="could not be read as PyTorch weights"):
        LPIPS().load(tmp_path / "broken.pth", tmp_path / LINEAR_FILE)


def test_weights_are_found_where_the_readme_says(tmp_path, monkeypatch, random_net):
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "explicit"))
    assert find_weights() is None  # an explicit folder is the only place looked at
    _write_weights(tmp_path / "explicit", random_net)
    assert find_weights() == (tmp_path / "explicit" / ALEXNET_FILE, tmp_path / "explicit" / LINEAR_FILE)
    monkeypatch.delenv(WEIGHTS_ENV)
    monkeypatch.setattr(lpips_module, "_lpips_package_weights", lambda: [])  # whether lpips is installed here
    monkeypatch.setenv("NSTR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    _write_weights(tmp_path / "torch" / "hub" / "checkpoints", random_net)  # torchvision's download place
    (tmp_path / "torch" / "hub" / "checkpoints" / LINEAR_FILE).unlink()
    assert find_weights() is None  # the heads are never looked for in torch's cache
    _write_weights(tmp_path / "cache" / "lpips", random_net)
    (tmp_path / "cache" / "lpips" / ALEXNET_FILE).unlink()
    assert find_weights() == (tmp_path / "torch" / "hub" / "checkpoints" / ALEXNET_FILE,
                              tmp_path / "cache" / "lpips" / LINEAR_FILE)


def test_metric_on_images_grey_alpha_and_small(random_net):
    rng = np.random.default_rng(0)
    a, b = rng.random((48, 40, 3)), rng.random((48, 40, 3))
    score = lpips_with(random_net, a, b)["lpips"]
    expected = random_net(*(torch.tensor(i, dtype=torch.float32).permute(2, 0, 1)[None] for i in (a, b)))
    assert score == pytest.approx(float(expected[0]), rel=1e-5)
    rgba = np.concatenate([a, rng.random((48, 40, 1))], axis=-1)
    assert lpips_with(random_net, rgba, np.concatenate([b, a[..., :1]], axis=-1))["lpips"] == score  # alpha left out
    grey = lpips_with(random_net, a[..., :1], b[..., :1])["lpips"]
    assert grey == pytest.approx(lpips_with(random_net, a[..., [0, 0, 0]], b[..., [0, 0, 0]])["lpips"])
    small = lpips_with(random_net, a[:30], b[:30])
    assert small["lpips"] is None and "at least 31 x 31" in small["lpips_note"]


def test_image_fit_records_lpips_or_null_with_a_note(tmp_path, monkeypatch, random_net):
    image = Image("astronaut", resize=(40, 40))
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "none"))
    missing = lpips_metric(np.zeros((40, 40, 3)), np.ones((40, 40, 3)))
    assert missing["lpips"] is None and ALEXNET_FILE in missing["lpips_note"] and "\n" not in missing["lpips_note"]
    model = nstr.models.SIREN(2, 3, hidden=16, layers=1)
    nstr.fit(image, model, steps=2, out=tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["lpips"] is None and metrics["lpips_note"] == missing["lpips_note"]

    _write_weights(tmp_path / "weights", random_net)
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "weights"))
    perfect = image.metrics(image.values)
    assert perfect["lpips"] == 0.0 and "lpips_note" not in perfect
    noise = torch.randn(image.values.shape, generator=torch.Generator().manual_seed(2))
    pred = (image.values + 0.2 * noise).clamp(-1, 1)
    noisy = image.metrics(pred)["lpips"]
    expected = lpips_with(random_net, image.to_unit_image(pred), image.to_unit_image(image.clean))["lpips"]
    assert noisy > 0 and noisy == pytest.approx(expected, rel=1e-6)  # the files found hold random_net's weights
