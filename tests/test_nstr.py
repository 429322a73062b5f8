"""NSTR: exact spectral Jacobian, shapes, loss terms, local frequency, quality on a real image."""

from __future__ import annotations

import math

import pytest
import torch

import nstr
from nstr.grids import MultilinearGrid, geometric_resolutions
from nstr.models import NSTR, NSTRPaper, build_model
from nstr.nets import TangentMLP
from nstr.signals import Image


def _small(cls, in_dim, **options):
    torch.manual_seed(0)
    defaults = dict(k=5, grid_channels=3, levels=3, max_res=40, log2_table=8, spectral_width=16, decoder_width=16,
                    flow_width=16)
    if cls is NSTRPaper:
        defaults.update(levels=1, grid_res="9")
    model = cls(in_dim, 2, **{**defaults, **options}).double()
    with torch.no_grad():
        model.grid.features.normal_()  # non-trivial features so the Jacobian is not ~0
    return model


def _autograd_jacobian(model, x):
    s = model.spectrum(x)
    rows = [torch.autograd.grad(s[:, i].sum(), x, retain_graph=True)[0] for i in range(s.shape[1])]
    return torch.stack(rows, dim=1)


@pytest.mark.parametrize("cls", [NSTR, NSTRPaper])
@pytest.mark.parametrize("in_dim", [1, 2, 3])
def test_spectrum_jacobian_equals_autograd(cls, in_dim):
    model = _small(cls, in_dim)
    x = (torch.rand(33, in_dim, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    s, jac = model.spectrum_jacobian(x)
    assert s.shape == (33, 5) and jac.shape == (33, 5, in_dim)
    assert torch.allclose(s, model.spectrum(x))
    reference = _autograd_jacobian(model, x)
    assert (jac - reference).abs().max() <= 1e-6 * reference.abs().max()
    assert model.flow(x, s).shape == (33, 5, in_dim)
    assert model.local_frequency(x).shape == (33, in_dim)


def test_hashed_levels_follow_instant_ngp_hash():
    grid = MultilinearGrid(2, [(100, 100)], channels=1, log2_table=6)
    assert grid.hashed == [True]
    vertices = torch.tensor([[[[3, 7]]]])  # [N, L, corners, d]
    expected = (3 * 1 ^ 7 * 2654435761) % 64
    assert grid._index(vertices).item() == expected


def test_grid_interpolation_hand_computed():
    grid = MultilinearGrid(2, [(3, 3)], channels=1)
    with torch.no_grad():
        grid.features.copy_(torch.arange(9.0).view(9, 1))  # value = i + 3 j at vertex (i, j)
    x = torch.tensor([[0.5, -0.5]])  # vertex units (1.5, 0.5): bilinear of a linear function is exact
    z, jac = grid.forward_with_jacobian(x)
    assert torch.allclose(z, torch.tensor([[1.5 + 3 * 0.5]]))
    assert torch.allclose(jac, torch.tensor([[[1.0, 3.0]]]))  # d/dx = 1 * (R-1)/2, d/dy = 3 * (R-1)/2


def test_geometric_resolutions():
    assert geometric_resolutions(1, 16, 512) == [16]
    res = geometric_resolutions(6, 16, 512)
    assert res[0] == 16 and res[-1] == 512 and res == sorted(res)


def test_tangent_mlp_matches_autograd():
    torch.manual_seed(0)
    net = TangentMLP(4, 8, 2, 3, activation="tanh").double()
    x = torch.rand(5, 2, dtype=torch.float64, requires_grad=True)
    lift = torch.randn(2, 4, dtype=torch.float64)
    h = torch.sin(x @ lift)
    tangents = torch.cos(x @ lift).unsqueeze(2) * lift.t().unsqueeze(0)  # dh/dx [5, 4, 2]
    y, dy = net.forward_with_tangents(h, tangents)
    reference = torch.stack([torch.autograd.grad(y[:, i].sum(), x, retain_graph=True)[0] for i in range(3)], 1)
    assert torch.allclose(dy, reference, atol=1e-12)


def test_loss_terms_named_and_weighted():
    model = _small(NSTR, 2, lambda_pde=0.5, lambda_smooth=0.25)
    x = torch.rand(16, 2, dtype=torch.float64) * 2 - 1
    y = torch.rand(16, 2, dtype=torch.float64)
    terms = model.loss_terms(x, y)
    assert set(terms) == {"task", "pde", "smooth"}
    s, jac = model.spectrum_jacobian(x)
    expected_pde = 0.5 * (jac - model.flow(x, s)).pow(2).sum(dim=(1, 2)).mean()
    assert torch.allclose(terms["pde"], expected_pde)
    assert torch.allclose(terms["smooth"], 0.25 * jac.pow(2).sum(dim=(1, 2)).mean())
    assert torch.allclose(terms["task"], torch.mean((model(x) - y) ** 2))
    off = _small(NSTR, 2, lambda_pde=0.0)
    assert set(off.loss_terms(x, y)) == {"task"}


@pytest.mark.parametrize("compose", ["vector", "sum", "plain"])
def test_compositions(compose):
    model = _small(NSTR, 2, compose=compose)
    x = torch.rand(6, 2, dtype=torch.float64) * 2 - 1
    assert model(x).shape == (6, 2)


def test_local_frequency_formula():
    model = _small(NSTR, 1, k=2, basis_learnable=False)
    with torch.no_grad():
        model.omega.copy_(torch.tensor([[2 * math.pi * 3.0], [-2 * math.pi * 5.0]]))
    x = torch.rand(4, 1, dtype=torch.float64) * 2 - 1
    s = model.spectrum(x)
    p = s.pow(2) / s.pow(2).sum(1, keepdim=True)
    assert torch.allclose(model.local_frequency(x)[:, 0], 3.0 * p[:, 0] + 5.0 * p[:, 1])


def test_bad_options_are_rejected():
    with pytest.raises(nstr.NstrError, match="compose"):
        build_model("nstr", 2, 1, compose="product")
    with pytest.raises(nstr.NstrError, match="grid_res"):
        build_model("nstr", 2, 1, grid_res="8x8x8")


def test_pde_residual_falls_during_training(camera64):
    image = Image(camera64)
    torch.manual_seed(0)
    model = build_model("nstr", 2, 1, levels=4, max_res=64, lambda_pde=1.0)
    result = nstr.fit(image, model, steps=150, eval_every=25, batch_size=2048, quiet=True)
    pde = [r["pde"] for r in result.history if "pde" in r]
    assert pde[-1] < 0.5 * pde[0]
    assert result.metrics["psnr"] > 24.0


def test_nstr_reaches_quality_floor_on_real_image(camera64):
    image = Image(camera64)
    torch.manual_seed(0)
    model = build_model("nstr", 2, 1, levels=6, max_res=64)
    result = nstr.fit(image, model, steps=300, quiet=True)
    assert result.metrics["psnr"] > 30.0
