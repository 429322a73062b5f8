"""Evidence people can cite: clean runs (dirty trees refused, busy cells re-run, mixed commits marked), the kodak
and lego suites (cells, protocols, the same-table hash grid, --images), their report parts and the anchors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from nstr.bench import provenance
from nstr.bench.estimate import estimate_seconds
from nstr.bench.provenance import (
    REPORT_ONLY,
    LoadSampler,
    cell_load,
    code_groups,
    dirty_column,
    git,
    is_busy,
    provenance_notes,
    require_clean,
)
from nstr.bench.public import per_image_table, reach_row
from nstr.bench.report import write_report
from nstr.bench.runner import read_record, record_path, run_suite
from nstr.bench.suites import (
    KODAK,
    KODAK_DIR,
    KODAK_STEPS,
    SUITES,
    Cell,
    Overrides,
    expand,
    kodak_signals,
    same_table_options,
)
from nstr.cli.bench import bench_command
from nstr.cli.main import main
from nstr.core.errors import NstrError
from nstr.core.png import encode_png


@pytest.fixture
def photos(tmp_path):
    """Two small RGB photographs named like Kodak's."""
    rng = np.random.default_rng(0)
    paths = []
    for name in ("kodim01", "kodim02"):
        path = tmp_path / f"{name}.png"
        path.write_bytes(encode_png((rng.random((24, 32, 3)) * 255).astype(np.uint8)))
        paths.append(str(path))
    return tuple(paths)


# Clean runs --------------------------------------------------------------------------------------------------

def test_a_dirty_tree_is_refused_in_one_line_unless_allowed():
    with pytest.raises(NstrError, match="uncommitted changes.*--allow-dirty") as info:
        require_clean(True, allow_dirty=False)
    assert "\n" not in str(info.value)
    require_clean(True, allow_dirty=True)
    require_clean(False, allow_dirty=False)
    require_clean(None, allow_dirty=False)  # not a git checkout: nothing to check


def test_nstr_bench_refuses_a_dirty_checkout_with_exit_2_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr("nstr.cli.bench.git_state", lambda: ("abc", True))
    args = ["bench", "table1", "--signals", "camera", "--models", "hashgrid", "--steps", "2", "--out", str(tmp_path)]
    assert main(args) == 2
    assert not any(tmp_path.iterdir())
    monkeypatch.setattr("nstr.cli.bench.git_state", lambda: ("abc", False))
    result = CliRunner().invoke(bench_command, ["table1", "--signals", "camera", "--models", "hashgrid", "--seeds",
                                                "2", "--out", str(tmp_path), "--list"])
    assert result.exit_code == 0 and "hashgrid-500k-camera-full-s1" in result.output
    assert "2 cells (2 to run); estimated training time 02:00 (a lower bound" in result.output


def test_load_sampler_samples_while_the_cell_runs():
    with LoadSampler(every=0.05) as load:
        time.sleep(0.2)
    assert len(load.samples) >= 3 and all(v >= 0 for v in load.samples)


def test_cell_load_reads_samples_and_old_records():
    env = {"environment": {"cpus": 2}, "status": "ok"}
    assert cell_load({**env, "load_samples": [1.0, 3.5], "load_before": 0.5}) == 3.5
    assert cell_load({**env, "load_before": 2.5, "load_after": 1.0}) == 2.5  # before samples existed
    # a suite on every core holds the load near the core count by itself: busy only beyond it + 0.5
    assert is_busy({**env, "load_samples": [2.6]}) and not is_busy({**env, "load_samples": [2.4]})
    assert not is_busy({"status": "ok", "load_samples": [50.0]})  # core count unknown
    assert not is_busy({**env, "status": "failed", "load_samples": [5.0]})
    # A step budget reaches the same on a busy machine, only later: not re-run.
    assert not is_busy({**env, "load_samples": [2.6], "fit": {"steps": 300, "max_seconds": None}})
    assert is_busy({**env, "load_samples": [2.6], "fit": {"steps": None, "max_seconds": 30.0}})


