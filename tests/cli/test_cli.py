"""The nstr command end to end: fit, render, info, resume, and one-line errors for bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest
import trimesh

from nstr.cli.main import main
from nstr.core.png import decode_png, encode_png
from nstr.models import model_class
from nstr.signals import SDF, Image


@pytest.fixture()
def small_png(tmp_path, astronaut48):
    path = tmp_path / "small.png"
    path.write_bytes(encode_png(astronaut48))
    return path


def _fit_args(source, out, *extra):
    return ["fit", str(source), "--model", "siren", "--hidden", "32", "--layers", "1", "--steps", "30",
            "--eval-every", "10", "--out", str(out), "--quiet", *extra]


def test_fit_writes_complete_run_directory(tmp_path, small_png, capsys):
    out = tmp_path / "run"
    assert main(_fit_args(small_png, out, "--holdout", "0.1")) == 0
    for name in ("config.json", "metrics.json", "recon.png", "error.png", "curve.png", "model.safetensors"):
        assert (out / name).is_file(), name
    recon = decode_png((out / "recon.png").read_bytes())
    assert recon.shape == (48, 48, 3) and recon.dtype == np.uint8
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("psnr", "ssim", "params", "steps", "train_seconds", "seconds_per_step", "history", "psnr_holdout"):
        assert key in metrics
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["options"]["hidden"] == 32 and config["fit"]["holdout"] == 0.1
    assert config["fit"]["batch_size"] == 1 << 16  # no --batch-size: the model's default, recorded
    assert "psnr" in capsys.readouterr().out

    assert main(["render", str(out), str(tmp_path / "big.png"), "--size", "96x64"]) == 0
    big = decode_png((tmp_path / "big.png").read_bytes())
    assert big.shape == (64, 96, 3) and big.dtype == np.uint8
    assert main(["info", str(out)]) == 0
    assert "siren" in capsys.readouterr().out


def test_existing_output_is_never_overwritten_without_flag(tmp_path, small_png, capsys):
    out = tmp_path / "run"
    assert main(_fit_args(small_png, out)) == 0
    before = (out / "metrics.json").read_bytes()
    assert main(_fit_args(small_png, out, "--seed", "9")) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "metrics.json").read_bytes() == before
    assert main(["render", str(out), str(out / "recon.png")]) == 2
    assert main(_fit_args(small_png, out, "--seed", "9", "--overwrite")) == 0
    assert (out / "metrics.json").read_bytes() != before


def test_cli_resume_continues_to_budget(tmp_path, small_png):
    out = tmp_path / "run"
    assert main(_fit_args(small_png, out, "--checkpoint-every", "10")) == 0
    assert main(["fit", "--resume", str(out)]) == 2  # finished runs have nothing to resume


@pytest.mark.parametrize(
    "args, phrase",
    [
        (["fit", "missing.png", "--steps", "3"], "not found"),
        (["fit", "astronaut", "--model", "nope", "--steps", "3"], "unknown model"),
        (["fit", "astronaut", "--steps", "-4"], "--steps"),
        (["fit", "astronaut", "--steps", "3", "--lr", "inf"], "--lr"),
        (["fit", "astronaut", "--steps", "abc"], "--steps"),
        (["fit", "astronaut", "--model", "ffn", "--omega0", "3", "--steps", "3"],
         "option --omega0 does not apply to model 'ffn'"),
        (["fit", "astronaut", "--model", "siren", "--sdf-loss", "siren", "--steps", "3"],
         "--sdf-loss applies to mesh files (.obj .off .ply .stl .glb) only (this signal is read as image)"),
        (["fit", "astronaut", "--model", "siren", "--sigma", "3", "--steps", "3"],
         "option --sigma does not apply to model 'siren' (see nstr models)"),
        (["fit", "astronaut", "--model", "siren", "--no-basis-learnable", "--steps", "3"],
         "--no-basis-learnable does not apply to model 'siren'"),
        (["fit", "astronaut", "--rays", "64", "--steps", "3"], "--rays applies to scene folders"),
        (["fit", "--noise", "0.1", "--steps", "3"], "--noise applies to images only"),
        (["fit", "astronaut", "--siren-size", "3"], "No such option"),
        (["render", "no-such-run", "x.png"], "not found"),
    ],
)
def test_bad_input_one_line_exit_2_no_run_dir(tmp_path, monkeypatch, capsys, args, phrase):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert phrase in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_bad_file_through_real_process_has_no_traceback(tmp_path):
    (tmp_path / "fake.png").write_text("hello")
    proc = subprocess.run([sys.executable, "-m", "nstr.cli.main", "fit", "fake.png", "--steps", "2"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_fit_with_fresh_selection_records_choice(tmp_path, small_png):
    out = tmp_path / "run"
    args = _fit_args(small_png, out, "--fresh", "omega0=10,30,90")
    assert main(args) == 0
    config = json.loads((out / "config.json").read_text())
    chosen = config["fresh"]["best"]
    assert chosen in (10.0, 30.0, 90.0)
    assert config["model"]["options"]["omega0"] == chosen
    assert len(config["fresh"]["candidates"]) == 3


def test_fresh_syntax_error_is_caught_before_loading(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "missing.png", "--fresh", "omega0", "--steps", "3"]) == 2
    assert "PARAM=VALUES" in capsys.readouterr().err


def test_fit_with_noise_scores_the_clean_image(tmp_path):
    from nstr.cli.main import main

    out = tmp_path / "run"
    assert main(["fit", "camera", "--resize", "32x32", "--model", "siren", "--steps", "5", "--noise", "0.2",
                 "--out", str(out), "-q"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["psnr"] > metrics["psnr_noisy_target"]  # the noise adds its variance to the error
    config = json.loads((out / "config.json").read_text())
    assert config["signal"]["noise"] == 0.2
    speech = Path(__file__).parents[1] / "data" / "speech_front_center.wav"
    assert main(["fit", str(speech), "--noise", "0.1", "--steps", "1", "--out", str(tmp_path / "audio")]) == 2
    assert not (tmp_path / "audio").exists()


# -- options generated from the signal kind's and the model's config ------------------------------------------
def _help(capsys, *args):
    assert main(["fit", *args, "--help"]) == 0
    return capsys.readouterr().out


def _listed(text):
    """The flags a help text lists (the first word of each option line)."""
    return set(re.findall(r"^ {2}(--[a-z0-9-]+)", text, re.MULTILINE))


def test_fit_help_shows_only_the_options_of_the_kind_and_model(tmp_path, capsys):
    listed = _listed(_help(capsys, "astronaut", "--model", "siren"))
    assert {"--omega0", "--noise", "--resize", "--steps", "--model"} <= listed
    assert not {"--sdf-loss", "--sigma", "--rays", "--downscale", "--log2-table"} & listed
    trimesh.creation.icosphere(subdivisions=1).export(tmp_path / "ball.stl")
    text = _help(capsys, str(tmp_path / "ball.stl"), "--model", "hashgrid")
    assert "--sdf-loss [sdf|siren]" in text and {"--samples", "--log2-table"} <= _listed(text)
    assert not {"--noise", "--omega0", "--rays"} & _listed(text)
    text = _help(capsys, "--model", "siren")  # no signal: the common options and where to find the others
    assert "--steps" in _listed(text) and "--omega0" not in _listed(text)
    assert "nstr fit SIGNAL --model M --help" in " ".join(text.split())


def test_options_shared_by_models_keep_each_models_type_and_default(capsys):
    for name in ("hashgrid", "nstr", "dinr"):
        default = model_class(name).Config().log2_table
        assert f"[{default}]" in _help(capsys, "astronaut", "--model", name).split("--log2-table", 1)[1][:200]
    assert "--basis-learnable / --no-basis-learnable" in _help(capsys, "astronaut", "--model", "nstr")


def test_foreign_option_is_one_line_exit_2_and_no_run_dir(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["fit", "astronaut", "--model", "siren", "--sdf-loss", "siren", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == ("nstr: error: --sdf-loss applies to mesh files (.obj .off .ply .stl .glb) only "
                   "(this signal is read as image)\n")
    assert main(["fit", "astronaut", "--model", "siren", "--sigma=3", "--out", str(out)]) == 2
    assert capsys.readouterr().err == "nstr: error: option --sigma does not apply to model 'siren' (see nstr models)\n"
    assert not out.exists()


def test_signal_configs_round_trip_through_spec(tmp_path):
    image = Image("camera", resize="24x16", noise=0.1, noise_seed=3)
    assert image.config == Image.Config(resize=(16, 24), noise=0.1, noise_seed=3) and image.shape == (16, 24)
    spec = json.loads(json.dumps(image.spec()))  # as config.json holds it
    assert Image.from_spec(spec, None).config == image.config
    old = {k: v for k, v in spec.items() if k not in ("noise", "noise_seed")}  # a run from before these options
    assert Image.from_spec(old, None).config == Image.Config(resize=(16, 24))
    trimesh.creation.icosphere(subdivisions=2).export(tmp_path / "ball.obj")
    shape = SDF(tmp_path / "ball.obj", loss="siren", samples=512, pool=5000, eval_samples=500, metric_samples=1000)
    again = SDF.from_spec(json.loads(json.dumps(shape.spec())), None)
    assert again.config == shape.config and again.config.loss == "siren" and again.samples == 512
    with pytest.raises(FrozenInstanceError):
        shape.config.samples = 4
