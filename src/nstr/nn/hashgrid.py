"""Input encodings: maps from coordinates in [-1, 1]^d to features for an MLP."""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

from nstr.core.precision import full_precision


class FourierFeatures(nn.Module):
    """Random Fourier features [sin(2 pi B x), cos(2 pi B x)] with B ~ N(0, sigma^2), fixed (Tancik et al.).

    ``sigma`` is in cycles per unit of x on [-1, 1]; Tancik's sigma on [0, 1) coordinates is twice ours.
    """

    def __init__(self, in_dim: int, features: int, sigma: float, generator: torch.Generator | None = None):
        super().__init__()
        self.in_dim, self.features, self.sigma = in_dim, features, sigma
        matrix = torch.randn(in_dim, features, generator=generator) * sigma
        self.register_buffer("B", matrix)

    @property
    def out_dim(self) -> int:
        return 2 * self.features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with full_precision(x):  # phases of tens of radians: float32 under autocast (nstr.core.precision)
            angles = (2 * math.pi) * (x @ self.B)
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


# --------------------------------------------------------------------------------------------------
# Multiresolution hash grid (Instant-NGP, Mueller et al. 2022) in plain PyTorch.
# --------------------------------------------------------------------------------------------------

#: Per-dimension primes of the spatial hash (the paper's; the first is 1 for cache coherence).
HASH_PRIMES = (1, 2654435761, 805459861)
BACKENDS = ("auto", "torch", "tcnn")


def _as_rows(table: torch.Tensor) -> torch.Tensor:
    """``table`` [R, F] seen as R single elements when possible: itself squeezed (F = 1) or complex (F = 2).

    With one element per row ``index_select`` and ``index_add_`` run their tight 1-D loops instead of one
    small copy per row (2-3x faster on a CPU); complex addition is exactly pairwise addition.
    """
    if table.shape[1] == 1:
        return table.view(-1)
    if table.shape[1] == 2 and table.dtype in (torch.float32, torch.float64) and table.is_contiguous():
        return torch.view_as_complex(table)
    return table


