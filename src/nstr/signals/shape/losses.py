"""Task losses for signed distance fields, as named terms (the fit sums and logs them).

- ``sdf``: DeepSDF's clamped L1 regression, d = 0.1, on every point with a known signed distance s
  (surface points have s = 0): |f - s| where |s| < d, and max(0, d - sign(s) f) beyond, which equals
  DeepSDF's |clamp(f, -d, d) - clamp(s, -d, d)| wherever f is inside the band. DeepSDF's form has no
  gradient once |f| > d, which its tanh output and initialisation avoid; ours can start there (a hash
  grid's output bias is U(-1/4, 1/4) at width 16) and would never move, so the prediction is only
  clamped where the target is. Needs only first-order autograd.
- ``siren``: SIREN's point-cloud loss with its reference weights: |f| on the surface x 3e3,
  exp(-100 |f|) off the surface x 1e2, 1 - cos(grad f, n) on the surface x 1e2 and the eikonal
  | ||grad f|| - 1 | everywhere x 5e1, each a mean over the whole batch (as the reference code, so
  the weights mean the same). The gradient terms need f to be twice differentiable in x.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nstr.signals.shape.sampling import KIND, NORMAL, SDF, SURFACE, UNIFORM

LOSSES = ("sdf", "siren")
#: DeepSDF's clamp: distances beyond it only need the right sign.
CLAMP = 0.1
#: SIREN's weights: surface value, off-surface exp term, normal alignment, eikonal.
SIREN_WEIGHTS = {"surface": 3e3, "off_surface": 1e2, "normal": 1e2, "eikonal": 5e1}


def value_and_gradient(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """f(x) [N, 1] and df/dx [N, 3], the gradient kept in the graph (create_graph) so losses on it train."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        f = model(x)
        (grad,) = torch.autograd.grad(f.sum(), x, create_graph=True)
    return f, grad


def sdf_terms(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Clamped L1 regression of the signed distance (DeepSDF's, with a gradient wherever f is wrong)."""
    f, s = model(x)[:, 0], y[:, SDF]
    error = torch.where(s.abs() < CLAMP, (f - s).abs(), torch.relu(CLAMP - f * torch.sign(s)))
    return {"sdf": error.mean()}


def siren_terms(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """SIREN's point-cloud loss: surface, off-surface, normal and eikonal terms with its weights."""
    f, grad = value_and_gradient(model, x)
    f = f[:, 0]
    kind = y[:, KIND]
    surface = (kind == SURFACE).to(f.dtype)
    off = (kind == UNIFORM).to(f.dtype)
    cosine = F.cosine_similarity(grad, y[:, NORMAL], dim=1)
    w = SIREN_WEIGHTS
    return {
        "surface": w["surface"] * (surface * f.abs()).mean(),
        "off_surface": w["off_surface"] * (off * torch.exp(-100.0 * f.abs())).mean(),
        "normal": w["normal"] * (surface * (1 - cosine)).mean(),
        "eikonal": w["eikonal"] * (grad.norm(dim=1) - 1).abs().mean(),
    }


def loss_terms(loss: str, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """The chosen task loss plus the model's own regularisers (NSTR's transport and smoothness terms)."""
    terms = sdf_terms(model, x, y) if loss == "sdf" else siren_terms(model, x, y)
    return {**terms, **model.regularisers(x)}
