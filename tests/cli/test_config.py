"""`nstr fit --config`: a finished run fitted again exactly, overrides, hand-written files, bad files; and where fit
settings come from (command line > config file > model > kind > FitSettings), as `--help` shows them."""

from __future__ import annotations

import json

import pytest

from nstr.bench.suites import expand
from nstr.cli.main import main
from nstr.core.png import encode_png
from nstr.models import SIREN
from nstr.signals import Audio, Image


def _json(path):
    return json.loads(path.read_text())


def _untimed(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


@pytest.fixture(scope="module")
def source(tmp_path_factory, astronaut48):
    path = tmp_path_factory.mktemp("data") / "small.png"
    path.write_bytes(encode_png(astronaut48))
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory, source):
    """A finished step-budget run (minibatches, a seed, a model option)."""
    out = tmp_path_factory.mktemp("runs") / "first"
    assert main(["fit", str(source), "--model", "siren", "--hidden", "32", "--layers", "1", "--omega0", "20",
                 "--steps", "30", "--eval-every", "10", "--batch-size", "512", "--seed", "3", "--out", str(out),
                 "--quiet"]) == 0
    return out


def test_the_config_of_a_finished_run_reproduces_its_numbers_exactly(finished, tmp_path):
    before = (finished / "metrics.json").read_bytes()
    again = tmp_path / "again"
    assert main(["fit", "--config", str(finished / "config.json"), "--out", str(again), "--quiet"]) == 0
    first, second = _json(finished / "metrics.json"), _json(again / "metrics.json")
    for key in ("psnr", "ssim", "steps", "best_step", "params"):
        assert second[key] == first[key], key
    assert _untimed(second["history"]) == _untimed(first["history"])
    old, new = _json(finished / "config.json"), _json(again / "config.json")
    assert new["signal"] == old["signal"] and new["model"] == old["model"] and new["fit"] == old["fit"]
    assert new["config_file"] == str((finished / "config.json").resolve())
    assert (finished / "metrics.json").read_bytes() == before  # the original run is untouched


def test_an_override_changes_only_that_option_and_a_new_folder_is_chosen(finished, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "--config", str(finished / "config.json"), "--seed", "4", "--omega0", "25", "--quiet"]) == 0
    made = list((tmp_path / "runs").iterdir())  # no --out: a new folder named as fit names its own
    assert len(made) == 1 and made[0].name.startswith("small-siren-") and (made[0] / "metrics.json").is_file()
    old, new = _json(finished / "config.json"), _json(made[0] / "config.json")
    assert {k for k in old["fit"] if old["fit"][k] != new["fit"][k]} == {"seed"} and new["fit"]["seed"] == 4
    changed = {k for k in old["model"]["options"] if old["model"]["options"][k] != new["model"]["options"][k]}
    assert changed == {"omega0"} and new["model"]["options"]["omega0"] == 25.0
    assert new["signal"] == old["signal"]


