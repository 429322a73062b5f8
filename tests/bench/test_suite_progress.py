"""`nstr bench` progress: the suite's ETA from the cell count and budgets (hand-computed), and the lines it prints."""

from __future__ import annotations

import pytest

from nstr.bench.runner import run_suite, suite_eta
from nstr.bench.suites import Cell


@pytest.mark.parametrize("finished,remaining,elapsed,workers,budget,expected", [
    (0, 10, 0.0, 2, 60.0, 300.0),  # nothing finished: 5 rounds of two 60-s cells
    (0, 5, 0.0, 2, 60.0, 180.0),  # the last round has one cell
    (0, 3, 0.0, 1, 30.0, 90.0),
    (4, 6, 100.0, 2, 60.0, 150.0),  # 25 s per finished cell so far, whatever the budget says
    (0, 4, 0.0, 2, None, None),  # a step budget: no estimate before the first cell
    (3, 0, 50.0, 1, 60.0, 0.0),  # done
])
def test_suite_eta_on_hand_computed_cases(finished, remaining, elapsed, workers, budget, expected):
    assert suite_eta(finished, remaining, elapsed, workers, budget) == expected


class Instant:
    """An executor whose cells finish at once, with made-up numbers."""

    name, workers = "instant", 2

    def run(self, cells):
        for cell in cells:
            yield {"suite": cell.suite, "cell_id": cell.cell_id, "spec": cell.spec(), "status": "ok", "psnr": 30.0,
                   "params": 1000, "steps": 5, "train_seconds": 1.0}


def test_run_suite_prints_progress_elapsed_and_time_left(tmp_path):
    cells = [Cell("s", "siren", "camera", seed, 8, {}, {"max_seconds": 10.0}) for seed in range(3)]
    lines: list[str] = []
    run_suite(cells, tmp_path, Instant(), echo=lines.append)
    assert lines[0].startswith("3 cells, 0 already done, 3 to run (instant)")
    assert lines[0].endswith("; at least 00:20 (the training budgets alone)")  # two rounds of 10 s on 2 workers
    assert [line.split("]")[0] for line in lines[1:]] == ["[1/3 33%, 00:00 elapsed, 00:00 left",
                                                         "[2/3 66%, 00:00 elapsed, 00:00 left",
                                                         "[3/3 100%, 00:00 elapsed, 00:00 left"]
