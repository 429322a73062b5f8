"""The fit's progress bar: share of the budget done and ETA on hand-computed cases, and the bar it draws."""

from __future__ import annotations

import io

import pytest

from nstr.core.progress import progress_shown
from nstr.train.progress import FitBar, eta_seconds, fraction_done, status_text


@pytest.mark.parametrize("step,seconds,steps,max_seconds,expected", [
    (0, 0.0, None, 60.0, 0.0),
    (300, 15.0, None, 60.0, 0.25),  # a time budget: 15 of 60 s
    (250, 1.0, 1000, None, 0.25),  # a step budget: 250 of 1000 steps
    (500, 10.0, 1000, 60.0, 0.5),  # both: the steps are further along
    (100, 45.0, 1000, 60.0, 0.75),  # both: the seconds are further along
    (1200, 70.0, 1000, 60.0, 1.0),  # past the end: capped
    (10, 1.0, None, None, 0.0),  # no budget at all
])
def test_fraction_done_is_the_share_of_the_budget_that_ends_first(step, seconds, steps, max_seconds, expected):
    assert fraction_done(step, seconds, steps, max_seconds) == pytest.approx(expected)


def test_eta_of_a_time_budget_scales_the_training_left_by_wall_per_training_second():
    # 45 s of training left; 20 s of wall clock went by for 15 s of training (evaluation took the rest)
    assert eta_seconds(300, 15.0, None, 60.0, wall_seconds=20.0) == pytest.approx(45.0 * 20.0 / 15.0)


def test_eta_of_a_step_budget_comes_from_the_seconds_per_step():
    # 750 steps left at 0.04 s each = 30 s of training, times 12.5 s wall / 10 s training
    assert eta_seconds(250, 10.0, 1000, None, wall_seconds=12.5) == pytest.approx(37.5)


def test_eta_with_both_budgets_follows_the_one_that_ends_first():
    # steps: 500 left at 0.02 s = 10 s of training; time: 50 s left. The steps end first.
    assert eta_seconds(500, 10.0, 1000, 60.0, wall_seconds=10.0) == pytest.approx(10.0)
    # steps: 900 left at 0.45 s = 405 s; time: 15 s left. The time ends first.
    assert eta_seconds(100, 45.0, 1000, 60.0, wall_seconds=45.0) == pytest.approx(15.0)


def test_eta_of_a_resumed_fit_uses_only_what_this_process_measured():
    # resumed at step 400 (8 s of training before): 100 steps in 2 s here, 2.5 s of wall clock
    eta = eta_seconds(500, 10.0, 1000, None, start_step=400, start_seconds=8.0, wall_seconds=2.5)
    assert eta == pytest.approx(500 * 0.02 * 2.5 / 2.0)


@pytest.mark.parametrize("step,seconds,wall", [(0, 0.0, 1.0), (5, 0.0, 1.0), (5, 1.0, 0.0)])
def test_no_eta_before_there_is_a_rate(step, seconds, wall):
    assert eta_seconds(step, seconds, 100, 60.0, wall_seconds=wall) is None


def test_no_eta_without_a_budget_and_none_left_at_the_end():
    assert eta_seconds(10, 1.0, None, None, wall_seconds=1.0) is None
    assert eta_seconds(100, 70.0, None, 60.0, wall_seconds=80.0) == 0.0


def test_status_text_shows_elapsed_left_step_and_psnr():
    assert status_text(812, 2000, 75.0, 42.0, 31.234) == "01:15<00:42, step 812/2000, psnr 31.23 dB"
    assert status_text(3, None, 1.0, None, None) == "00:01<?, step 3"


def test_the_bar_shows_the_percentage_of_a_time_budget_and_hides_when_quiet(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    bar = FitBar(None, 60.0, 0, 0.0)
    bar.update(150, 15.0, psnr=30.0, force=True)
    assert bar.bar.n == 250 and bar.bar.total == 1000  # 25 % of 60 s
    bar.close()
    assert " 25%|" in stream.getvalue() and "psnr 30.00 dB" in stream.getvalue()

    quiet = io.StringIO()
    monkeypatch.setattr("sys.stderr", quiet)
    with progress_shown(False):
        hidden = FitBar(None, 60.0, 0, 0.0)
        hidden.update(150, 15.0, force=True)
        hidden.close()
    assert quiet.getvalue() == ""
