"""Model options for a parameter budget: search an integer option until ``build_model`` hits the target.

Parameter counts are always computed by building the model, never guessed. Each model scales along one
integer option (``Knob``), optionally refined by a second one when the first is too coarse (a hash grid's
table doubles per step of ``log2_table``; its number of levels fills the gap). Adding a model is one line
in ``SIZERS``; a model without an entry scales its ``hidden`` width when it has one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from nstr.core.errors import NstrError
from nstr.models import build_model, model_class


@dataclass(frozen=True)
class Knob:
    """An integer model option searched in [lo, hi]; parameters must not decrease as it grows."""

    name: str
    lo: int
    hi: int


@dataclass(frozen=True)
class Sizer:
    """How a model grows: a main knob, an optional finer knob, and options held fixed."""

    knob: Knob
    fine: Knob | None = None
    fixed: dict[str, Any] = field(default_factory=dict)


#: One line per model. Widths keep each model's own depth (its reference architecture).
SIZERS: dict[str, Sizer] = {
    "siren": Sizer(Knob("hidden", 4, 2048)),
    "ffn": Sizer(Knob("hidden", 4, 2048)),
    "hashgrid": Sizer(Knob("log2_table", 4, 24), fine=Knob("levels", 2, 32)),
    "nstr": Sizer(Knob("log2_table", 4, 24), fine=Knob("levels", 2, 32)),
    "nstr-paper": Sizer(Knob("grid_channels", 1, 1024)),
    # DINR grows with its state width; the Fourier encoding follows it (mapping 0 = hidden) because a fixed
    # encoding loses its projection where the widths meet, and the count would dip there.
    "dinr": Sizer(Knob("hidden", 4, 2048), fixed={"mapping": 0}),
    "dinr-ffn": Sizer(Knob("hidden", 4, 2048), fixed={"mapping": 0}),
    "dinr-siren": Sizer(Knob("hidden", 4, 2048)),
    # 2-D Gaussians: 5 + C parameters each, so the count alone meets any budget.
    "gaussians": Sizer(Knob("count", 1, 2_000_000)),
    "dinr-official": Sizer(Knob("hidden", 4, 2048)),
}
FALLBACK = Sizer(Knob("hidden", 4, 2048))
#: A budget is matched when the parameter count is within this fraction of the target.
TOLERANCE = 0.05


def count_params(model: str, in_dim: int, out_dim: int, options: dict[str, Any]) -> int:
    """Parameters of ``model`` built with ``options`` (built on the CPU and thrown away)."""
    return build_model(model, in_dim, out_dim, **options).num_params()


def _search(model: str, in_dim: int, out_dim: int, base: dict[str, Any], knob: Knob, target: int
            ) -> list[tuple[int, dict[str, Any]]]:
    """The knob values bracketing ``target`` (at most two), as (params, options) pairs."""

    def params_at(value: int) -> int:
        return count_params(model, in_dim, out_dim, {**base, knob.name: value})

    lo, hi = knob.lo, knob.hi
    if params_at(hi) < target:
        return [(params_at(hi), {**base, knob.name: hi})]
    while lo < hi:  # smallest value whose parameter count reaches the target
        mid = (lo + hi) // 2
        if params_at(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    values = [lo] + ([lo - 1] if lo > knob.lo else [])
    return [(params_at(v), {**base, knob.name: v}) for v in values]


def _error(params: int, target: int) -> float:
    return abs(math.log(params / target))


def size_model(model: str, in_dim: int, out_dim: int, target: int,
               options: dict[str, Any] | None = None) -> tuple[dict[str, Any], int]:
    """Options (``options`` plus the sized knobs) giving ``model`` about ``target`` parameters, and the count.

    The main knob is searched first; when no value lands within ``TOLERANCE``, the fine knob is searched
    at each of the two bracketing main values and the closest count wins.
    """
    key = json.dumps(options or {}, sort_keys=True)
    return _size_model(model, in_dim, out_dim, int(target), key)


@lru_cache(maxsize=256)
def _size_model(model: str, in_dim: int, out_dim: int, target: int, options_json: str
                ) -> tuple[dict[str, Any], int]:
    if target < 1:
        raise NstrError(f"a parameter budget must be positive, got {target}")
    names = model_class(model).option_names()
    sizer = SIZERS.get(model, FALLBACK)
    if sizer.knob.name not in names:
        raise NstrError(f"model '{model}' has no '{sizer.knob.name}' option to size it; add it to "
                        "nstr.bench.sizing.SIZERS")
    base = {**sizer.fixed, **json.loads(options_json)}
    candidates = _search(model, in_dim, out_dim, base, sizer.knob, target)
    best = min(candidates, key=lambda c: _error(c[0], target))
    if sizer.fine is not None and _error(best[0], target) > math.log1p(TOLERANCE):
        refined = [c for _, options in candidates for c in _search(model, in_dim, out_dim, options, sizer.fine, target)]
        best = min(candidates + refined, key=lambda c: _error(c[0], target))
    params, options = best
    return dict(options), params


def budget_label(target: int) -> str:
    """25000 -> '25k', 1200000 -> '1.2M'."""
    if target >= 1_000_000:
        return f"{target / 1e6:g}M"
    if target >= 1000:
        return f"{target / 1e3:g}k"
    return str(target)
