"""Progress bars of long work: they pass every item through, count stages, and one switch hides them all."""

from __future__ import annotations

import io

from nstr.core.progress import Stages, progress_shown, showing, track


def test_track_yields_every_item_and_draws_its_bar(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    assert list(track(range(5), "views")) == [0, 1, 2, 3, 4]
    assert "views" in stream.getvalue() and "/5 " in stream.getvalue()  # a transient bar: gone at the end


def test_stages_count_the_parts_and_name_the_running_one(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    with Stages("after training", 2) as stages:
        with stages.stage("metrics"):
            assert stages.bar.n == 0
        with stages.stage("files"):
            assert stages.bar.n == 1
        assert stages.bar.n == 2
    assert "metrics" in stream.getvalue()


def test_hidden_progress_draws_nothing_and_the_setting_comes_back(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    assert showing()
    with progress_shown(False):
        assert list(track([1, 2], "views")) == [1, 2]
        with Stages("after training", 1) as stages, stages.stage("metrics"):
            with progress_shown(True):
                assert showing()
            assert not showing()
    assert showing()
    assert stream.getvalue() == ""
