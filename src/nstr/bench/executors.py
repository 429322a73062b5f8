"""Where cells run: in this process, in a local process pool, or as Ray tasks. Same records either way.

- ``LocalExecutor(workers=1)`` runs cells one after another in this process with all torch threads
  (or ``threads``).
- ``LocalExecutor(workers=N)`` uses a spawn-context process pool; each worker uses one torch thread (or
  ``threads``), so N fits share the machine without oversubscription. A worker that dies (killed, out of
  memory) breaks the pool; only the cell that killed it is recorded as failed (see ``LocalExecutor``).
- ``RayExecutor`` submits each cell as a Ray task (one CPU, one torch thread): a local Ray instance with
  ``workers`` CPUs when no address is given, else the cluster at ``address``. Cells must name signals the
  Ray workers can load (built-in images, or files at the same path on every node).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import torch

from nstr.bench.runner import failed_record, run_cell
from nstr.bench.suites import Cell
from nstr.core.errors import NstrError

Task = Callable[[Cell], dict[str, Any]]
EXECUTORS = ("local", "ray")
DIED = "worker process died while running this cell (killed, or out of memory?)"

_started = None  # in a pool worker: where it announces each cell it starts


def _set_threads(threads: int) -> None:
    torch.set_num_threads(threads)


def _init_worker(threads: int, started) -> None:
    global _started
    _set_threads(threads)
    _started = started


def _tracked(task: Task, cell: Cell) -> dict[str, Any]:
    """Announce the cell (synchronously, so the driver knows even if this process dies), then run it."""
    if _started is not None:
        _started.put(cell.cell_id)
    return task(cell)


class LocalExecutor:
    """This process (workers=1) or a pool of ``workers`` processes with ``threads`` torch threads each.

    ``threads`` None means all threads in-process and one thread per pool worker. When a pool worker dies,
    the pool breaks: cells that had not started go to a fresh pool, and each cell that was running is re-run
    alone in a one-worker pool, so only the cell that kills its worker is recorded as failed.
    """

    def __init__(self, workers: int = 1, threads: int | None = None, task: Task = run_cell):
        if workers < 1:
            raise NstrError(f"--workers must be at least 1, got {workers}")
        if threads is not None and threads < 1:
            raise NstrError(f"--threads must be at least 1, got {threads}")
        self.workers, self.threads, self.task = workers, threads, task
        self.name = "in-process" if workers == 1 else f"local pool of {workers} workers"

    def run(self, cells: list[Cell]) -> Iterator[dict[str, Any]]:
        if self.workers == 1:
            yield from self._in_process(cells)
            return
        pending = list(cells)
        while pending:
            lost: list[Cell] = []
            started: set[str] = set()
            yield from self._pool(pending, self.workers, lost, started)
            running = [c for c in lost if c.cell_id in started]
            pending = [c for c in lost if c.cell_id not in started]
            if lost and not running:  # the pool broke before any cell started: nothing will
                yield from (failed_record(c, "the worker pool broke before this cell started") for c in lost)
                return
            for cell in running:  # one of these killed its worker; alone, each shows whether it was the one
                alone: list[Cell] = []
                yield from self._pool([cell], 1, alone, set())
                if alone:
                    yield failed_record(cell, DIED)

    def _in_process(self, cells: list[Cell]) -> Iterator[dict[str, Any]]:
        previous = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            for cell in cells:
                yield self.task(cell)
        finally:
            torch.set_num_threads(previous)

    def _pool(self, cells: list[Cell], workers: int, lost: list[Cell], started: set[str]
              ) -> Iterator[dict[str, Any]]:
        """Run cells in one pool. Cells lost to a dead worker go to ``lost``; ids of cells begun to ``started``."""
        context = multiprocessing.get_context("spawn")
        announced = context.SimpleQueue()
        pool = ProcessPoolExecutor(min(workers, len(cells)), mp_context=context, initializer=_init_worker,
                                   initargs=(self.threads or 1, announced))
        try:
            futures = {pool.submit(_tracked, self.task, cell): cell for cell in cells}
            waiting = set(futures)
            while waiting:
                done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for future in done:
                    cell = futures[future]
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        lost.append(cell)
                    except Exception as exc:  # the task catches its own errors; this is pickling and the like
                        yield failed_record(cell, f"{type(exc).__name__}: {exc}")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            while not announced.empty():
                started.add(announced.get())
            announced.close()


def _ray_cell(task: Task, cell: Cell) -> dict[str, Any]:
    _set_threads(1)
    return task(cell)


def import_ray():
    try:
        import ray  # optional extra (ray): imported only when a Ray executor is asked for
    except ImportError:
        raise NstrError("the ray executor needs Ray: pip install -e '.[ray]' in the nstr checkout") from None
    return ray


class RayExecutor:
    """Cells as Ray tasks on a local Ray instance (no address) or an existing cluster (``address``)."""

    def __init__(self, workers: int | None = None, address: str | None = None, task: Task = run_cell):
        if workers is not None and workers < 1:
            raise NstrError(f"--workers must be at least 1, got {workers}")
        self.ray = import_ray()
        self.workers, self.address, self.task = workers, address, task
        self.name = f"ray at {address}" if address else f"local ray, {workers or 'all'} CPUs"

    def run(self, cells: list[Cell]) -> Iterator[dict[str, Any]]:
        if not cells:
            return
        ray = self.ray
        started = not ray.is_initialized()
        if started:
            options: dict[str, Any] = {"include_dashboard": False, "logging_level": "ERROR"}
            if self.address is None and self.workers is not None:
                options["num_cpus"] = self.workers
            try:
                ray.init(address=self.address, **options)
            except Exception as exc:  # connection refused, bad address...
                raise NstrError(f"could not start or reach Ray ({type(exc).__name__}: {exc})") from None
        try:
            remote = ray.remote(num_cpus=1, max_retries=1)(_ray_cell)
            refs = {remote.remote(self.task, cell): cell for cell in cells}
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1)
                for ref in ready:
                    cell = refs.pop(ref)
                    try:
                        yield ray.get(ref)
                    except Exception as exc:  # the worker died or the task could not run
                        yield failed_record(cell, f"ray task failed: {' '.join(str(exc).split())[:500]}")
        finally:
            if started:
                ray.shutdown()


def make_executor(name: str, workers: int | None = None, address: str | None = None, threads: int | None = None):
    """An executor by name: "local" (``workers`` default 1) or "ray" (``workers`` default: all CPUs)."""
    if name == "local":
        if address is not None:
            raise NstrError("--address is for --executor ray")
        return LocalExecutor(1 if workers is None else workers, threads)
    if threads not in (None, 1):
        raise NstrError("--threads is for --executor local; Ray tasks use one torch thread each")
    if name == "ray":
        return RayExecutor(workers, address)
    raise NstrError(f"unknown executor '{name}': choose one of {', '.join(EXECUTORS)}")
