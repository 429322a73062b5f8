"""The CPU dropout's masks: their drop rate, scale, independence, reproducibility and gradient."""

from __future__ import annotations

import pytest
import torch

from nstr.nn.dropout import dropout, dropout_mask


@pytest.mark.parametrize("p", [0.1, 0.5, 0.73])
def test_mask_drops_at_rate_p_and_keeps_the_expectation(p):
    torch.manual_seed(0)
    mask = dropout_mask(torch.Size((1000, 1001)), p, torch.float32, torch.device("cpu"))
    rate = round(p * 65536) / 65536
    dropped = (mask == 0).double().mean().item()
    assert abs(dropped - rate) < 5 * (rate * (1 - rate) / mask.numel()) ** 0.5  # binomial, 5 sigma
    values = mask.unique().tolist()
    assert values[0] == 0.0 and len(values) == 2 and values[1] == pytest.approx(1 / (1 - rate), rel=1e-6)
    assert mask.double().mean().item() == pytest.approx(1.0, abs=5 * (rate / (1 - rate) / mask.numel()) ** 0.5)
    # The four 16-bit lanes of one 64-bit draw are independent: neighbours drop together at rate^2.
    pairs = (mask.flatten()[:-1] == 0) & (mask.flatten()[1:] == 0)
    assert abs(pairs.double().mean().item() - rate**2) < 5 * (rate**2 / mask.numel()) ** 0.5


def test_dropout_is_seeded_differentiable_and_off_outside_training():
    x = torch.randn(64, 33, requires_grad=True)
    torch.manual_seed(5)
    first = dropout(x, 0.25)
    torch.manual_seed(5)
    assert torch.equal(dropout(x, 0.25), first)
    assert not torch.equal(dropout(x, 0.25), first)  # the generator moved on
    torch.manual_seed(5)
    mask = dropout_mask(x.shape, 0.25, x.dtype, x.device)
    assert torch.equal(first, x * mask)
    first.sum().backward()
    assert torch.equal(x.grad, mask)
    assert dropout(x, 0.25, training=False) is x and dropout(x, 0.0) is x
    bf16 = dropout(x.detach().bfloat16(), 0.5)
    assert bf16.dtype == torch.bfloat16 and 0.4 < (bf16 == 0).float().mean().item() < 0.6
