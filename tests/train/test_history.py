"""history.jsonl: one line per evaluation, on disk as the fit goes, kept by a killed fit, continued by a resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch

import nstr
from nstr.core.png import encode_png
from nstr.models import build_model
from nstr.signals import Image
from nstr.train.fit import FitSettings
from nstr.train.history import HISTORY, read_history

SETTINGS = FitSettings(steps=60, batch_size=512, eval_every=10, checkpoint_every=20, lr=1e-3)


def _siren(image):
    torch.manual_seed(0)
    return build_model("siren", image.in_dim, image.out_dim, hidden=32, layers=2)


def _untimed(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def test_each_evaluation_is_on_disk_before_the_fit_goes_on(tmp_path, camera64):
    image, out = Image(camera64), tmp_path / "run"
    seen = []
    result = nstr.fit(image, _siren(image), SETTINGS, out=out, quiet=True,
                      callback=lambda step, record: seen.append(read_history(out / HISTORY)))
    assert [[r["step"] for r in lines] for lines in seen] == [list(range(0, s + 1, 10)) for s in range(10, 61, 10)]
    lines = read_history(out / HISTORY)
    assert lines == result.history == json.loads((out / "metrics.json").read_text())["history"]
    assert set(lines[-1]) == {"step", "seconds", "lr", "loss", "task", "psnr"}
    assert lines[0]["lr"] == pytest.approx(1e-3) and lines[-1]["lr"] < 1e-4  # the cosine schedule's last rate


def test_a_crashed_fit_keeps_its_lines_and_the_resume_ends_as_an_uninterrupted_fit(tmp_path, camera64):
    image = Image(camera64)
    whole = nstr.fit(image, _siren(image), SETTINGS, quiet=True)
    out = tmp_path / "run"

    def crash(step, record):
        if step == 50:  # no checkpoint at 50, as after a kill -9: the last one is at step 40
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        nstr.fit(image, _siren(image), SETTINGS, out=out, quiet=True, callback=crash)
    assert [r["step"] for r in read_history(out / HISTORY)] == [0, 10, 20, 30, 40, 50]
    resumed = nstr.resume(out, quiet=True)
    assert resumed.metrics["resumed_from_step"] == 40
    lines = read_history(out / HISTORY)
    assert [r["step"] for r in lines] == [0, 10, 20, 30, 40, 50, 60]  # the line of step 50 was replaced, not repeated
    assert _untimed(lines) == _untimed(whole.history)


def test_an_interrupted_fit_keeps_its_lines_up_to_the_interrupt(tmp_path, camera64):
    image, out = Image(camera64), tmp_path / "run"

    def interrupt(step, record):
        if step == 30:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        nstr.fit(image, _siren(image), SETTINGS, out=out, quiet=True, callback=interrupt)
    assert [r["step"] for r in read_history(out / HISTORY)] == [0, 10, 20, 30]
    assert (out / "checkpoint.pt").is_file()  # resumed from step 30, it rewrites the same lines (test above)


def test_a_line_cut_short_by_a_kill_is_left_out(tmp_path):
    path = tmp_path / HISTORY
    path.write_text('{"step": 0, "psnr": 10.5}\n{"step": 10, "psnr": NaN}\n{"step": 20, "ps')
    assert [r["step"] for r in read_history(path)] == [0, 10]


@pytest.mark.slow
def test_the_history_of_a_killed_process_is_on_disk(tmp_path, camera64):
    """A real kill -9 of `nstr fit` part way: the lines written so far are all there and complete."""
    source, out = tmp_path / "camera.png", tmp_path / "run"
    source.write_bytes(encode_png(camera64))
    code = "import sys; from nstr.cli.main import main; sys.exit(main(sys.argv[1:]))"
    args = ["fit", str(source), "--model", "siren", "--hidden", "32", "--layers", "1", "--steps", "1000000",
            "--batch-size", "256", "--eval-every", "5", "--out", str(out), "--quiet"]
    process = subprocess.Popen([sys.executable, "-c", code, *args], env={**os.environ, "OMP_NUM_THREADS": "1"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if (out / HISTORY).exists() and len(read_history(out / HISTORY)) >= 4:
                break
            time.sleep(0.1)
        assert process.poll() is None, process.stderr.read().decode()
    finally:
        process.kill()
        process.wait()
    lines = read_history(out / HISTORY)
    assert len(lines) >= 4 and [r["step"] for r in lines] == list(range(0, 5 * len(lines), 5))
    assert not (out / "metrics.json").exists()