class Loaded:
    """An executor whose cells report the loads given per cell id, one attempt after another."""

    name, workers = "loaded", 1

    def __init__(self, loads: dict[str, list[float]]):
        self.loads, self.calls = loads, []

    def run(self, cells):
        for cell in cells:
            self.calls.append(cell.cell_id)
            load = self.loads[cell.cell_id].pop(0)
            yield {"suite": cell.suite, "cell_id": cell.cell_id, "spec": cell.spec(), "status": "ok", "psnr": load,
                   "params": 1, "steps": 1, "train_seconds": 1.0, "load_samples": [load],
                   "environment": {"cpus": 2}, "history": [{"step": 0}]}


def test_a_busy_cell_is_rerun_once_and_both_attempts_are_kept(tmp_path):
    cells = [Cell("s", "siren", "camera", seed, 8, {}, {"max_seconds": 1.0}) for seed in range(3)]
    ids = [c.cell_id for c in cells]
    executor = Loaded({ids[0]: [1.0], ids[1]: [3.0, 1.5], ids[2]: [4.0, 5.0]})
    lines: list[str] = []
    records = run_suite(cells, tmp_path, executor, echo=lines.append, rerun_busy=True)
    assert executor.calls == [*ids, ids[1], ids[2]]  # each busy cell once more, never a third time
    assert [r["load_samples"] for r in records] == [[1.0], [1.5], [5.0]]
    stored = read_record(record_path(tmp_path, cells[1]))
    [first] = stored["busy_attempts"]
    assert first["load_samples"] == [3.0] and "history" not in first
    assert "busy_attempts" not in records[0]
    assert any(line.startswith("re-running 2 cell(s)") for line in lines)
    notes = provenance_notes(records)
    assert any("2 cell(s) were re-run once" in n and "1 of the re-runs were busy again" in n for n in notes)

    again = Loaded({c.cell_id: [9.0] for c in cells})
    run_suite(cells, tmp_path / "off", again)  # the library default: no re-run
    assert again.calls == ids


def _apart(found):
    return [[c] for c in found]


def test_report_marks_mixed_commits_and_dirty_cells():
    records = [{"git_commit": "a" * 40, "git_dirty": False}, {"git_commit": "b" * 40, "git_dirty": True},
               {"git_commit": "b" * 40, "git_dirty": True}]
    notes = provenance_notes(records, grouper=_apart)
    assert notes[0].startswith("**Mixed commits**: this table's cells come from 2 commits (`bbbbbbbbbb` (2 cells), "
                               "`aaaaaaaaaa` (1 cells)) with 2 different codes")
    assert notes[1].startswith("**Dirty**: 2 of 3 cells")
    assert dirty_column(records, grouper=_apart) == {"dirty cells": 2, "commits": "aaaaaaaaaa, bbbbbbbbbb"}
    assert dirty_column(records[:1]) == {} and provenance_notes(records[:1]) == []
    # Commits with the same code: said, not flagged, and no commits column.
    same = provenance_notes(records, grouper=lambda found: [list(found)])
    assert same[0].startswith("This table's cells come from 2 commits") and "same code" in same[0]
    assert dirty_column(records, grouper=lambda found: [list(found)]) == {"dirty cells": 2}


def _on(capability: str | None, cpu: str = "AMD EPYC") -> dict:
    env = {"processor": cpu, "cpus": 2, **({"cpu_capability": capability} if capability else {})}
    return {"git_commit": "a" * 40, "git_dirty": False, "environment": env}


def test_report_marks_a_table_whose_cells_ran_on_different_machines():
    # Same CPU name, different instruction sets: the case that made one session's steps 4x dearer.
    records = [_on("AVX512"), _on("AVX512"), _on("AVX2")]
    [note] = provenance_notes(records, grouper=_apart)
    assert note.startswith("**Mixed machines**: this table's cells ran on 2 machine descriptions (AMD EPYC, 2 "
                           "cores, AVX512 (2 cells); AMD EPYC, 2 cores, AVX2 (1 cells))")
    assert dirty_column(records, grouper=_apart) == {"machines": 2}
    assert provenance_notes(records[:2], grouper=_apart) == [] and dirty_column(records[:2]) == {}
    # A record from before the instruction set was stored cannot be shown to match: it counts as its own.
    assert "ISA not recorded (1 cells)" in provenance_notes([_on(None), _on("AVX2")])[0]


