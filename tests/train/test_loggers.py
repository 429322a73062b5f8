"""Live loggers: TensorBoard's event file read back, any object with on_eval/close, and the missing extra."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import nstr
from nstr.cli.main import main
from nstr.core.errors import NstrError
from nstr.core.png import decode_png, encode_png
from nstr.models import build_model
from nstr.signals import Image
from nstr.train.loggers import TENSORBOARD_DIR, scalar_tag


def _siren(image):
    torch.manual_seed(0)
    return build_model("siren", image.in_dim, image.out_dim, hidden=32, layers=2)


class Recorder:
    """A logger of our own: keeps what the fit sends."""

    wants_preview = True

    def __init__(self):
        self.calls, self.closed = [], False

    def on_eval(self, step, record, preview):
        self.calls.append((step, dict(record), preview))

    def close(self):
        self.closed = True


def _untimed(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


@pytest.mark.parametrize("key,tag", [("psnr", "eval/psnr"), ("psnr_holdout", "eval/psnr_holdout"),
                                     ("lr", "train/lr"), ("seconds", "train/seconds"), ("loss", "loss/loss"),
                                     ("task", "loss/task"), ("pde", "loss/pde")])
def test_scalar_tags_group_scores_schedule_and_loss_terms(key, tag):
    assert scalar_tag(key) == tag


def test_tensorboard_event_file_holds_every_scalar_and_the_previews(tmp_path, camera64):
    image = Image(camera64)
    recorder = Recorder()
    result = nstr.fit(image, _siren(image), steps=30, eval_every=10, batch_size=512, lr=1e-3, out=tmp_path / "run",
                      quiet=True, log=["tensorboard", recorder])
    events = EventAccumulator(str(tmp_path / "run" / TENSORBOARD_DIR), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    assert set(events.Tags()["scalars"]) == {"eval/psnr", "train/lr", "train/seconds", "loss/loss", "loss/task"}
    for tag, key in (("eval/psnr", "psnr"), ("train/lr", "lr"), ("train/seconds", "seconds")):
        logged = events.Scalars(tag)
        assert [e.step for e in logged] == [r["step"] for r in result.history] == [0, 10, 20, 30]
        assert [e.value for e in logged] == pytest.approx([r[key] for r in result.history], rel=1e-6)
    assert [e.value for e in events.Scalars("loss/task")] == pytest.approx([r["task"] for r in result.history[1:]],
                                                                           rel=1e-6)
    pictures = events.Images("reconstruction")
    assert [p.step for p in pictures] == [0, 10, 20, 30]
    for picture, (_, _, preview) in zip(pictures, recorder.calls, strict=True):
        assert np.array_equal(decode_png(picture.encoded_image_string), preview)  # the image preview, losslessly
    assert recorder.closed


def test_a_logger_object_gets_every_record_and_preview_and_changes_nothing(camera64):
    image = Image(camera64)
    plain = nstr.fit(image, _siren(image), steps=20, eval_every=10, batch_size=256, quiet=True)
    recorder = Recorder()
    logged = nstr.fit(image, _siren(image), steps=20, eval_every=10, batch_size=256, quiet=True, log=recorder)
    assert _untimed(logged.history) == _untimed(plain.history)
    assert [call[1] for call in recorder.calls] == logged.history and [c[0] for c in recorder.calls] == [0, 10, 20]
    assert all(p.shape == (64, 64, 3) and p.dtype == np.uint8 for _, _, p in recorder.calls)
    assert recorder.closed


def test_bad_loggers_are_one_line_errors_before_any_folder(tmp_path, camera64):
    image = Image(camera64)
    with pytest.raises(NstrError, match="unknown logger 'wandb'"):
        nstr.fit(image, _siren(image), steps=2, out=tmp_path / "a", log="wandb")
    with pytest.raises(NstrError, match="objects with on_eval and close"):
        nstr.fit(image, _siren(image), steps=2, out=tmp_path / "b", log=[object()])
    with pytest.raises(NstrError, match="give out= as well"):
        nstr.fit(image, _siren(image), steps=2, log="tensorboard")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_missing_tensorboard_says_how_to_install_it_and_writes_nothing(tmp_path, camera64, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if the [log] extra were not installed
    source, out = tmp_path / "camera.png", tmp_path / "run"
    source.write_bytes(encode_png(camera64))
    assert main(["fit", str(source), "--model", "siren", "--steps", "2", "--log", "tensorboard", "--out", str(out),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'needs the tensorboard package: pip install -e ".[log]"' in err
    assert not out.exists()
    image = Image(camera64)
    with pytest.raises(NstrError, match="tensorboard package"):
        nstr.fit(image, _siren(image), steps=2, out=tmp_path / "py", log="tensorboard")
    assert not (tmp_path / "py").exists()


def test_a_resumed_fit_purges_the_events_after_its_checkpoint(tmp_path, camera64):
    image, out = Image(camera64), tmp_path / "run"

    def crash(step, record):
        if step == 30:
            raise RuntimeError("killed")  # the last checkpoint is at step 20

    with pytest.raises(RuntimeError):
        nstr.fit(image, _siren(image), steps=40, eval_every=10, checkpoint_every=20, batch_size=256, out=out,
                 quiet=True, log="tensorboard", callback=crash)
    nstr.resume(out, quiet=True, log="tensorboard")
    events = EventAccumulator(str(out / TENSORBOARD_DIR))
    events.Reload()
    assert [e.step for e in events.Scalars("eval/psnr")] == [0, 10, 20, 30, 40]