def test_the_run_repeated_is_never_the_output(finished, capsys):
    before = sorted(p.name for p in finished.iterdir())
    assert main(["fit", "--config", str(finished / "config.json"), "--out", str(finished), "--overwrite",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is the folder of the config file" in err
    assert sorted(p.name for p in finished.iterdir()) == before


def test_a_hand_written_yaml_gives_some_keys_and_the_rest_are_defaults(source, tmp_path):
    config = tmp_path / "fit.yaml"
    config.write_text(f"signal: {{source: {source.name}}}\nmodel: {{name: siren, options: {{hidden: 32, layers: 1}}}}\n"
                      "fit: {steps: 5, lr: 1e-4}\n")
    (tmp_path / source.name).write_bytes(source.read_bytes())  # beside the config: read from its folder
    out = tmp_path / "run"
    assert main(["fit", "--config", str(config), "--out", str(out), "--quiet"]) == 0
    written = _json(out / "config.json")
    assert written["fit"]["steps"] == 5 and written["fit"]["lr"] == 1e-4 and written["fit"]["max_seconds"] is None
    assert written["fit"]["batch_size"] == 1 << 16 and written["fit"]["seed"] == 0
    assert written["model"]["name"] == "siren" and written["model"]["options"]["hidden"] == 32
    assert written["model"]["options"]["omega0"] == 30.0 and written["signal"]["source"] == str(tmp_path / source.name)


def test_a_settings_file_with_a_signal_on_the_command_line(source, tmp_path, capsys):
    preset = tmp_path / "preset.json"
    preset.write_text(json.dumps({"model": {"name": "siren", "options": {"hidden": 16, "layers": 1}},
                                  "fit": {"steps": 3, "eval_every": 3}}))
    out = tmp_path / "run"
    assert main(["fit", str(source), "--config", str(preset), "--out", str(out), "--quiet"]) == 0
    written = _json(out / "config.json")
    assert written["model"]["options"]["hidden"] == 16 and written["fit"]["steps"] == 3
    assert "[16: config file]" in _help(["fit", str(source), "--config", str(preset)], capsys)
    # another model on the command line: the file's siren options do not apply to it, its settings do
    text = _help(["fit", str(source), "--config", str(preset), "--model", "ffn"], capsys)
    assert "config file]" not in text and "--steps INTEGER optimiser steps (reproducible budget) [3]" in text


@pytest.mark.parametrize("name,text,phrase", [
    ("bad.json", "{not json", "is not valid JSON"),
    ("bad.yaml", "fit: [1, 2", "is not valid YAML"),
    ("bad.yaml", "[1, 2]", "must be a mapping"),
    ("bad.yaml", "fitt: {steps: 3}", "unknown key(s) fitt"),
    ("bad.yaml", "signal: camera\nfit: {steps: many}", "steps must be int or null"),
    ("bad.yaml", "signal: camera\nfit: {steps: -3}", "--steps must be a positive integer"),
    ("bad.yaml", "signal: camera\nmodel: {name: siren, options: {omega: 3}}", "unknown key(s) omega"),
    ("bad.yaml", "signal: camera\nmodel: nosuchmodel", "unknown model 'nosuchmodel'"),
    ("bad.yaml", "signal: {source: camera, nois: 0.1}", "unknown key(s) nois"),
    ("bad.yaml", "signal: missing.png", "not found"),
    ("bad.yaml", "model: siren", "give a SIGNAL to fit"),
    ("bad.txt", "signal: camera", "must be .json"),
    ("absent.yaml", None, "config file"),
])
def test_bad_config_files_are_one_line_errors_and_leave_no_run_dir(tmp_path, capsys, name, text, phrase):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    out = tmp_path / "run"
    assert main(["fit", "--config", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert phrase in err and err.count("\n") == 1
    assert not out.exists()


def test_resume_takes_no_config(finished, capsys):
    assert main(["fit", "--resume", str(finished), "--config", str(finished / "config.json")]) == 2
    assert "--resume takes the run directory only" in capsys.readouterr().err


def _help(args, capsys) -> str:
    assert main([*args, "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())


def test_fit_settings_first_match_wins_and_help_shows_what_applies(source, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(Image, "fit_defaults", {"batch_size": 111, "eval_every": 7})
    monkeypatch.setattr(SIREN, "fit_defaults", {"batch_size": 222})
    args = ["fit", str(source), "--model", "siren", "--hidden", "8", "--layers", "1", "--steps", "7", "--quiet"]
    text = _help(args, capsys)
    assert "--batch-size INTEGER coordinates per step; 0 = all (scenes: see --rays) [222]" in text  # the model's
    assert "--eval-every INTEGER evaluate every N steps [7]" in text  # the kind's
    assert "--lr FLOAT Adam learning rate [the model's, 0.0001]" in text and "--holdout FLOAT" in text
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    fit = _json(tmp_path / "a" / "config.json")["fit"]
    assert (fit["batch_size"], fit["eval_every"], fit["holdout"]) == (222, 7, 0.0)

    config = tmp_path / "file.yaml"
    config.write_text("fit: {batch_size: 333}\nmodel: {name: siren, options: {hidden: 12}}\n")
    with_file = [*args, "--config", str(config)]
    text = _help(with_file, capsys)
    assert "[333]" in text and "[7]" in text and "[12: config file]" in text  # the file's over the model's
    assert main([*with_file, "--batch-size", "444", "--out", str(tmp_path / "b")]) == 0
    written = _json(tmp_path / "b" / "config.json")
    assert written["fit"]["batch_size"] == 444 and written["model"]["options"]["hidden"] == 8  # the command line's


def test_a_budget_from_anywhere_replaces_the_default_60_seconds(source, capsys, tmp_path):
    assert "--max-seconds FLOAT" in (text := _help(["fit", str(source)], capsys)) and "[60]" in text
    assert "--steps INTEGER optimiser steps (reproducible budget) [none]" in text
    config = tmp_path / "steps.yaml"
    config.write_text("fit: {steps: 9}")
    text = _help(["fit", str(source), "--config", str(config)], capsys)
    assert "[9]" in text and "training wall-clock budget in seconds (60 when no budget is given) [none]" in text


def test_audio_gets_its_minibatch_from_the_kind(capsys):
    batch = Audio.fit_defaults["batch_size"]
    text = _help(["fit", "chirp", "--model", "hashgrid"], capsys)
    assert f"--batch-size INTEGER coordinates per step; 0 = all (scenes: see --rays) [{batch}]" in text


def test_bench_cells_take_the_kind_defaults_under_the_suites_settings(monkeypatch):
    monkeypatch.setattr(Image, "fit_defaults", {"batch_size": 7, "lr_final": 0.5})
    cells = expand("quick")
    assert cells and all(c.fit["batch_size"] == 0 and c.fit["lr_final"] == 0.5 for c in cells)  # the suite's batch


def test_an_image_fit_gets_nstrs_image_settings_and_the_command_line_wins(source, tmp_path):
    out = tmp_path / "nstr"
    assert main(["fit", str(source), "--model", "nstr", "--compose", "vector", "--levels", "2", "--log2-table", "8",
                 "--steps", "2", "--out", str(out), "--quiet"]) == 0
    options = _json(out / "config.json")["model"]["options"]
    assert options["compose"] == "vector"  # given on the command line
    assert {k: options[k] for k in ("spectral_layers", "basis_init", "decoder_layers")} == {
        "spectral_layers": 0, "basis_init": "spectrum", "decoder_layers": 1}  # the image kind's
    assert Image("camera").model_defaults("siren") == {}


def test_suites_of_switches_start_from_the_models_own_defaults():
    budget = [c for c in expand("budget") if c.model == "nstr"]
    assert budget and all(c.options["compose"] == "phase" and c.options["basis_init"] == "spectrum" for c in budget)
    reference = [c for c in expand("ablation") if c.label == "default"]  # directions does the same (on Kodak)
    assert reference and all("compose" not in c.options and "basis_init" not in c.options for c in reference)