def test_a_machine_is_its_accelerator_cpu_cores_and_instruction_set():
    from nstr.bench.provenance import machine_of

    assert machine_of(_on("AVX2")) == "AMD EPYC, 2 cores, AVX2"
    gpu = {**_on("AVX2"), "device": "cuda", "device_name": "NVIDIA A100"}
    assert machine_of(gpu) == "cuda (NVIDIA A100); AMD EPYC, 2 cores, AVX2"
    assert machine_of({}) == "unknown CPU, ? cores, ISA not recorded"


def test_the_ledger_pairs_cells_only_on_one_machine():
    from nstr.bench.ledger import ledger_rows

    def cell(label, psnr, capability):
        return {**_on(capability), "model": "nstr", "label": label, "signal": "a", "size": 256, "seed": 0,
                "psnr": psnr, "status": "ok"}

    claim = "removing the PDE loss costs PSNR"
    apart = [cell("default", 30.0, "AVX512"), cell("lambda_pde=0.1", 28.0, "AVX2")]
    row = {r["claim"]: r for r in ledger_rows({"ablation": apart}, [])}[claim]
    assert row["verdict"] == "not measured yet" and row["ours"].startswith("no comparable pair: the suite's cells "
                                                                           "ran on 2 machines")
    together = [cell("default", 30.0, "AVX2"), cell("lambda_pde=0.1", 28.0, "AVX2")]
    assert "-2.00 dB" in {r["claim"]: r for r in ledger_rows({"ablation": together}, [])}[claim]["ours"]


def test_cells_with_a_step_budget_compare_across_machines():
    # At equal steps a machine changes how long a cell took, not what it reached: no "Mixed machines" warning,
    # the ledger pairs across machines, and a record without its fit settings still counts as timed.
    from nstr.bench.ledger import ledger_rows
    from nstr.bench.provenance import timed

    def cell(label, psnr, capability, fit):
        return {**_on(capability), "model": "nstr", "label": label, "signal": "a", "size": 256, "seed": 0,
                "psnr": psnr, "status": "ok", "fit": fit}

    steps = {"steps": 300, "max_seconds": None}
    records = [cell("default", 30.0, "AVX512", steps), cell("lambda_pde=0.1", 27.5, "AVX2", steps)]
    [note] = provenance_notes(records, grouper=_apart)
    assert note.startswith("This table's cells ran on 2 machine descriptions") and "step budget" in note
    assert dirty_column(records, grouper=_apart) == {"machines": 2}  # still shown
    row = {r["claim"]: r for r in ledger_rows({"ablation": records}, [])}["removing the PDE loss costs PSNR"]
    assert "-2.50 dB" in row["ours"]
    one_timed = [records[0], cell("lambda_pde=0.1", 27.5, "AVX2", {"steps": None, "max_seconds": 30.0})]
    assert provenance_notes(one_timed, grouper=_apart)[0].startswith("**Mixed machines**")
    assert [timed(r) for r in one_timed] == [False, True] and timed({})


def test_environment_records_the_instruction_set_torch_dispatches_to():
    from nstr.core.machine import environment

    assert environment()["cpu_capability"] == torch.backends.cpu.get_cpu_capability()


