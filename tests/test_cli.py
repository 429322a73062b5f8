"""The nstr command end to end: fit, render, info, resume, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from nstr.cli.main import main
from nstr.core.png import decode_png, encode_png


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
        (["fit", "astronaut", "--model", "ffn", "--omega0", "3", "--steps", "3"], "do not apply"),
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
    assert main(["fit", "../shared/data/audio/speech_front_center.wav", "--noise", "0.1", "--steps", "1",
                 "--out", str(tmp_path / "audio")]) == 2
    assert not (tmp_path / "audio").exists()
