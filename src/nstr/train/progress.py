"""The fit's progress bar: the share of the budget done, an ETA, the step and the latest PSNR.

A fit stops at whichever budget ends first (``--steps``, ``--max-seconds``: training time, evaluation
excluded), so the bar's percentage is the larger of the two shares done, as the learning-rate schedule reads it,
and the ETA is the training time left to the budget that ends first, scaled by the wall time the fit has
taken per training second so far (evaluation, the occupancy grid's upkeep and the like take their share).
``fraction_done`` and ``eta_seconds`` are pure functions of those numbers; ``FitBar`` only draws them.
"""

from __future__ import annotations

import time

from tqdm.auto import tqdm

from nstr.core.progress import bar as progress_bar
from nstr.core.progress import showing

#: The bar counts thousandths of the budget (a step budget of 10 or a time budget of hours alike).
SCALE = 1000
#: Seconds between redraws: a step of a small model takes a millisecond, and drawing costs more than that.
REFRESH_SECONDS = 0.2


def fraction_done(step: int, seconds: float, steps: int | None, max_seconds: float | None) -> float:
    """The share of the budget done, in [0, 1]: the larger of step / steps and seconds / max_seconds (the fit
    stops when either reaches 1). No budget at all counts as nothing done."""
    parts = [0.0]
    if steps:
        parts.append(step / steps)
    if max_seconds:
        parts.append(seconds / max_seconds)
    return min(max(parts), 1.0)


def eta_seconds(step: int, seconds: float, steps: int | None, max_seconds: float | None, *, start_step: int = 0,
                start_seconds: float = 0.0, wall_seconds: float) -> float | None:
    """Wall-clock seconds until the budget that ends first runs out, or None before there is a rate to go by.

    ``step`` and ``seconds`` (training time) are where the fit is; ``start_step``, ``start_seconds`` where this
    process started it (a resumed fit starts part way), and ``wall_seconds`` the wall time since then. The time
    budget leaves ``max_seconds - seconds`` of training, the step budget ``(steps - step)`` steps at the training
    seconds per step measured since the start; the smaller is scaled by wall time per training second.
    """
    ran_steps, ran_seconds = step - start_step, seconds - start_seconds
    if ran_steps <= 0 or ran_seconds <= 0 or wall_seconds <= 0 or not (steps or max_seconds):
        return None
    left = []
    if max_seconds:
        left.append(max(max_seconds - seconds, 0.0))
    if steps:
        left.append(max(steps - step, 0) * ran_seconds / ran_steps)
    return min(left) * wall_seconds / ran_seconds


def format_interval(seconds: float) -> str:
    """Seconds as tqdm shows them: ``MM:SS``, ``H:MM:SS`` past an hour."""
    return tqdm.format_interval(seconds)


def status_text(step: int, steps: int | None, wall_seconds: float, eta: float | None, psnr: float | None) -> str:
    """What the bar shows after its percentage: elapsed<left, the step (of the step budget), the latest PSNR."""
    left = "?" if eta is None else format_interval(eta)
    parts = [f"{format_interval(wall_seconds)}<{left}", f"step {step}" + (f"/{steps}" if steps else "")]
    if psnr is not None:
        parts.append(f"psnr {psnr:.2f} dB")
    return ", ".join(parts)


class FitBar:
    """The bar a fit draws on stderr (nothing when progress is hidden: ``quiet``)."""

    def __init__(self, steps: int | None, max_seconds: float | None, step: int, seconds: float,
                 psnr: float | None = None):
        self.steps, self.max_seconds = steps, max_seconds
        self.start_step, self.start_seconds = step, seconds
        self.start_wall = time.perf_counter()
        self.last_draw = -float("inf")
        self.psnr = psnr
        self.shown = showing()
        self.bar = progress_bar(SCALE, "", bar_format="fit {percentage:3.0f}%|{bar}| {desc}")  # desc: the status
        if self.shown:
            self.update(step, seconds, force=True)

    def update(self, step: int, seconds: float, psnr: float | None = None, force: bool = False) -> None:
        """Where the fit is now (``psnr`` after an evaluation); redrawn at most every ``REFRESH_SECONDS``."""
        if psnr is not None:
            self.psnr = psnr
        now = time.perf_counter()
        if not self.shown or (not force and now - self.last_draw < REFRESH_SECONDS):
            return
        self.last_draw = now
        wall = now - self.start_wall
        eta = eta_seconds(step, seconds, self.steps, self.max_seconds, start_step=self.start_step,
                          start_seconds=self.start_seconds, wall_seconds=wall)
        self.bar.n = round(SCALE * fraction_done(step, seconds, self.steps, self.max_seconds))
        self.bar.set_description_str(status_text(step, self.steps, wall, eta, self.psnr), refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()