def test_the_runner_says_when_done_cells_ran_on_another_machine(tmp_path):
    from nstr.core.machine import environment

    cells = [Cell("s", "siren", "camera", seed, 8, {}, {"max_seconds": 1.0}) for seed in range(3)]
    here = environment()
    Path(tmp_path, "s").mkdir()
    for cell, env in zip(cells[:2], ({**here, "cpu_capability": "AVX512_elsewhere"}, here), strict=True):
        record = {"suite": "s", "cell_id": cell.cell_id, "spec": cell.spec(), "status": "ok", "environment": env}
        record_path(tmp_path, cell).write_text(json.dumps(record))
    lines: list[str] = []
    run_suite(cells, tmp_path, Loaded({cells[2].cell_id: [1.0]}), echo=lines.append)
    [note] = [line for line in lines if line.startswith("note:")]
    assert note.startswith("note: 1 of the 2 done cells ran on another or an unrecorded machine (")
    assert "AVX512_elsewhere (1)" in note
    lines.clear()
    run_suite(cells[1:2], tmp_path, Loaded({}), echo=lines.append)  # done here: nothing to say
    assert not any(line.startswith("note:") for line in lines)
    # Done cells with a step budget reached what they would here: nothing to say either.
    stepped = [Cell("t", "siren", "camera", seed, 8, {}, {"steps": 5, "max_seconds": None}) for seed in range(2)]
    Path(tmp_path, "t").mkdir()
    record = {"suite": "t", "cell_id": stepped[0].cell_id, "spec": stepped[0].spec(), "status": "ok",
              "fit": stepped[0].fit, "environment": {**here, "cpu_capability": "AVX512_elsewhere"}}
    record_path(tmp_path, stepped[0]).write_text(json.dumps(record))
    lines.clear()
    run_suite(stepped, tmp_path, Loaded({stepped[1].cell_id: [1.0]}), echo=lines.append)
    assert not any(line.startswith("note:") for line in lines)


def test_code_groups_compare_the_code_paths_in_a_real_repository(tmp_path):
    def run(*args: str) -> str:
        out = git(*args, repo=tmp_path)
        assert out is not None and out[0] == 0, args
        return out[1].strip()

    def commit(path: str, text: str) -> str:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
        run("add", "-A")
        run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", path)
        return run("rev-parse", "HEAD")

    run("init", "-q")
    first = commit("src/nstr/a.py", "x = 1\n")
    results = commit("benchmarks/results/cell.json", "{}")  # stored results only: the same code
    readme = commit("README.md", "numbers")
    report = commit(REPORT_ONLY[0], "def table(): ...")  # a module that only reads results: the same code
    code = commit("src/nstr/a.py", "x = 2\n")
    build = commit("pyproject.toml", "[project]")
    assert code_groups([first, results[:10], readme, report, code, build, "f" * 40], repo=tmp_path) == [
        [first, results[:10], readme, report], [code], [build], ["f" * 40]]
    # From a subfolder, as the package runs it (pathspecs are relative to the folder git runs in otherwise).
    assert code_groups([first, code], repo=tmp_path / "src" / "nstr") == [[first], [code]]


