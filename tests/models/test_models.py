"""Model contract over the whole registry, plus SIREN and Fourier-feature specifics."""

from __future__ import annotations

import math

import pytest
import torch

from nstr.core.errors import NstrError
from nstr.models import MODELS, SIREN, build_model
from nstr.nn.hashgrid import FourierFeatures, HashGrid

NAMES = sorted(n for n, cls in MODELS.items() if 6 not in cls.in_dims)  # coordinate fields; rays: test_nerf
#: (model, coordinate dimension) for every dimension each model accepts (the 2-D Gaussians draw images only).
DIMS = [(n, d) for n in NAMES for d in (1, 2, 3) if d in MODELS[n].in_dims]


@pytest.mark.parametrize("name,in_dim", DIMS)
def test_contract_shapes_and_dtype(name, in_dim):
    torch.manual_seed(0)
    model = build_model(name, in_dim, 3)
    x = torch.rand(17, in_dim) * 2 - 1
    y = model(x)
    assert y.shape == (17, 3) and y.dtype == torch.float32
    assert (model.in_dim, model.out_dim) == (in_dim, 3)
    assert torch.isfinite(y).all()
    assert torch.allclose(model.predict(x, chunk=5), y.detach(), atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_twice_differentiable_in_x(name):
    """Second derivatives in x agree with finite differences (gradgradcheck, float64)."""
    torch.manual_seed(0)
    model = build_model(name, 2, 1).double()
    x = (torch.rand(3, 2, dtype=torch.float64) * 1.6 - 0.8).requires_grad_(True)

    def first_derivative(inputs: torch.Tensor) -> torch.Tensor:
        (grad,) = torch.autograd.grad(model(inputs).sum(), inputs, create_graph=True)
        return grad

    assert torch.autograd.gradcheck(first_derivative, (x,), eps=1e-6, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("name", [n for n in NAMES if 3 in MODELS[n].in_dims])
def test_eikonal_style_loss_reaches_every_parameter(name):
    torch.manual_seed(0)
    model = build_model(name, 3, 1)
    x = (torch.rand(64, 3) * 2 - 1).requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x).sum(), x, create_graph=True)
    ((grad.norm(dim=1) - 1) ** 2).mean().backward()
    # Output biases do not move df/dx; every weight tensor must receive a non-zero gradient.
    auxiliary = tuple(f"{m}." for m in model.auxiliary_modules)
    weights = [(n, p) for n, p in model.named_parameters() if p.ndim >= 2 and not n.startswith(auxiliary)]
    missing = [n for n, p in weights if p.grad is None or not p.grad.abs().sum() > 0]
    assert weights and not missing


@pytest.mark.parametrize("name", NAMES)
def test_seeded_init_is_reproducible(name):
    torch.manual_seed(3)
    a = build_model(name, 2, 1)
    torch.manual_seed(3)
    b = build_model(name, 2, 1)
    x = torch.rand(8, 2)
    assert torch.equal(a(x), b(x))


def test_unknown_model_and_bad_options_are_one_line_errors():
    with pytest.raises(NstrError, match="unknown model 'nope'"):
        build_model("nope", 2, 1)
    with pytest.raises(NstrError, match="no option"):
        build_model("siren", 2, 1, sigma=3.0)
    with pytest.raises(NstrError, match="omega0"):
        build_model("siren", 2, 1, omega0=-1.0)
    with pytest.raises(NstrError, match="activation"):
        build_model("ffn", 2, 1, activation="tanh")


def test_siren_initialisation_statistics():
    """Paper init: first layer U(-1/n, 1/n); later layers U(+-sqrt(6/n)/omega); sine outputs arcsine-like."""
    torch.manual_seed(0)
    model = SIREN(2, 1, hidden=512, layers=3)
    first = model.sines[0].weight
    assert first.abs().max() <= 1 / 2 and first.abs().max() > 0.49
    for layer in [*model.sines[1:], model.last]:
        bound = math.sqrt(6 / 512) / 30
        w = layer.weight
        assert w.abs().max() <= bound
        assert abs(w.std().item() - bound / math.sqrt(3)) < 0.02 * bound
    # Activations after the first layer follow the arcsine law: std 1/sqrt(2) (SIREN paper, Lemma 1.6).
    h = torch.rand(20000, 2) * 2 - 1
    with torch.no_grad():
        for layer, omega in zip(model.sines, model.omegas, strict=True):
            h = torch.sin(omega * layer(h))
    assert abs(h.std().item() - 1 / math.sqrt(2)) < 0.03


def test_fourier_features_match_hand_computation():
    enc = FourierFeatures(2, 3, sigma=2.0, generator=torch.Generator().manual_seed(0))
    x = torch.tensor([[0.25, -0.5]])
    angles = 2 * math.pi * (x @ enc.B)
    assert torch.allclose(enc(x), torch.cat([angles.sin(), angles.cos()], 1))
    big = FourierFeatures(2, 20000, sigma=2.0)
    assert abs(big.B.std().item() - 2.0) < 0.05


@pytest.mark.parametrize("name,options,activation", [
    ("ffn", {}, torch.nn.ReLU),
    ("ffn", {"activation": "gelu"}, torch.nn.GELU),
    ("hashgrid", {"levels": 4, "log2_table": 8, "max_res": 64}, torch.nn.ReLU),
])
def test_model_mlps_keep_their_keys_and_seeded_initialisation(name, options, activation):
    """ffn and hashgrid build their MLP with ``nstr.nn.mlp.mlp``; saved runs' keys and a seed's initial weights
    are those of the builder each model had inline before (written out here: Linear, activation, ..., Linear,
    built after the encoding from the same generator state)."""
    torch.manual_seed(7)
    model = build_model(name, 2, 3, hidden=32, layers=2, **options)
    torch.manual_seed(7)
    grid_options = {k: v for k, v in options.items() if k != "activation"}
    encoding = FourierFeatures(2, 256, 5.0) if name == "ffn" else HashGrid(2, **grid_options)
    blocks: list[torch.nn.Module] = []
    for a, b in [(encoding.out_dim, 32), (32, 32)]:
        blocks += [torch.nn.Linear(a, b), activation()]
    reference = torch.nn.Sequential(*blocks, torch.nn.Linear(32, 3))
    assert [type(m) for m in model.mlp] == [type(m) for m in reference]
    ours, theirs = model.mlp.state_dict(), reference.state_dict()
    assert list(ours) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"] == list(theirs)
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key
