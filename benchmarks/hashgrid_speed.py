"""Hash-grid encoding speed on a CPU: samples per second, forward + backward, at batch 2^16.

Variants, all with the same levels, resolutions and table size:

- ``ours``: ``nstr.nn.hashgrid.HashGrid`` (level-major corner layout, ``index_select`` gather and
  ``index_add_`` backward, one level at a time);
- ``ours+compile``: the same module under ``torch.compile`` (skipped with a note if compiling fails);
- ``ours-layout+tab[idx]``: our corner computation but the gather written as ``table[idx]`` (an ablation
  that isolates the gather/scatter from the rest);
- ``plain``: what one writes first (a loop over levels, ``table[idx]`` gather, autograd's
  ``index_put_`` backward), written below as the reference;
- ``dense``: per-level dense grids sampled with ``F.grid_sample`` (no hashing; memory grows as N^d, so
  in 3-D its finest resolution is capped, see ``--dense-max-res-3d``).

The encoding is memory-bound, not FLOP-bound: the table reports the bytes of table rows gathered per
sample, the bytes moved per sample in forward + backward (rows and indices), and the bandwidth those
imply, next to the machine's measured copy bandwidth. Variants take turns step by step, so load from
other processes hits them alike; the load average is recorded, and numbers from a busy machine (load
above the core count) mostly measure the contention. ``--malloc tuned`` keeps glibc from returning large
freed blocks to the OS, so big temporaries stop being page-faulted in afresh every step.

    .venv/bin/python benchmarks/hashgrid_speed.py       # d = 2, 3; 2 threads; default then tuned malloc
    .venv/bin/python benchmarks/hashgrid_speed.py --dims 2 --repeats 3 --no-compile --threads 1 2
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from nstr.bench.provenance import BUSY_MARGIN
from nstr.nn.hashgrid import HASH_PRIMES, HashGrid, level_resolutions

RESULTS = Path(__file__).resolve().parent / "results" / "hashgrid_speed.json"


class PlainHashGrid(nn.Module):
    """The reference a first implementation looks like: per-level loop, ``table[idx]``, product weights.

    Same conventions as ``HashGrid`` (vertex j of level l at u = j / N_l; dense where it fits).
    """

    def __init__(self, in_dim: int, levels: int, features: int, log2_table: int, base_res: int, max_res: int):
        super().__init__()
        self.in_dim, self.log2_table = in_dim, log2_table
        self.resolutions = level_resolutions(levels, base_res, max_res)
        sizes = [min((n + 1) ** in_dim, 1 << log2_table) for n in self.resolutions]
        self.tables = nn.ParameterList(
            nn.Parameter(torch.empty(size, features).uniform_(-1e-4, 1e-4)) for size in sizes
        )
        offsets = [[(k >> i) & 1 for i in range(in_dim)] for k in range(1 << in_dim)]
        self.register_buffer("corner_offsets", torch.tensor(offsets))  # [C, d]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = ((x + 1) * 0.5).clamp(0.0, 1.0)
        outs = []
        for n, table in zip(self.resolutions, self.tables, strict=True):
            pos = u * n
            cell = pos.detach().floor().clamp(max=n - 1)
            frac = pos - cell
            corner = cell.long()[:, None, :] + self.corner_offsets  # [N, C, d]
            if (n + 1) ** self.in_dim <= 1 << self.log2_table:
                strides = torch.tensor([(n + 1) ** i for i in range(self.in_dim)])
                idx = (corner * strides).sum(-1)
            else:
                idx = corner[..., 0] * HASH_PRIMES[0]
                for i in range(1, self.in_dim):
                    idx = idx ^ (corner[..., i] * HASH_PRIMES[i])
                idx = idx & ((1 << self.log2_table) - 1)
            weights = torch.where(self.corner_offsets.bool(), frac[:, None, :], 1 - frac[:, None, :]).prod(-1)
            outs.append((table[idx] * weights[..., None]).sum(1))
        return torch.cat(outs, dim=-1)


class IndexingHashGrid(HashGrid):
    """Ablation: ``HashGrid``'s corner computation with the gather written as ``table[idx]``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        entries, weights = self.corners(x)  # [L, C, N] each
        values = self.table[entries.long()]  # [L, C, N, F]; backward is index_put_ with accumulate
        mixed = (values * weights[..., None]).sum(dim=1)  # [L, N, F]
        return mixed.transpose(0, 1).reshape(x.shape[0], self.out_dim)