def test_a_checkout_is_dirty_for_changed_code_not_for_rewritten_results(tmp_path):
    # The runner rewrites a stale cell's tracked record while a suite runs: a worker that reads the checkout's
    # state after that must not mark its cells dirty (it did: 15 compactness cells of one worker).
    from nstr.bench.provenance import RESULTS, git_state

    def run(*args: str) -> None:
        out = git(*args, repo=tmp_path)
        assert out is not None and out[0] == 0, args

    for path in ("src/nstr/a.py", f"{RESULTS}/suite/cell.json", "README.md"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("1")
    run("init", "-q")
    run("add", "-A")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    assert git_state(tmp_path)[1] is False
    (tmp_path / RESULTS / "suite" / "cell.json").write_text("2")
    (tmp_path / RESULTS / "suite" / "new.json").write_text("3")  # untracked: never counted
    assert git_state(tmp_path)[1] is False and git_state(tmp_path / "src" / "nstr")[1] is False
    (tmp_path / "README.md").write_text("2")
    assert git_state(tmp_path)[1] is True and git_state(tmp_path / "src" / "nstr")[1] is True


def test_no_cell_runs_a_report_only_module():
    """What a cell computes never imports the modules REPORT_ONLY excludes from a commit's code."""
    import subprocess
    import sys

    script = ("import sys, nstr.bench.runner, nstr.bench.executors, nstr.cli.fit; "
              "print(' '.join(m for m in sys.modules if m.startswith('nstr.bench.')))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    report_modules = {"nstr.bench." + p.rsplit("/", 1)[1].removesuffix(".py") for p in REPORT_ONLY}
    assert "nstr.bench.runner" in loaded and not report_modules & set(loaded)


# The kodak and lego suites ------------------------------------------------------------------------------------

def test_kodak_cells_are_nstr_and_its_same_table_hash_grid_at_0_3m_under_both_protocols(photos):
    cells = expand("kodak", Overrides(signals=photos))
    # protocols x (NSTR + the hash grid with its table) x images x 3 seeds
    assert len(cells) == 2 * 2 * len(photos) * 3 and {c.seed for c in cells} == {0, 1, 2}
    assert len({c.cell_id for c in cells}) == len(cells)
    timed = [c for c in cells if c.fit["max_seconds"] == 60.0]
    stepped = [c for c in cells if c.fit["steps"] == KODAK_STEPS]
    assert len(timed) == len(stepped) == len(cells) // 2
    assert all(c.fit["steps"] is None for c in timed) and all(c.fit["max_seconds"] is None for c in stepped)
    assert {c.target_params for c in cells} == {300_000} and {c.model for c in cells} == {"nstr", "hashgrid"}
    assert SUITES["kodak"].signals == KODAK
    nstr = next(c for c in timed if c.model == "nstr" and c.signal == photos[0] and c.seed == 0)
    same = next(c for c in timed if c.label == "same-table-300k-60s" and c.signal == photos[0] and c.seed == 0)
    assert nstr.cell_id == "nstr-300k-60s-kodim01-full-s0" and same.model == "hashgrid"
    assert same.options == same_table_options(nstr.options)
    expected = {"log2_table": nstr.options.get("log2_table", 13), "levels": nstr.options.get("levels", 16),
                "base_res": 16, "max_res": 512, "features": 2}
    assert same.options == expected


def test_kodak_models_cells_every_image_model_three_budgets_on_the_pair(photos):
    """kodak-models: each model at 0.1/0.3/1M, 60 s, 3 seeds on kodim05 and kodim23; SIREN and the Fourier MLP
    also with FreSh's scale, NSTR beside its same-table hash grid."""
    from nstr.bench.suites import IMAGE_MODELS, KODAK_PAIR

    assert KODAK_PAIR == (KODAK[4], KODAK[22]) and SUITES["kodak-models"].signals == KODAK_PAIR
    assert SUITES["kodak-models"].models == IMAGE_MODELS
    cells = expand("kodak-models", Overrides(signals=photos[:1], models=("siren", "nstr", "hashgrid")))
    # budgets x (models + same-table + SIREN with FreSh's omega0) x 3 seeds
    assert len(cells) == 3 * (3 + 1 + 1) * 3
    assert {c.target_params for c in cells} == {100_000, 300_000, 1_000_000}
    assert all(c.fit["max_seconds"] == 60.0 and not c.fit.get("steps") for c in cells)
    assert {c.label for c in cells if c.model == "siren"} == {f"{b}{tag}" for b in ("100k", "300k", "1M")
                                                              for tag in ("", "+fresh")}
    one = expand("kodak-models", Overrides(signals=photos[:1], models=("siren",), steps=7, seeds=1))
    assert [c.cell_id for c in one] == [f"siren-{b}{tag}-kodim01-full-s0" for tag in ("", "_fresh")
                                        for b in ("100k", "300k", "1M")]
    assert all(c.fit["steps"] == 7 for c in one)


def test_budgets_override_replaces_the_suites_parameter_targets(photos, tmp_path):
    """--budgets 300k: every model (and NSTR's same-table hash grid) at that one budget only; bad values and
    suites of named configurations are one-line errors."""
    cells = expand("kodak-models", Overrides(signals=photos[:1], models=("nstr",), seeds=1, budgets=(300_000,)))
    assert sorted(c.cell_id for c in cells) == ["hashgrid-same-table-300k-kodim01-full-s0",
                                                "nstr-300k-kodim01-full-s0"]
    with pytest.raises(NstrError, match="not parameter budgets"):
        expand("ablation", Overrides(budgets=(300_000,)))
    from nstr.cli.bench import _budgets

    assert _budgets("300k,1M,25000") == (300_000, 1_000_000, 25_000)
    for bad, message in (("3x", "parameter counts like"), ("0", "must be positive")):
        result = CliRunner().invoke(bench_command, ["budget", "--budgets", bad, "--out", str(tmp_path), "--list"])
        assert isinstance(result.exception, NstrError) and message in str(result.exception)


def test_kodak_images_option_maps_names_to_the_data_folder():
    assert kodak_signals(("kodim05", "kodim01")) == (KODAK[4], KODAK[0])
    assert KODAK[23].endswith("../shared/data/kodak/kodim24.png") and len(KODAK) == 24
    with pytest.raises(NstrError, match="unknown Kodak image 'kodim25'"):
        kodak_signals(("kodim25",))
    with pytest.raises(NstrError, match="names 'kodim01' twice"):
        kodak_signals(("kodim01", "kodim01"))


def test_images_option_belongs_to_the_suites_on_kodak():
    """--images chooses Kodak photographs in any suite whose signals are all Kodak (kodak, kodak-models,
    compactness, directions), and exists in no other."""
    with_images = {name for name in SUITES
                   if any(p.name == "images" for p in bench_command.get_command(None, name).params)}
    assert with_images == {"kodak", "kodak-models", "compactness", "directions"}


@pytest.mark.parametrize("args, message", [
    (["--images", "kodim01", "--signals", "camera"], "not both"),
    (["--images", "nope"], "unknown Kodak image 'nope'"),
])
def test_kodak_bad_images_are_one_line_errors(tmp_path, args, message):
    result = CliRunner().invoke(bench_command, ["kodak", *args, "--out", str(tmp_path)])
    assert isinstance(result.exception, NstrError) and message in str(result.exception)
    assert not any(tmp_path.iterdir())


def test_lego_cells_each_field_at_both_resolutions(tmp_path):

    lego = SUITES["lego"]
    labels = [v.label for v in lego.variants]
    assert len(labels) == 12 and "nstr,100px" in labels and "hashgrid-small,200px" in labels
    assert {v.signal_options["downscale"] for v in lego.variants} == {1, 2}
    assert lego.seeds >= 2 and lego.signals == ("../shared/data/nerf/lego",)
    cells = expand("lego", Overrides(signals=("tests/data/lego",), models=("nerf-triplane",), seeds=2))
    assert [c.cell_id for c in cells] == [f"nerf-triplane-triplane_{s}px-lego-full-s{k}"
                                          for s in (100, 200) for k in (0, 1)]
    assert [c.signal_options for c in cells] == [{"downscale": 2}] * 2 + [{"downscale": 1}] * 2


def test_estimate_adds_time_budgets_and_measured_steps():
    cells = [Cell("s", "siren", "camera", 0, 8, {}, {"max_seconds": 60.0, "steps": None}),
             Cell("s", "siren", "camera", 1, 8, {}, {"steps": 100, "max_seconds": None, "batch_size": 64}),
             Cell("s", "siren", "camera", 2, 8, {}, {"steps": 100, "max_seconds": None, "batch_size": 64}),
             Cell("s", "ffn", "camera", 0, 8, {}, {"steps": 10, "max_seconds": None, "batch_size": 64})]
    timed = []

    def timer(cell):
        timed.append(cell.model)
        return 0.5 if cell.model == "siren" else None

    assert estimate_seconds(cells, workers=2, timer=timer) == ((60 + 50 + 50) / 2, 1)
    assert timed == ["siren", "ffn"]  # once per configuration


# The report's kodak and lego parts ------------------------------------------------------------------------------

def _kodak_record(model, label, image, psnr, protocol, params):
    fit = {"max_seconds": 60.0, "steps": None} if protocol == "60s" else {"steps": 300, "max_seconds": None}
    return {"suite": "kodak", "cell_id": f"{model}-{label}-{protocol}-{image}", "status": "ok", "model": model,
            "label": f"{label}-{protocol}", "target_params": params, "signal": f"../shared/data/kodak/{image}.png",
            "size": None, "seed": 0, "fit": fit, "params": params, "psnr": psnr, "ssim": psnr / 100, "steps": 10,
            "train_seconds": 60.0, "seconds_per_step": 0.1, "git_commit": "c" * 40, "git_dirty": False,
            "history": [{"step": 0, "seconds": 0.0, "psnr": 10.0}, {"step": 10, "seconds": 60.0, "psnr": psnr}]}


def test_kodak_report_has_per_image_tables_plots_and_the_anchors(tmp_path):
    results = tmp_path / "benchmarks" / "results"
    (results / "kodak").mkdir(parents=True)
    for protocol in ("60s", "300steps"):
        for image, shift in (("kodim01", 0.0), ("kodim02", 2.0)):
            for model, label, psnr, params in (("siren", "100k", 25.0, 100_000), ("siren", "1M", 27.0, 1_000_000),
                                               ("hashgrid", "same-table-100k", 30.0, 95_000)):
                record = _kodak_record(model, label, image, psnr + shift, protocol, params)
                (results / "kodak" / f"{record['cell_id']}.json").write_text(json.dumps(record))
    text = write_report(results, tmp_path / "BENCHMARKS.md").read_text()
    assert "PSNR (dB) per image at 60 s" in text and "SSIM per image at 300 steps" in text
    assert "| siren 100k | 25.00 | 27.00 | 26.00 |" in text  # kodim01, kodim02, mean
    assert "| hashgrid same-table-100k | 30.00 | 32.00 | 31.00 |" in text
    assert "**Not the same measurement**" in text and "| GaussianImage | Kodak, 24 images | 44.1 dB | GPU |" in text
    assert "PSNR (dB) per signal" not in text  # the per-image tables replace it
    plots = sorted(p.name for p in (tmp_path / "benchmarks" / "plots").glob("kodak*.png"))
    assert plots == ["kodak_psnr_params.png", "kodak_psnr_time.png"]
    assert "Mixed commits" not in text


def test_per_image_table_averages_seeds_then_images():
    records = [_kodak_record("siren", "1M", image, psnr, "60s", 1) | {"seed": seed}
               for image, seed, psnr in (("kodim01", 0, 20.0), ("kodim01", 1, 22.0), ("kodim02", 0, 30.0))]
    assert per_image_table(records, "psnr", 2) == [{"model": "siren 1M", "kodim01": "21.00", "kodim02": "30.00",
                                                    "mean": "25.50"}]


def test_lego_reach_row_times_to_25_and_28_db():
    def rec(seed, history, psnr):
        return {"model": "nerf-nstr", "label": "nstr,100px", "seed": seed, "params": 1000, "psnr": psnr,
                "ssim": 0.9, "history": [{"seconds": s, "psnr": p} for s, p in history]}

    members = [rec(0, [(0, 10), (40, 25.5), (90, 28.2)], 28.0), rec(1, [(0, 10), (60, 26.0), (300, 27.0)], 27.0)]
    row = reach_row("nstr,100px", members)
    assert row["to 25 dB (s)"] == "50 (2/2)" and row["to 28 dB (s)"] == "90 (1/2)"
    assert row["test PSNR (dB)"] == "27.50 ± 0.71" and row["seeds"] == 2
    assert reach_row("x", members[1:])["to 28 dB (s)"] == "never (0/1)"


def test_lego_report_lists_times_and_anchors(tmp_path):
    results = tmp_path / "results"
    (results / "lego").mkdir(parents=True)
    record = {"suite": "lego", "cell_id": "a", "status": "ok", "model": "nerf-nstr", "label": "nstr,100px",
              "signal": "../shared/data/nerf/lego", "size": None, "seed": 0, "fit": {"max_seconds": 300.0},
              "params": 900_000, "psnr": 27.0, "ssim": 0.95, "steps": 10, "train_seconds": 300.0,
              "history": [{"seconds": 100.0, "psnr": 25.2}], "git_commit": "d" * 40}
    (results / "lego" / "a.json").write_text(json.dumps(record))
    text = write_report(results, tmp_path / "B.md").read_text()
    assert "| nstr,100px (300 s) | 900,000 | 1 | 27.00 | 0.9500 | 100 (1/1) | never (0/1) |" in text
    assert "| Instant-NGP | lego, 800 x 800, public test split | about 35-36 dB | RTX 3090 |" in text
    assert "Not the same measurement" in text


@pytest.mark.slow
def test_kodak_quick_wiring_end_to_end(tmp_path, photos, monkeypatch):
    """`nstr bench kodak --quick` on a tiny photograph: NSTR and its same-table grid run, the report renders."""
    monkeypatch.setattr(provenance, "LOAD_EVERY", 0.5)
    out = tmp_path / "results"
    result = CliRunner().invoke(bench_command, ["kodak", "--quick", "--signals", photos[0], "--models", "nstr",
                                                "--out", str(out), "--no-rerun-busy", "--max-seconds", "1"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "cells (2 to run); estimated training time 00:02" in result.output
    records = [json.loads(p.read_text()) for p in sorted((out / "kodak-quick").glob("*.json"))]
    assert len(records) == 2 and all(r["status"] == "ok" and r["load_samples"] for r in records)
    assert {r["model"] for r in records} == {"nstr", "hashgrid"}
    text = write_report(out, tmp_path / "B.md").read_text()
    assert "## Suite `kodak-quick`" in text and "Not the same measurement" in text


def test_directions_suite_compares_each_switch_with_the_same_table_hash_grid(photos):
    """Issue 17's directions: Kodak at NSTR's 0.3M table, 3 seeds, 60 s; the hash grids have exactly the table of
    the NSTR they face (same_table_options), and every NSTR variant keeps that table."""
    from nstr.bench.suites import DIRECTIONS_TABLE, DIRECTIONS_VARIANTS, SUITES

    assert SUITES["directions"].signals == tuple(f"{KODAK_DIR}/{name}.png" for name in ("kodim05", "kodim23"))
    cells = expand("directions", Overrides(signals=photos))
    assert {c.seed for c in cells} == {0, 1, 2} and all(c.fit["max_seconds"] == 60.0 for c in cells)
    variants = {v.label: v for v in DIRECTIONS_VARIANTS}
    assert variants["hashgrid-same-table"].options == same_table_options(variants["default"].options)
    assert variants["hashgrid-same-table,max_res=2048"].options == same_table_options(
        variants["max_res=2048"].options)
    assert all(v.options["log2_table"] == DIRECTIONS_TABLE["log2_table"] for v in DIRECTIONS_VARIANTS)
    assert len(cells) == 3 * 2 * len(DIRECTIONS_VARIANTS)


#: Suites that declare fewer seeds than the rule, with the reason (each is a debt, not a design).
FEWER_SEEDS = {
    "quick": "a wiring check, not evidence",
}


def test_every_suite_declares_the_seeds_evidence_needs():
    """Issue 21: at least 3 seeds per cell (2 for radiance fields), the suite's and each variant's own."""
    for name, suite in SUITES.items():
        if name in FEWER_SEEDS:
            continue
        need = 2 if name.removesuffix("-steps") in ("nerf", "lego") else 3  # and their equal-steps twins
        declared = [suite.seeds] + [v.seeds for v in suite.variants if v.seeds is not None]
        assert min(declared) >= need, f"{name} declares {min(declared)} seed(s), needs {need}"


def test_compactness_suite_is_equal_steps_over_five_budgets_with_table1s_among_them(photos):
    """Every model at 25k-1M (the MLPs' largest point at Table 1's 1.2M, the hash grid also at Table 1's 0.5M), 300
    steps of 8,192 pixels for every model (the 2-D Gaussians too) and no time limit, 3 seeds: PSNR-parameter curves
    in which step cost plays no part, and table1's pairs at equal steps."""
    from nstr.bench.suites import COMPACTNESS_BATCH, COMPACTNESS_STEPS

    cells = expand("compactness", Overrides(signals=photos))
    budgets = {m: sorted({c.target_params for c in cells if c.model == m})
               for m in ("siren", "ffn", "hashgrid", "nstr", "gaussians")}
    assert {c.model for c in cells} == set(budgets)
    assert budgets["nstr"] == budgets["gaussians"] == [25_000, 50_000, 100_000, 300_000, 1_000_000]
    assert budgets["siren"] == budgets["ffn"] == [25_000, 50_000, 100_000, 300_000, 1_200_000]
    assert budgets["hashgrid"] == [25_000, 50_000, 100_000, 300_000, 500_000, 1_000_000]
    assert all(c.fit["steps"] == COMPACTNESS_STEPS and c.fit["max_seconds"] is None
               and c.fit["batch_size"] == COMPACTNESS_BATCH for c in cells)
    assert {c.seed for c in cells} == {0, 1, 2} and len(cells) == (5 * 5 + 1) * 2 * 3
