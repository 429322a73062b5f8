"""Where a cell's numbers come from: the commit, uncommitted changes, the machine, and how busy it was.

Evidence people can cite needs every cell from a committed tree (``require_clean``: ``nstr bench`` refuses a
tree with modified tracked files unless ``--allow-dirty``), one code per suite table (``provenance_notes`` says
when a table mixes commits whose code differs; commits that differ only outside ``CODE_PATHS``, say in stored
results or the README, ran the same code, so a suite may be run in parts), one machine per table (``machine_of``:
hosts that share a CPU name can differ in instruction set and speed, and a wall-time budget with them), and
wall-time budgets measured on a machine no busier than its cores (``LoadSampler`` samples the 1-minute load
average while a cell fits; ``is_busy`` tells the runner to re-run a timed cell once). Records from before these fields
existed are read as they are: their load is ``load_before`` / ``load_after``, their dirty flag ``git_dirty``,
and their instruction set unknown.
"""

from __future__ import annotations

import os
import platform
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch

from nstr.core.errors import NstrError
from nstr.core.machine import cpu_model, environment

Record = dict[str, Any]
#: The paths whose content decides a cell's numbers: two commits that agree on them ran the same code...
CODE_PATHS = ("src", "pyproject.toml")
#: ...except the modules that only read stored results (the report, its tables, plots and claims ledger), which
#: no cell runs (tests/bench/test_evidence.py checks that the runner imports none of them).
REPORT_ONLY = tuple(f"src/nstr/bench/{name}.py" for name in ("claims", "ledger", "plots", "public", "report",
                                                             "summary"))
#: The nstr checkout holding this package (git commands run there).
CHECKOUT = Path(__file__).resolve().parent
#: Seconds between load samples while a cell fits (the 1-minute average moves slowly).
LOAD_EVERY = 5.0