class DenseGrids(nn.Module):
    """Per-level dense grids of (N_l + 1)^d vertices, interpolated by ``F.grid_sample`` (d = 2, 3)."""

    def __init__(self, in_dim: int, levels: int, features: int, base_res: int, max_res: int):
        super().__init__()
        if in_dim not in (2, 3):
            raise ValueError("grid_sample needs d = 2 or 3")
        self.in_dim = in_dim
        self.resolutions = level_resolutions(levels, base_res, max_res)
        self.grids = nn.ParameterList(
            nn.Parameter(torch.empty(1, features, *[n + 1] * in_dim).uniform_(-1e-4, 1e-4))
            for n in self.resolutions
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # align_corners=True puts vertex 0 at -1 and vertex N at +1: the HashGrid convention.
        grid = x.view(1, -1, *[1] * (self.in_dim - 1), self.in_dim)
        outs = [
            F.grid_sample(g, grid, mode="bilinear", padding_mode="border", align_corners=True).flatten(2)
            for g in self.grids
        ]
        return torch.cat(outs, dim=1)[0].t()


def copy_bandwidth(megabytes: int = 256, repeats: int = 5) -> float:
    """Measured memory bandwidth of a large tensor copy, GB/s (read + write counted)."""
    src = torch.empty(megabytes * (1 << 20) // 4)
    dst = torch.empty_like(src)
    dst.copy_(src)
    best = min(_timed(lambda: dst.copy_(src)) for _ in range(repeats))
    return 2 * src.numel() * 4 / best / 1e9


def tune_malloc() -> bool:
    """Keep freed large blocks in glibc's heap (no mmap/munmap per tensor), so big temporaries are reused
    instead of page-faulted in afresh on every step. Process-wide and irreversible; glibc only."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    return all(
        libc.mallopt(option, value)
        for option, value in ((m_mmap_threshold, 1 << 30), (m_trim_threshold, 1 << 34), (m_top_pad, 1 << 28))
    )


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_steps(modules: dict[str, nn.Module], x: torch.Tensor, grad: torch.Tensor, repeats: int) -> dict[str, list]:
    """Seconds per forward + backward (gradient into every table) of each module, after two warm-up steps.

    The variants take turns, one step each per round, so load from other processes hits them alike.
    """

    def step(module: nn.Module) -> None:
        for p in module.parameters():
            p.grad = None
        module(x).backward(grad)

    for module in modules.values():
        for _ in range(2):
            step(module)
    seconds: dict[str, list] = {name: [] for name in modules}
    for _ in range(repeats):
        for name, module in modules.items():
            seconds[name].append(_timed(lambda m=module: step(m)))
    return seconds


def traffic_per_sample(levels: int, in_dim: int, features: int, table_rows: int, batch: int) -> dict[str, int]:
    """Bytes per sample: table rows gathered (forward), and all table/index traffic of forward + backward.

    Forward reads one row and one int32 index per corner; backward reads the index again and
    read-modify-writes one row per corner, and zero-fills the whole gradient table once per step (shared
    by the batch). Elementwise passes over weights and outputs come on top.
    """
    corners = levels * (1 << in_dim)
    row = features * 4
    zero_fill = table_rows * row // batch
    return {"gathered": corners * row, "moved": corners * (row + 4) + corners * (2 * row + 4) + zero_fill}


def build_variants(d: int, args: argparse.Namespace) -> dict[str, nn.Module | str]:
    common = dict(levels=args.levels, features=args.features, log2_table=args.log2_table,
                  base_res=args.base_res, max_res=args.max_res)
    variants: dict[str, nn.Module | str] = {"ours": HashGrid(d, **common)}
    if not args.no_compile:
        variants["ours+compile"] = _compiled(HashGrid(d, **common))
    variants["ours-layout+tab[idx]"] = IndexingHashGrid(d, **common)
    variants["plain"] = PlainHashGrid(d, **common)
    dense_max = args.max_res if d == 2 else min(args.max_res, args.dense_max_res_3d)
    variants["dense"] = DenseGrids(d, args.levels, args.features, args.base_res, dense_max)
    return variants


def _compiled(module: nn.Module) -> nn.Module | str:
    """``torch.compile`` of the module (compile time stored on it), or the reason it fails here."""
    try:
        compiled = torch.compile(module)
        x = torch.rand(1 << 16, module.in_dim) * 2 - 1
        start = time.perf_counter()
        compiled(x).sum().backward()
        compiled.compile_seconds = time.perf_counter() - start
        return compiled
    except Exception as exc:  # compile errors come in many types; report, do not crash the benchmark
        return f"torch.compile failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


def run(args: argparse.Namespace, threads: int, malloc: str) -> dict:
    torch.set_num_threads(threads)
    load = os.getloadavg()
    bandwidth = copy_bandwidth()
    batch = 1 << args.log2_batch
    rows = []
    for d in args.dims:
        torch.manual_seed(0)
        x = torch.rand(batch, d) * 2 - 1
        grad = torch.randn(batch, args.levels * args.features)
        variants = build_variants(d, args)
        traffic = traffic_per_sample(args.levels, d, args.features, variants["ours"].table.shape[0], batch)
        modules = {name: m for name, m in variants.items() if not isinstance(m, str)}
        seconds = time_steps(modules, x, grad, args.repeats)
        plain_rate = batch / statistics.median(seconds["plain"])
        for name, module in variants.items():
            if isinstance(module, str):
                rows.append({"d": d, "variant": name, "note": module})
                continue
            med = statistics.median(seconds[name])
            rate = batch / med
            entry = {
                "d": d, "variant": name, "samples_per_s": rate, "speedup_vs_plain": rate / plain_rate,
                "ms_per_step_median": med * 1e3, "ms_per_step_min": min(seconds[name]) * 1e3,
                "params": sum(p.numel() for p in module.parameters()),
                "bytes_gathered_per_sample": traffic["gathered"], "bytes_moved_per_sample": traffic["moved"],
                "implied_GBps": rate * traffic["moved"] / 1e9,
            }
            if hasattr(module, "compile_seconds"):
                entry["note"] = f"compile + first step {module.compile_seconds:.1f} s"
            if name == "dense" and d == 3 and args.dense_max_res_3d < args.max_res:
                entry["note"] = f"max_res capped at {args.dense_max_res_3d} (dense (N+1)^3 memory)"
            rows.append(entry)
    return {
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "threads")} | {"batch": batch},
        "machine": {
            "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(), "load_average_before": load,
            "load_average_after": os.getloadavg(), "copy_bandwidth_GBps": bandwidth, "malloc": malloc,
        },
        "results": rows,
    }


def markdown(report: dict) -> str:
    machine = report["machine"]
    after = machine["load_average_after"][0]
    busy = after > machine["cpu_count"] + BUSY_MARGIN  # the benchmark runner's threshold
    shared = " (above the core count: other work shared the cores)" if busy else ""
    lines = [
        f"batch {report['settings']['batch']}, {machine['threads']} threads, "
        f"malloc {machine['malloc']}, torch "
        f"{machine['torch']}, copy bandwidth {machine['copy_bandwidth_GBps']:.1f} GB/s, "
        f"1-min load average {machine['load_average_before'][0]:.2f} before, {after:.2f} after{shared}",
        "",
        "| d | variant | samples/s | ms/step (median) | vs plain | table bytes gathered/sample "
        "| bytes moved/sample (fwd+bwd, incl. grad zero-fill) | implied GB/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        if "samples_per_s" not in r:
            lines.append(f"| {r['d']} | {r['variant']} | - | - | - | - | - | {r['note']} |")
            continue
        lines.append(
            f"| {r['d']} | {r['variant']} | {r['samples_per_s']:,.0f} | {r['ms_per_step_median']:.1f} "
            f"| {r['speedup_vs_plain']:.2f}x | {r['bytes_gathered_per_sample']} "
            f"| {r['bytes_moved_per_sample']} | {r['implied_GBps']:.2f} |"
        )
    notes = [f"- d={r['d']} {r['variant']}: {r['note']}" for r in report["results"] if "note" in r
             and "samples_per_s" in r]
    return "\n".join(lines + ([""] + notes if notes else []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--log2-batch", type=int, default=16)
    parser.add_argument("--levels", type=int, default=16)
    parser.add_argument("--features", type=int, default=2)
    parser.add_argument("--log2-table", type=int, default=19)
    parser.add_argument("--base-res", type=int, default=16)
    parser.add_argument("--max-res", type=int, default=2048)
    parser.add_argument("--dense-max-res-3d", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[2], help="torch threads; one run each")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--malloc", nargs="+", choices=["default", "tuned"], default=["default", "tuned"],
                        help="allocator settings to run, in order (tuning is irreversible, so 'default' first)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    reports = []
    for malloc in args.malloc:
        if malloc == "tuned" and not tune_malloc():
            print("mallopt unavailable (not glibc); skipping the tuned-malloc runs")
            break
        for threads in args.threads:
            reports.append(run(args, threads, malloc))
            print(markdown(reports[-1]) + "\n")
    from nstr.bench.report import write_result

    rows = [
        {"threads": r["machine"]["threads"], "malloc": r["machine"]["malloc"], "d": row["d"],
         "variant": row["variant"], "samples_per_s": row.get("samples_per_s", float("nan")),
         "speedup_vs_plain": row.get("speedup_vs_plain", float("nan")), "params": row.get("params", 0),
         "bytes_gathered": row.get("bytes_gathered_per_sample", 0), "bytes_moved": row.get("bytes_moved_per_sample", 0),
         "implied_GBps": row.get("implied_GBps", float("nan"))}
        for r in reports for row in r["results"]
    ]
    bandwidth = reports[0]["machine"].get("copy_bandwidth_GBps", float("nan")) if reports else float("nan")
    write_result(
        args.out, "hashgrid_speed",
        "Hash grid encoding: samples per second, forward + backward, batch 2^16",
        (f"Ours (index_select gathers, index_add_ backward) against a plain table[idx] implementation "
                    f"and a dense multiresolution grid_sample variant. Measured copy bandwidth {bandwidth:.1f} GB/s: "
                    "the encoding moves far less than that, so it is bound by random-access latency, not bandwidth."),
        ".venv/bin/python benchmarks/hashgrid_speed.py " + " ".join(sys.argv[1:]),
        rows, runs=reports,
    )


if __name__ == "__main__":
    main()
