"""FreSh's choices in the benchmark suites: made once per signal and architecture, before the timed fits, stored
beside the cells with their provenance, and read back by every seed of a fit."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from nstr.bench import fresh_choices
from nstr.bench.fresh_choices import FOLDER, choice_path, ensure_choices, stored_choice
from nstr.bench.inputs import load_cell_signal
from nstr.bench.report import render
from nstr.bench.runner import read_record, record_path, run_cell, run_suite
from nstr.bench.suites import FreshGrid, Suite, expand
from nstr.cli.bench import bench_command
from nstr.fresh.select import select

GRID = FreshGrid("omega0", (5.0, 30.0, 120.0), inits=2)
#: Two grey photographs of one size (they share their untrained models) and a colour one (its own models).
FRESH_TINY = Suite("fresh-tiny", "SIREN with FreSh's omega0, 2 steps", signals=("camera", "grass", "astronaut"),
                   models=("siren",), budgets={"*": (2000,)}, size=24, max_seconds=None, steps=2, seeds=2,
                   fit={"batch_size": 0, "eval_every": 1})


#: Tiny fits on one torch thread (tests/bench/conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def cells():
    return [replace(c, fresh=GRID, variant=f"{c.label}+fresh") for c in expand(FRESH_TINY)]


class _CheckingExecutor:
    """Runs cells in-process, first checking that every FreSh choice is stored and attached before any fit."""

    name = "checking"

    def __init__(self, out_dir):
        self.out_dir, self.runs = out_dir, 0

    def run(self, cells):
        for cell in cells:
            assert cell.fresh_choice is not None and stored_choice(self.out_dir, cell) is not None
        self.runs += 1
        for cell in cells:
            yield run_cell(cell)


def test_each_choice_is_made_once_before_the_fits_and_every_seed_fits_with_it(tmp_path, cells, monkeypatch):
    calls = []
    real = fresh_choices.iter_selections
    monkeypatch.setattr(fresh_choices, "iter_selections",
                        lambda signals, *a, **kw: calls.append(len(signals)) or real(signals, *a, **kw))
    records = run_suite(cells, tmp_path, _CheckingExecutor(tmp_path))
    # one call per architecture: the two grey photographs share their sized SIREN (and its untrained models), the
    # colour one is sized for three outputs
    assert calls == [2, 1]
    stored = sorted((tmp_path / FRESH_TINY.name / FOLDER).glob("*.json"))
    assert len(stored) == 3  # one per signal, not per seed
    for record in records:
        assert record["status"] == "ok", record.get("error")
        cell = next(c for c in cells if c.cell_id == record["cell_id"])
        choice = json.loads(choice_path(tmp_path, cell).read_text())
        direct = select(load_cell_signal(cell), "siren", "omega0", GRID.values, inits=2, options=cell.options)
        assert choice["value"] == direct.best.value == record["fresh"]["value"]
        assert choice["selection"]["candidates"] == direct.to_dict()["candidates"]
        assert record["fresh"]["choice"] == f"{FOLDER}/{choice_path(tmp_path, cell).name}"
        assert record["fresh"]["inits"] == 2 and record["spec"]["fresh"] == {"param": "omega0",
                                                                             "values": [5.0, 30.0, 120.0], "inits": 2}
        for key in ("git_commit", "git_dirty", "environment", "finished_at", "spec"):
            assert key in choice, key
    assert sorted(json.loads(p.read_text())["shared_by"] for p in stored) == [1, 2, 2]
    unused = replace(cells[0], fresh=replace(GRID, inits=1))  # a choice made for another grid: no cell fits with it
    ensure_choices([unused], tmp_path)
    report = render(tmp_path)  # the suite's section lists each stored choice once (not per seed), with its file
    rows = [line for line in report.splitlines() if line.startswith("| siren |") and "omega0" in line]
    assert len(rows) == 4
    for record in records[::2]:
        value = f"omega0 {record['fresh']['value']:g}"
        assert any(f"| {Path(record['signal']).stem} | {value} | 2 |" in row and record["fresh"]["choice"] in row
                   and row.endswith("| 2 |") for row in rows), (value, rows)  # 2 seeds fitted with it
    unused_row = next(row for row in rows if choice_path(tmp_path, unused).name in row)
    assert "| camera |" in unused_row and "| 1 |" in unused_row and unused_row.endswith("| 0 |")


def test_stored_choices_are_reused_and_a_changed_grid_makes_a_new_one_beside_the_old(tmp_path, cells, monkeypatch):
    ensure_choices(cells[:2], tmp_path)  # camera's two seeds: one choice
    first = sorted((tmp_path / FRESH_TINY.name / FOLDER).iterdir())
    assert len(first) == 1
    monkeypatch.setattr(fresh_choices, "iter_selections", lambda *a, **kw: pytest.fail("a stored choice was remade"))
    assert ensure_choices(cells[:2], tmp_path) == 0
    monkeypatch.undo()
    wider = [replace(c, fresh=replace(GRID, inits=3)) for c in cells[:2]]
    assert stored_choice(tmp_path, wider[0]) is None
    assert ensure_choices(wider, tmp_path) == 1
    after = sorted((tmp_path / FRESH_TINY.name / FOLDER).iterdir())
    assert len(after) == 2 and first[0] in after  # the earlier choice is kept, not overwritten
    assert json.loads(choice_path(tmp_path, wider[0]).read_text())["inits"] == 3


def test_an_interrupted_run_keeps_the_choices_of_the_shapes_it_finished(tmp_path, monkeypatch):
    """camera (24 x 24) and coins (19 x 24) fit one sized SIREN but need two sets of untrained models: a run
    stopped after the first set keeps camera's choice, and the next run makes only coins'."""
    suite = replace(FRESH_TINY, signals=("camera", "coins"), seeds=1)
    cells = [replace(c, fresh=GRID) for c in expand(suite)]
    assert cells[0].options == cells[1].options
    real = fresh_choices.iter_selections

    def stopped(*args, **kwargs):
        found = real(*args, **kwargs)
        yield next(found)
        raise KeyboardInterrupt

    monkeypatch.setattr(fresh_choices, "iter_selections", stopped)
    with pytest.raises(KeyboardInterrupt):
        ensure_choices(cells, tmp_path)
    assert stored_choice(tmp_path, cells[0]) is not None and stored_choice(tmp_path, cells[1]) is None
    monkeypatch.setattr(fresh_choices, "iter_selections", real)
    assert ensure_choices(cells, tmp_path) == 1 and stored_choice(tmp_path, cells[1]) is not None


def test_the_estimate_counts_each_shape_once_and_only_missing_choices(tmp_path, monkeypatch):
    """camera and grass (24 x 24, grey) share one set of untrained models, coins (19 x 24) has its own: the estimate
    is values x initialisations forwards over 24^2 + 19^2 grid points at the timed rate, over the workers; a stored
    choice costs nothing."""
    suite = replace(FRESH_TINY, signals=("camera", "grass", "coins"), seeds=2)
    cells = [replace(c, fresh=GRID) for c in expand(suite)]
    assert fresh_choices.seconds_per_point(cells[0], 2, 1) > 0
    monkeypatch.setattr(fresh_choices, "seconds_per_point", lambda cell, i, o: 1e-3)
    forwards = len(GRID.values) * GRID.inits
    assert fresh_choices.choice_seconds(cells, tmp_path, workers=2) == pytest.approx(
        forwards * (24 * 24 + 19 * 19) * 1e-3 / 2)
    ensure_choices([c for c in cells if c.signal == "coins"], tmp_path)
    assert fresh_choices.choice_seconds(cells, tmp_path, workers=2) == pytest.approx(forwards * 24 * 24 * 1e-3 / 2)


def test_a_fresh_cell_run_alone_makes_its_choice_in_process_and_stores_nothing(tmp_path, cells):
    record = run_cell(cells[0])
    assert record["status"] == "ok", record.get("error")
    direct = select(load_cell_signal(cells[0]), "siren", "omega0", GRID.values, inits=2, options=cells[0].options)
    assert record["fresh"]["value"] == direct.best.value and "choice" not in record["fresh"]
    assert "fresh_choice" not in record["spec"] and "fresh" not in replace(cells[0], fresh=None).spec()


def test_fresh_only_stores_the_choices_and_fits_nothing(tmp_path, monkeypatch):
    # The grid and initialisations of the real suites make this slow; a 1-value grid keeps the command's wiring.
    monkeypatch.setitem(sys.modules["nstr.bench.suites"].FRESH_GRIDS, "siren", FreshGrid("omega0", (30.0,)))
    args = ["budget", "--signals", "camera", "--models", "siren", "--budgets", "2k", "--size", "24", "--seeds", "1",
            "--out", str(tmp_path), "--allow-dirty"]
    listed = CliRunner().invoke(bench_command, [*args, "--fresh-only", "--list"])
    assert listed.exit_code == 0 and "1 FreSh choice(s) to compute" in listed.output
    assert not (tmp_path / "budget").exists()
    result = CliRunner().invoke(bench_command, [*args, "--fresh-only"])
    assert result.exit_code == 0, result.output
    stored = list((tmp_path / "budget" / FOLDER).glob("*.json"))
    assert len(stored) == 1 and json.loads(stored[0].read_text())["value"] == 30.0
    assert not list((tmp_path / "budget").glob("*.json"))  # no cell was fitted
    cell = next(c for c in expand("budget", _overrides()) if c.fresh is not None)
    assert read_record(record_path(tmp_path, cell)) is None


def _overrides():
    from nstr.bench.suites import Overrides

    return Overrides(signals=("camera",), models=("siren",), budgets=(2000,), size=24, seeds=1)