def load_average() -> float | None:
    """1-minute load average, or None where the platform has none."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


class LoadSampler:
    """Samples the 1-minute load average every ``every`` seconds in a daemon thread, from start to stop."""

    def __init__(self, every: float = LOAD_EVERY):
        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        value = load_average()
        if value is not None:
            self.samples.append(value)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def __enter__(self) -> LoadSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def git(*args: str, repo: Path = CHECKOUT) -> tuple[int, str] | None:
    """(return code, stdout) of ``git args`` in ``repo``; None where git cannot run."""
    try:
        out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.returncode, out.stdout


#: Where suites store their records (``nstr bench``'s default): the runner rewrites tracked files here itself (a
#: stale cell's record), which says nothing about the code a cell ran, so it never makes a checkout dirty.
RESULTS = "benchmarks/results"


def git_state(repo: Path = CHECKOUT) -> tuple[str, bool | None]:
    """(``git rev-parse HEAD`` of the checkout holding this package or "unknown", tracked files outside
    ``RESULTS`` modified?)."""
    head = git("rev-parse", "HEAD", repo=repo)
    if head is None or head[0] != 0 or not head[1].strip():
        return "unknown", None
    status = git("status", "--porcelain", "--untracked-files=no", "--", ":(top)", f":(top,exclude){RESULTS}",
                 repo=repo)
    return head[1].strip(), (bool(status[1].strip()) if status is not None and status[0] == 0 else None)


def stamp() -> dict[str, Any]:
    """What every stored record carries about where and when it was made: the finish time, the load then, the
    environment (versions, CPU, instruction set, torch threads), the host, the nstr version and the git state."""
    env = environment()
    env["torch_threads"] = torch.get_num_threads()
    return {"finished_at": datetime.now(UTC).isoformat(timespec="seconds"), "load_after": load_average(),
            "environment": env, **origin()}


#: The keys of ``origin`` naming the code a record ran.
GIT_KEYS = ("git_commit", "git_dirty")


@lru_cache(maxsize=1)
def origin() -> dict[str, Any]:
    """What does not change within a process: machine name, CPU model, versions, and the git commit, read the first
    time it is asked (a suite asks when it starts, so a commit made while it runs is not claimed by its records)."""
    try:
        nstr_version = version("nstr")
    except PackageNotFoundError:
        nstr_version = "unknown"
    commit, dirty = git_state()
    return {"host": platform.node(), "cpu_model": cpu_model(), "nstr_version": nstr_version,
            "git_commit": commit, "git_dirty": dirty}


def code_groups(found: Iterable[str], repo: Path = CHECKOUT) -> list[list[str]]:
    """``found`` commits (full or abbreviated) grouped by identical ``CODE_PATHS`` (less ``REPORT_ONLY``), in
    the order given; a commit git cannot compare (unknown here, not a repository) stays alone, so it never hides
    a difference."""
    groups: list[list[str]] = []
    for commit in found:
        for group in groups:
            # ":(top)": paths from the repository's root, whatever folder git runs in
            result = git("diff", "--quiet", group[0], commit, "--", *(f":(top){path}" for path in CODE_PATHS),
                         *(f":(top,exclude){path}" for path in REPORT_ONLY), repo=repo)
            if result is not None and result[0] == 0:
                group.append(commit)
                break
        else:
            groups.append([commit])
    return groups


Grouper = Callable[[Iterable[str]], list[list[str]]]


def require_clean(dirty: bool | None, allow_dirty: bool, what: str = "a benchmark suite") -> None:
    """Refuse (one line) to run ``what`` from a tree whose tracked files are modified, unless ``allow_dirty``.
    ``dirty`` None (not a git checkout) cannot be checked and is let through; records then say commit unknown."""
    if dirty and not allow_dirty:
        raise NstrError(f"the nstr checkout has uncommitted changes to tracked files: commit them before running "
                        f"{what}, or pass --allow-dirty (every cell is then marked dirty)")


def cell_load(record: Record) -> float:
    """The highest 1-minute load seen while the cell fitted (samples, else before / after); 0 when unknown."""
    values = [*(record.get("load_samples") or []), record.get("load_before"), record.get("load_after")]
    return max((float(v) for v in values if isinstance(v, (int, float))), default=0.0)


def cores(record: Record) -> float:
    """The CPU count the cell saw (inf when unknown, so it never counts as busy)."""
    return float(record.get("environment", {}).get("cpus") or float("inf"))


#: A suite that uses every core holds the 1-minute load at about the core count by itself: the stored cells of
#: in-process and two-worker suites on 2 cores ended at 1.65-2.21 with nothing else running. A cell counts as
#: busy when its load went above the core count by more than this, i.e. something else took a real share.
BUSY_MARGIN = 0.5


def over_cores(record: Record) -> bool:
    """Whether the cell's load went above its core count by more than ``BUSY_MARGIN``."""
    return cell_load(record) > cores(record) + BUSY_MARGIN


def is_busy(record: Record) -> bool:
    """True for a successful cell with a wall-time budget whose load exceeded the core count (by more than
    ``BUSY_MARGIN``) while it fitted: it bought fewer steps. A cell with a step budget reached the same, only later
    (the report still warns of its load, since its time columns are affected)."""
    return record.get("status") == "ok" and timed(record) and over_cores(record)


def first_attempt(record: Record) -> Record:
    """What the runner keeps of a busy attempt when it re-runs the cell: everything but the history and trace."""
    return {k: v for k, v in record.items() if k not in ("history", "traceback", "busy_attempts")}


def device_label(record: Record) -> str:
    """"cpu" (also for records from before devices were recorded), else the device and its name."""
    device = record.get("device", "cpu")
    return "cpu" if device == "cpu" else f"{device} ({record.get('device_name', '?')})"


def machine_of(record: Record) -> str:
    """The machine a cell ran on as its record describes it: the accelerator if any, then CPU name, cores and the
    instruction set torch used ("ISA not recorded" in records from before it was stored)."""
    env = record.get("environment") or {}
    name = env.get("processor") or record.get("cpu_model") or "unknown CPU"
    device = device_label(record)
    accelerator = "" if device == "cpu" else f"{device}; "
    return f"{accelerator}{name}, {env.get('cpus', '?')} cores, {env.get('cpu_capability') or 'ISA not recorded'}"