def _gather(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``table[index]`` for a 1-D ``index``: [M, F]."""
    picked = _as_rows(table).index_select(0, index)
    return torch.view_as_real(picked) if picked.is_complex() else picked.view(-1, table.shape[1])


def _scatter_into(out: torch.Tensor, values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Add ``values[i]`` ([M, F]) to row ``index[i]`` of ``out`` ([R, F], contiguous); repeats add up."""
    values = values.contiguous()
    target = _as_rows(out)
    if target.dim() == 1:
        target.index_add_(0, index, _as_rows(values))
    elif values.shape[1] >= WIDE:  # wide rows: index_add_'s per-row vector add is the fast loop
        out.index_add_(0, index, values)
    else:  # narrow rows: add the flattened elements, still one 1-D loop
        width = values.shape[1]
        flat = (index.long()[:, None] * width + torch.arange(width, device=index.device)).view(-1)
        out.view(-1).index_add_(0, flat, values.view(-1))
    return out


class _Gather(torch.autograd.Function):
    """(table [R, F], index [M]) -> table[index] [M, F]; the backward scatters with ``index_add_``.

    Its backward is ``_Scatter``, whose backward is ``_Gather`` again, so derivatives of any order work.
    """

    @staticmethod
    def forward(ctx, table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.rows = table.shape[0]
        return _gather(table, index)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (index,) = ctx.saved_tensors
        grad_table = _Scatter.apply(grad, index, ctx.rows) if ctx.needs_input_grad[0] else None
        return grad_table, None


class _Scatter(torch.autograd.Function):
    """(values [M, F], index [M], rows) -> zeros [rows, F] with values added at index; backward gathers."""

    @staticmethod
    def forward(ctx, values: torch.Tensor, index: torch.Tensor, rows: int) -> torch.Tensor:
        ctx.save_for_backward(index)
        return _scatter_into(values.new_zeros(rows, values.shape[1]), values, index)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (index,) = ctx.saved_tensors
        grad_values = _Gather.apply(grad, index) if ctx.needs_input_grad[0] else None
        return grad_values, None, None


def gather_rows(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Differentiable ``table[index]`` ([R, F], [M] -> [M, F]) whose backward is ``index_add_``."""
    return _Gather.apply(table, index)


#: From this many features per vertex the interpolation works on whole [N, F] rows per corner (one op each);
#: below it, per-feature loops over contiguous point axes are faster (a CPU with 2-feature levels).
WIDE = 8

# Interpolation is the trilinear form T(v, w, g) = sum v[l,c,n,f] w[l,c,n] g[l,n,f] between corner values
# v [L, C, N, F], corner weights w [L, C, N] and an output-shaped g [L, N, F] (the level axis may be
# absent). Its three partial derivatives are each other's backward passes, so three small Functions give
# derivatives of any order. Each loops over corners and the (few) features, so every op runs over
# contiguous point axes instead of broadcasting the weights over the innermost feature axis (2-3x slower
# on a CPU).


def _mix(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """dT/dg: sum_c v[l,c,n,f] w[l,c,n] -> [L, N, F]."""
    out = values.new_zeros(*values.shape[:-3], *values.shape[-2:])
    if values.shape[-1] >= WIDE:  # many features: one op per corner over whole rows
        for c in range(values.shape[-3]):
            out.addcmul_(values[..., c, :, :], weights[..., c, :].unsqueeze(-1))
        return out
    for c in range(values.shape[-3]):
        for f in range(values.shape[-1]):
            out[..., f].addcmul_(values[..., c, :, f], weights[..., c, :])
    return out


def _spread(weights: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """dT/dv: w[l,c,n] g[l,n,f] -> [L, C, N, F]."""
    if grad.shape[-1] >= WIDE:
        return weights.unsqueeze(-1) * grad.unsqueeze(-3)
    out = weights.new_empty(*weights.shape, grad.shape[-1])
    for f in range(grad.shape[-1]):
        torch.mul(weights, grad[..., f].unsqueeze(-2), out=out[..., f])
    return out


def _dot(values: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """dT/dw: sum_f v[l,c,n,f] g[l,n,f] -> [L, C, N]."""
    if values.shape[-1] >= WIDE:
        return (values * grad.unsqueeze(-3)).sum(dim=-1)
    out = values[..., 0] * grad[..., 0].unsqueeze(-2)
    for f in range(1, values.shape[-1]):
        out.addcmul_(values[..., f], grad[..., f].unsqueeze(-2))
    return out


class _Mix(torch.autograd.Function):
    @staticmethod
    def forward(ctx, values, weights):
        ctx.save_for_backward(values, weights)
        return _mix(values, weights)

    @staticmethod
    def backward(ctx, grad):
        values, weights = ctx.saved_tensors
        need_v, need_w = ctx.needs_input_grad
        return (_Spread.apply(weights, grad) if need_v else None, _Dot.apply(values, grad) if need_w else None)


class _Spread(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weights, grad):
        ctx.save_for_backward(weights, grad)
        return _spread(weights, grad)

    @staticmethod
    def backward(ctx, upstream):
        weights, grad = ctx.saved_tensors
        need_w, need_g = ctx.needs_input_grad
        return (_Dot.apply(upstream, grad) if need_w else None, _Mix.apply(upstream, weights) if need_g else None)


class _Dot(torch.autograd.Function):
    @staticmethod
    def forward(ctx, values, grad):
        ctx.save_for_backward(values, grad)
        return _dot(values, grad)

    @staticmethod
    def backward(ctx, upstream):
        values, grad = ctx.saved_tensors
        need_v, need_g = ctx.needs_input_grad
        return (_Spread.apply(upstream, grad) if need_v else None, _Mix.apply(values, upstream) if need_g else None)


def interpolate(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted sum over corners: values [L, C, N, F], weights [L, C, N] -> [L, N, F], any-order differentiable."""
    return _Mix.apply(values, weights)


class _Lookup(torch.autograd.Function):
    """(table [R, F], entries [L, C, N], weights [L, C, N]) -> sum_c weights * table[entries]: [L, N, F].

    The same function as ``interpolate(gather_rows(table, entries), weights)``, computed one level at a
    time: each level's corner rows are gathered, mixed and, in the backward, scattered with ``index_add_``
    into the table gradient while that level's table is in cache, and no [L, C, N, F] tensor is built
    (every fresh large tensor costs page faults on a CPU). A backward that must itself be differentiable
    (``create_graph=True``, e.g. for an eikonal loss) goes through the composable Functions above instead.
    """

    @staticmethod
    def forward(ctx, table: torch.Tensor, entries: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(table, entries, weights)
        levels, corners, n = entries.shape
        out = weights.new_empty(levels, n, table.shape[1])
        for level in range(levels):
            values = _gather(table, entries[level].view(-1)).view(corners, n, -1)
            out[level] = _mix(values, weights[level])
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        table, entries, weights = ctx.saved_tensors
        need_table, _, need_weights = ctx.needs_input_grad
        if torch.is_grad_enabled():  # building a graph of the gradients: use differentiable pieces
            index = entries.view(-1)
            values = _Gather.apply(table, index).view(*entries.shape, table.shape[1])
            grad_table = _Scatter.apply(_Spread.apply(weights, grad).flatten(0, 2), index, table.shape[0])
            return grad_table if need_table else None, None, _Dot.apply(values, grad) if need_weights else None
        grad = grad.contiguous()
        grad_table = torch.zeros_like(table) if need_table else None
        grad_weights = torch.empty_like(weights) if need_weights else None
        for level, level_entries in enumerate(entries):
            index = level_entries.view(-1)
            if need_table:
                _scatter_into(grad_table, _spread(weights[level], grad[level]).view(-1, table.shape[1]), index)
            if need_weights:
                values = _gather(table, index).view(*level_entries.shape, -1)
                grad_weights[level] = _dot(values, grad[level])
        return grad_table, None, grad_weights


def growth_factor(levels: int, base_res: int, max_res: int) -> float:
    """The paper's per-level scale b = exp((ln max_res - ln base_res) / (levels - 1)); 1 for one level.

    The one place the growth is computed: ``level_resolutions`` and tiny-cuda-nn's ``per_level_scale`` use it.
    """
    if levels == 1:
        return 1.0
    return math.exp((math.log(max_res) - math.log(base_res)) / (levels - 1))


def level_resolutions(levels: int, base_res: int, max_res: int) -> list[int]:
    """The paper's N_l = floor(base_res * b^l), b = ``growth_factor(levels, base_res, max_res)``.

    A product within 1e-9 (relative) below an integer counts as that integer, so the finest level is
    exactly ``max_res`` despite rounding in b^l. One level uses ``base_res``.
    """
    if levels == 1:
        return [base_res]
    growth = growth_factor(levels, base_res, max_res)
    return [int(math.floor(base_res * growth**level * (1 + 1e-9))) for level in range(levels)]


class HashGrid(nn.Module):
    """Multiresolution hash encoding [N, d] -> [N, levels * features] for d = 1, 2, 3 (Instant-NGP).

    Conventions: x in [-1, 1]^d maps to u = (x + 1) / 2 in [0, 1]^d, clamped (so the encoding is constant,
    with zero gradient, outside the domain). Level l has ``N_l`` cells per axis and N_l + 1 vertices per axis,
    vertex j sitting at u = j / N_l: the domain's corners are vertices of every level. A point lies in cell
    floor(u N_l) (the last cell for u = 1) and its features are the (bi/tri)linear interpolation of that
    cell's 2^d corner vectors. A level whose (N_l + 1)^d vertices fit in T = ``2 ** log2_table`` entries is
    stored densely (entry sum_i c_i (N_l + 1)^i of a table of exactly (N_l + 1)^d entries); a finer level
    hashes vertex c to (XOR_i c_i * pi_i) mod T with the primes ``HASH_PRIMES``. Output features are
    level-major: [level 0 features, level 1 features, ...].

    All levels share one flat parameter ``table`` [entries, features]; hashed levels come first, so each
    starts at a multiple of T, then the dense levels. ``offsets[l]`` is level l's first entry. Init
    U(-1e-4, 1e-4). Gathers use ``index_select`` and their backward ``index_add_``; interpolation weights
    are plain torch ops in x, so the encoding is differentiable any number of times in x and the table
    (a loss on df/dx reaches the table).

    ``backend``: "torch" (this implementation, the reference), "tcnn" (tiny-cuda-nn's fused CUDA kernels,
    needs ``tinycudann`` and a CUDA device), or "auto": tcnn when tiny-cuda-nn is installed and the table is on
    a CUDA device, else torch. ``auto`` is resolved where the grid runs, not where it was built: a model built
    on the CPU and moved to a GPU by the fit uses tcnn there (``backend`` says which is in use now;
    ``backend_option`` is what was asked for).

    One weight layout for both backends: the only parameter is ``table`` [entries, features] as above (the
    same state_dict keys and shapes), so weights saved with either backend load into the other. tiny-cuda-nn
    keeps no parameter of its own: each forward hands it rows of ``table`` (its flat parameter row r is
    ``table[r mod entries]``; gradients flow back into ``table``). Guaranteed: the same keys, shapes, init
    U(-1e-4, 1e-4) and strict loading across backends. Not guaranteed: the same features from the same
    table. tcnn puts vertex j of a level at u = (j - 1/2) / s with s = base_res b^l - 1 (ours: u = j / N_l),
    rounds level sizes up to multiples of 8 and orders its levels coarse to fine, so a table trained with
    one backend is a different (retrainable, not equivalent) encoding under the other.
    """

    def __init__(
        self,
        in_dim: int,
        levels: int = 16,
        features: int = 2,
        log2_table: int = 19,
        base_res: int = 16,
        max_res: int = 2048,
        backend: str = "torch",
    ):
        super().__init__()
        _check_hashgrid_options(in_dim, levels, features, log2_table, base_res, max_res, backend)
        self.in_dim, self.levels, self.features = in_dim, levels, features
        self.log2_table, self.base_res, self.max_res = log2_table, base_res, max_res
        self.backend_option = _check_backend(backend)
        self._tcnn: nn.Module | None = None  # tiny-cuda-nn's encoding, built on first use (``_tcnn_module``)
        self.resolutions = level_resolutions(levels, base_res, max_res)
        size = 1 << log2_table
        self.dense_levels = k = sum((n + 1) ** in_dim <= size for n in self.resolutions)
        hashed_entries = (levels - k) * size
        dense_sizes = [(n + 1) ** in_dim for n in self.resolutions[:k]]
        self.offsets = [hashed_entries + sum(dense_sizes[:level]) for level in range(k)]
        self.offsets += [level * size for level in range(levels - k)]
        total = hashed_entries + sum(dense_sizes)
        self.table = nn.Parameter(torch.empty(total, features).uniform_(-1e-4, 1e-4))
        # Entries as int32 when they fit: half the index memory traffic of int64.
        self.index_dtype = torch.int32 if total < 1 << 31 else torch.int64
        res = torch.tensor(self.resolutions, dtype=torch.int64)
        self.register_buffer("_res", res[:, None, None], persistent=False)  # [L, 1, 1]
        offsets = torch.tensor(self.offsets, dtype=self.index_dtype)
        # Dense levels: entry = sum_i c_i (N_l + 1)^i, so a corner's entry is the cell's plus a constant.
        strides = torch.stack([(res[:k] + 1) ** i for i in range(in_dim)], dim=1)  # [k, d]
        bits = torch.tensor([[(c >> i) & 1 for c in range(1 << in_dim)] for i in range(in_dim)])  # [d, 2^d]
        self.register_buffer("_strides", strides[:, :, None].to(self.index_dtype), persistent=False)
        self.register_buffer("_dense_offsets", offsets[:k, None], persistent=False)
        self.register_buffer("_corner_entries", (strides @ bits)[:, :, None].to(self.index_dtype), persistent=False)
        # Hashed levels: per-axis terms (c_i pi_i mod T) and ((c_i + 1) pi_i mod T), the second being the first
        # plus (pi_i mod T), mod T. The level offset is a multiple of T, so it is XOR-ed into axis 0's terms
        # rather than added to every corner.
        primes = torch.tensor(HASH_PRIMES[:in_dim], dtype=torch.int64)
        self.register_buffer("_primes", primes[:, None], persistent=False)  # [d, 1]
        steps = torch.stack([torch.zeros_like(primes), primes & (size - 1)], dim=1)[:, :, None]
        self.register_buffer("_prime_steps", steps.to(self.index_dtype), persistent=False)  # [d, 2, 1]
        self.register_buffer("_hash_offsets", offsets[k:, None, None], persistent=False)

    @property
    def backend(self) -> str:
        """The backend in use: "tcnn" or "torch" ("auto" resolved by where the table is now)."""
        if self.backend_option == "auto":
            return "tcnn" if self.table.is_cuda and _tcnn_available() else "torch"
        return self.backend_option

    def _tcnn_module(self) -> nn.Module:
        """tiny-cuda-nn's encoding and the rows of ``table`` that form its flat parameter, built on first use."""
        if self._tcnn is None:
            self._tcnn, self._tcnn_params = _tcnn_encoding(self)
            # tcnn's flat parameter as rows of ``table`` (see the class docstring); not saved: derived.
            entries = self.table.shape[0]
            rows = torch.arange(-(-self._tcnn_params // self.features), device=self.table.device) % entries
            self.register_buffer("_tcnn_rows", rows, persistent=False)
        return self._tcnn

    @property
    def out_dim(self) -> int:
        return self.levels * self.features

    def extra_repr(self) -> str:
        return (
            f"in_dim={self.in_dim}, levels={self.levels}, features={self.features}, log2_table={self.log2_table}, "
            f"resolutions={self.resolutions[0]}..{self.resolutions[-1]}, dense_levels={self.dense_levels}, "
            f"backend={self.backend}"
        )

    def corners(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Table entries and weights of each point's 2^d cell corners per level: [L, 2^d, N] each (see _corners)."""
        entries, weights, _ = self._corners(x)
        return entries, weights

    def _corners(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Table entries and weights of each point's 2^d cell corners per level: [L, 2^d, N] each.

        Level-major with the points last: every elementwise op runs over long contiguous rows, and each
        level's entries are one contiguous index into one level's part of the table (cache friendly).
        Corner k has offset bit i of k along axis i. Entries (``index_dtype``: int32, or int64 for tables
        of 2^31 entries or more) are absolute (level offsets included) and carry no gradient; weights
        are differentiable in x any number of times. Also returns the per-axis factors (1 - t, t)
        [L, d, 2, N] the weights are products of, which ``forward_with_tangents`` differentiates.
        """
        u = ((x + 1) * 0.5).clamp(0.0, 1.0)
        res = self._res.to(u.dtype)
        pos = u.t()[None] * res  # [L, d, N]
        with torch.no_grad():
            cell = torch.minimum(pos.floor(), res - 1)
        frac = pos - cell
        pairs = torch.stack([1 - frac, frac], dim=2)  # per-axis factors [L, d, 2, N]
        weights = _combine(pairs, torch.mul)
        with torch.no_grad():
            k, corners, mask = self.dense_levels, 1 << self.in_dim, (1 << self.log2_table) - 1
            entries = x.new_empty(self.levels, corners, x.shape[0], dtype=self.index_dtype)
            if k > 0:
                cells = cell[:k].to(self.index_dtype)
                base = (cells * self._strides).sum(dim=1, dtype=self.index_dtype) + self._dense_offsets  # [k, N]
                torch.add(base[:, None, :], self._corner_entries, out=entries[:k])
            if k < self.levels:
                # (XOR_i t_i) mod T = XOR_i (t_i mod T) for T a power of two, so mask the per-axis terms.
                axis = (cell[k:].long() * self._primes).bitwise_and_(mask).to(self.index_dtype)  # [L', d, N]
                terms = torch.add(axis[:, :, None, :], self._prime_steps).bitwise_and_(mask)  # [L', d, 2, N]
                terms[:, 0] ^= self._hash_offsets
                _combine(terms, torch.bitwise_xor, out=entries[k:])
        return entries, weights, pairs

    def forward_with_jacobian(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Features [N, L*F] and their exact Jacobian in x [N, L*F, d], from one gather."""
        features, tangents = self.forward_with_tangents(x)
        return features, tangents.permute(1, 2, 0)

    def forward_with_tangents(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Features [N, L*F] and their derivatives along each axis, direction-major [d, N, L*F].

        The weights are products of per-axis factors (1 - t, t); the derivative along axis i replaces
        that axis's pair by (-s, s), s = N_l / 2 (cells per unit of x), so each Jacobian column is the same
        corner values mixed with other weights: no reverse pass per feature (NSTR's dS/dx needs this).
        The derivative is the one autograd gives for ``forward``: points on the domain boundary get the
        one-sided derivative of the cell they fall in, and a coordinate outside [-1, 1] is clamped, so the
        derivative along that axis is 0 (s = 0 there).
        """
        if self.backend == "tcnn":
            raise ValueError("forward_with_tangents needs backend='torch'")
        x = x.to(self.table.dtype)
        entries, weights, pairs = self._corners(x)
        # The clamp's own derivative, as autograd takes it: 1 on [0, 1] (ends included), 0 outside.
        u = (x + 1) * 0.5
        inside = ((u >= 0) & (u <= 1)).t().to(pairs.dtype)  # [d, N]
        slope = 0.5 * self._res.to(pairs.dtype) * inside  # [L, d, N]
        levels, corners, n = entries.shape
        values = gather_rows(self.table, entries.reshape(-1)).view(levels, corners, n, self.features)
        mixed = [interpolate(values, weights)]
        for axis in range(self.in_dim):
            s = slope[:, axis : axis + 1]  # [L, 1, N]
            slopes = torch.stack([-s, s], dim=2)  # [L, 1, 2, N]
            per_axis = torch.cat([pairs[:, :axis], slopes, pairs[:, axis + 1 :]], dim=1)
            mixed.append(interpolate(values, _combine(per_axis, torch.mul)))  # [L, N, F]
        stacked = torch.stack(mixed).transpose(1, 2).reshape(1 + self.in_dim, n, self.out_dim)
        return stacked[0], stacked[1:]

    def _tcnn_forward(self, u: torch.Tensor) -> torch.Tensor:
        """tiny-cuda-nn's encoding of u in [0, 1]^d with its parameters read from ``table`` (differentiably)."""
        encoding = self._tcnn_module()
        encoding.params = gather_rows(self.table, self._tcnn_rows).reshape(-1)[: self._tcnn_params]
        try:
            return encoding(u)
        finally:
            encoding.params = None  # the graph of this step is not kept alive by the module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"HashGrid expects coordinates [N, {self.in_dim}], got {list(x.shape)}")
        if self.backend == "tcnn":
            if not x.is_cuda:
                raise ValueError("backend='tcnn' runs on CUDA only: move the model and inputs to a CUDA device")
            return self._tcnn_forward(((x + 1) * 0.5).clamp(0.0, 1.0)).to(x.dtype)
        entries, weights = self.corners(x.to(self.table.dtype))
        mixed = _Lookup.apply(self.table, entries, weights)  # [L, N, F]
        return mixed.transpose(0, 1).reshape(x.shape[0], self.out_dim)


def _combine(per_axis: torch.Tensor, op, out: torch.Tensor | None = None) -> torch.Tensor:
    """[L, d, 2, N] per-axis terms -> [L, 2^d, N] corner terms op(t_0[o_0], t_1[o_1], ...), k = sum o_i 2^i.

    ``out`` (optional, contiguous [L, 2^d, N]) receives the result without autograd (integer entries).
    """
    result = per_axis[:, 0]
    dims = per_axis.shape[1]
    for axis in range(1, dims):
        term, prev = per_axis[:, axis, :, None, :], result[:, None, :, :]
        if out is not None and axis == dims - 1:
            op(term, prev, out=out.unflatten(1, (2, -1)))
            return out
        result = op(term, prev).flatten(1, 2)
    if out is not None:
        return out.copy_(result)
    return result


def _check_hashgrid_options(in_dim, levels, features, log2_table, base_res, max_res, backend) -> None:
    if in_dim not in (1, 2, 3):
        raise ValueError(f"HashGrid in_dim must be 1, 2 or 3, got {in_dim}")
    if levels < 1 or features < 1:
        raise ValueError(f"levels and features must be >= 1, got levels={levels}, features={features}")
    if not 4 <= log2_table <= 30:
        raise ValueError(f"log2_table must be in 4..30, got {log2_table}")
    if base_res < 1 or max_res < base_res:
        raise ValueError(f"need 1 <= base_res <= max_res, got base_res={base_res}, max_res={max_res}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got '{backend}'")


@functools.cache
def _tcnn_available() -> bool:
    try:
        import tinycudann  # optional dependency (CUDA only): is it installed?  # noqa: F401
    except Exception:  # ImportError, or a broken CUDA build raising at import
        return False
    return torch.cuda.is_available()


def _check_backend(backend: str) -> str:
    """``backend`` itself; "tcnn" without tiny-cuda-nn and CUDA is an error at once ("auto" is resolved later)."""
    if backend == "tcnn" and not _tcnn_available():
        raise ImportError(
            "backend='tcnn' needs tiny-cuda-nn and a CUDA device: install it with "
            "pip install git+https://github.com/NVlabs/tiny-cuda-nn/#subdirectory=bindings/torch, "
            "or use backend='torch'"
        )
    return backend


def _tcnn_encoding(grid: HashGrid) -> tuple[nn.Module, int]:
    """tiny-cuda-nn's HashGrid with the same hyperparameters (inputs in [0, 1]^d; float16 outputs), stripped
    of its own parameter, and that parameter's size: ``HashGrid._tcnn_forward`` sets ``params`` from the
    grid's table at each call."""
    import tinycudann as tcnn  # optional dependency (CUDA only): imported only when the tcnn backend is used

    config = {
        "otype": "HashGrid",
        "n_levels": grid.levels,
        "n_features_per_level": grid.features,
        "log2_hashmap_size": grid.log2_table,
        "base_resolution": grid.base_res,
        "per_level_scale": growth_factor(grid.levels, grid.base_res, grid.max_res),
    }
    encoding = tcnn.Encoding(grid.in_dim, config)
    count = encoding.params.numel()
    del encoding._parameters["params"]  # one layout: the grid's ``table`` is the only parameter
    return encoding, count