def timed(record: Record) -> bool:
    """Whether the cell's fit was bounded by wall time (a record without its fit settings counts as timed): at a
    step budget the machine changes how long a cell took, not what it reached, so only timed cells must share one
    machine to be compared."""
    fit = record.get("fit")
    return not fit or fit.get("max_seconds") is not None


def machine_counts(records: Iterable[Record]) -> Counter:
    """Successful cells per machine description, most common first (a failed cell's numbers are not in a
    table, and its record may not describe the machine)."""
    return Counter(machine_of(r) for r in records if r.get("status", "ok") == "ok")


def is_dirty(record: Record) -> bool:
    return bool(record.get("git_dirty"))


def short_commit(record: Record) -> str:
    return str(record.get("git_commit") or "unknown")[:10]


def commits(records: list[Record]) -> Counter:
    """Cells per commit, most common first."""
    return Counter(short_commit(r) for r in records)


def dirty_column(records: list[Record], grouper: Grouper = code_groups) -> dict[str, Any]:
    """The summary table's extra columns for one row: dirty cells, the commits when a row mixes code, and the
    number of machine descriptions when it mixes machines."""
    extra: dict[str, Any] = {}
    dirty = sum(map(is_dirty, records))
    if dirty:
        extra["dirty cells"] = dirty
    found = commits(records)
    if len(found) > 1 and len(grouper(found)) > 1:
        extra["commits"] = ", ".join(found)
    hosts = len(machine_counts(records))
    if hosts > 1:
        extra["machines"] = hosts
    return extra


def provenance_notes(records: list[Record], grouper: Grouper = code_groups) -> list[str]:
    """Lines for a suite's section: mixed commits (whether their code differs), mixed machines, dirty cells,
    re-runs on a busy machine."""
    notes = []
    found = commits(records)
    if len(found) > 1:
        each = ", ".join(f"`{c}` ({n} cells)" for c, n in found.most_common())
        paths = ", ".join(f"`{p}`" for p in CODE_PATHS) + " less the report's own modules"
        groups = grouper(found)
        if len(groups) == 1:
            notes.append(f"This table's cells come from {len(found)} commits ({each}) with the same code ({paths} "
                         "identical): they differ only in stored results or documents.")
        else:
            kinds = "; ".join(" = ".join(f"`{c}`" for c in group) for group in groups)
            notes.append(f"**Mixed commits**: this table's cells come from {len(found)} commits ({each}) with "
                         f"{len(groups)} different codes ({paths}: {kinds}); re-run the suite from one commit "
                         "before citing it.")
    hosts = machine_counts(records)
    if len(hosts) > 1:
        each = "; ".join(f"{host} ({n} cells)" for host, n in hosts.most_common())
        if any(map(timed, records)):
            notes.append(f"**Mixed machines**: this table's cells ran on {len(hosts)} machine descriptions ({each}); "
                         "a wall-time budget buys each a different number of steps, so equal-time numbers compare "
                         "only within one machine: re-run the suite whole on one before citing it.")
        else:
            notes.append(f"This table's cells ran on {len(hosts)} machine descriptions ({each}); every cell had a "
                         "step budget, so the machine changed how long a cell took (its time columns), not what it "
                         "reached.")
    dirty = sum(map(is_dirty, records))
    if dirty:
        notes.append(f"**Dirty**: {dirty} of {len(records)} cells ran from a tree with uncommitted changes, so "
                     "their commit does not reproduce them (`nstr bench` now refuses that without --allow-dirty).")
    rerun = [r for r in records if r.get("busy_attempts")]
    if rerun:
        still = sum(map(is_busy, rerun))
        notes.append(f"{len(rerun)} cell(s) were re-run once because the load exceeded the core count + 0.5 while they "
                     f"fitted (both attempts are in their JSON); {still} of the re-runs were busy again.")
    return notes
