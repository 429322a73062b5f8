"""The fit loop: quality floor on a real image, determinism, resume, hold-out, divergence, budgets."""

from __future__ import annotations

import json

import pytest
import torch

import nstr
from nstr.core.errors import NstrError
from nstr.models import build_model
from nstr.signals import Image
from nstr.signals.sampling import Resampler
from nstr.train.fit import FitSettings, learning_rate, split_holdout
from nstr.train.runs import prepare_run_dir


def _siren(image, seed=0, hidden=64):
    torch.manual_seed(seed)
    return build_model("siren", image.in_dim, image.out_dim, hidden=hidden, layers=2)


@pytest.mark.slow
def test_siren_reaches_quality_floor_on_real_image(camera64):
    image = Image(camera64)
    result = nstr.fit(image, _siren(image), steps=300, lr=1e-3, quiet=True)
    # Measured 34.8 dB; an untrained or broken model stays below 15 dB.
    assert result.metrics["psnr"] > 30.0
    assert result.metrics["ssim"] > 0.85
    assert result.metrics["steps"] == 300


@pytest.mark.slow  # a fit of several seconds: out of the developer loop
def test_fourier_mlp_reaches_quality_floor_on_real_image(camera64):
    image = Image(camera64)
    torch.manual_seed(0)
    model = build_model("ffn", 2, 1, hidden=64, layers=2, features=64)
    result = nstr.fit(image, model, steps=300, quiet=True)
    assert result.metrics["psnr"] > 26.0


def test_same_seed_same_metrics(camera64):
    image = Image(camera64)
    runs = [nstr.fit(image, _siren(image), steps=40, batch_size=1024, seed=5, quiet=True) for _ in range(2)]
    assert runs[0].metrics["psnr"] == runs[1].metrics["psnr"]
    untimed = [[{k: v for k, v in r.items() if k != "seconds"} for r in run.history] for run in runs]
    assert untimed[0] == untimed[1] and len(untimed[0]) == 2


def test_resume_after_interrupt_matches_uninterrupted(tmp_path, camera64):
    image = Image(camera64)
    settings = FitSettings(steps=60, batch_size=512, eval_every=20, checkpoint_every=10, lr=1e-3)
    whole = nstr.fit(image, _siren(image), settings, quiet=True)

    out = prepare_run_dir(tmp_path / "run", overwrite=False)

    def kill(step, record):
        if step == 40:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        nstr.fit(image, _siren(image), settings, out=out, quiet=True, callback=kill)
    assert (out / "checkpoint.pt").exists() and not (out / "metrics.json").exists()
    resumed = nstr.resume(out, quiet=True)
    assert resumed.metrics["resumed_from_step"] == 40
    assert resumed.metrics["steps"] == 60
    assert resumed.metrics["psnr"] == whole.metrics["psnr"]
    assert json.loads((out / "metrics.json").read_text())["psnr"] == whole.metrics["psnr"]
    assert not (out / "checkpoint.pt").exists()


@pytest.mark.slow
def test_compiled_step_matches_eager(camera64):
    image = Image(camera64)
    eager = nstr.fit(image, _siren(image), steps=5, batch_size=0, quiet=True)
    compiled = nstr.fit(image, _siren(image), steps=5, batch_size=0, quiet=True, compile=True)
    for a, b in zip(eager.history, compiled.history, strict=True):
        assert a.get("loss", 0.0) == pytest.approx(b.get("loss", 0.0), rel=1e-4)


def test_holdout_split_and_metrics(camera64):
    train, hold = split_holdout(1000, 0.1, seed=0)
    assert len(hold) == 100 and len(train) == 900
    assert len(set(train.tolist()) | set(hold.tolist())) == 1000
    assert torch.equal(split_holdout(1000, 0.1, seed=0)[1], hold)
    image = Image(camera64)
    result = nstr.fit(image, _siren(image), steps=100, lr=1e-3, holdout=0.1, quiet=True)
    m = result.metrics
    assert {"psnr_train", "psnr_holdout"} <= set(m)
    assert 15 < m["psnr_holdout"] < m["psnr_train"]


def test_resampler_redraws_once_per_period_from_the_seed_of_stream_and_period():
    """The one redraw mechanism of the SDF and scene kinds: a draw per period (step // every), seeded by
    stream * 1_000_003 + period (as each kind seeded its own copy before), stream = the fit's seed + the signal's."""
    drawn = []

    def draw(generator):
        drawn.append(int(torch.randint(1 << 30, (1,), generator=generator)))

    def expected(stream, period):
        return int(torch.randint(1 << 30, (1,), generator=torch.Generator().manual_seed(stream * 1_000_003 + period)))

    resampler = Resampler(draw, seed=7, every=3)
    assert drawn == [expected(7, 0)]  # samples at load: the signal's own stream, period 0
    fit_generator = torch.Generator().manual_seed(2)
    assert [resampler.before_step(step, fit_generator) for step in range(7)] == [True, False, False, True, False,
                                                                                  False, True]
    assert drawn[1:] == [expected(9, 0), expected(9, 1), expected(9, 2)]
    assert (resampler.stream, resampler.period) == (9, 2)
    assert resampler.before_step(4, fit_generator) and drawn[-1] == expected(9, 1)  # a resumed fit: same draw
    assert not resampler.before_step(5, fit_generator)
    assert resampler.before_step(5, torch.Generator().manual_seed(3)) and drawn[-1] == expected(10, 1)


def test_divergence_stops_and_keeps_best_weights(camera64):
    image = Image(camera64)
    model = _siren(image)
    before = model.predict(image.coords)
    result = nstr.fit(image, model, steps=50, lr=1e12, quiet=True, schedule="constant")
    assert result.diverged_at is not None and result.diverged_at < 50
    assert result.metrics["diverged_at_step"] == result.diverged_at
    assert torch.isfinite(result.model.predict(image.coords)).all()
    assert result.metrics["psnr"] >= image.psnr(before, image.values) - 1e-9


def _counting_predict(monkeypatch, model) -> list[int]:
    calls: list[int] = []
    original = type(model).predict
    monkeypatch.setattr(type(model), "predict", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    return calls


def test_end_of_fit_scores_the_last_evaluation_when_it_was_the_best(camera64, monkeypatch):
    """A fit that improves up to its last evaluation scores that evaluation's prediction: no third pass over the
    signal, and the metrics are those of a fresh prediction by the returned model."""
    image = Image(camera64)
    model = _siren(image)
    calls = _counting_predict(monkeypatch, model)
    result = nstr.fit(image, model, steps=40, lr=1e-3, eval_every=20, quiet=True)
    assert result.metrics["best_step"] == result.metrics["steps"] == 40
    assert len(calls) == len(result.history) == 3  # steps 0, 20 and 40; none after
    monkeypatch.undo()
    assert result.metrics["psnr"] == image.psnr(result.model.predict(image.eval_coords), image.eval_values)


def test_end_of_fit_predicts_again_when_an_earlier_evaluation_was_the_best(camera64, monkeypatch):
    """Evaluations scored worse each time (a stand-in for a fit that overshoots): the best is the first, so the end
    of the fit loads its weights and predicts once more, and the returned model is the untrained one."""
    image = Image(camera64)
    model = _siren(image)
    before = model.predict(image.coords)
    scores = iter(range(100, 0, -1))
    monkeypatch.setattr(image, "psnr", lambda pred, values: float(next(scores)))
    calls = _counting_predict(monkeypatch, model)
    result = nstr.fit(image, model, steps=40, lr=1e-3, eval_every=20, quiet=True)
    assert result.metrics["best_step"] == 0 and result.metrics["steps"] == 40
    assert len(calls) == len(result.history) + 1 == 4
    monkeypatch.undo()
    assert torch.equal(result.model.predict(image.coords), before)


def test_time_budget_stops(camera64):
    image = Image(camera64)
    result = nstr.fit(image, _siren(image), max_seconds=1.0, quiet=True)
    assert 1.0 <= result.metrics["train_seconds"] < 3.0


def test_cosine_schedule_values():
    s = FitSettings(steps=10, lr_final=0.1)
    assert learning_rate(1.0, 0.0, s) == 1.0
    assert learning_rate(1.0, 1.0, s) == pytest.approx(0.1)
    assert learning_rate(1.0, 0.5, s) == pytest.approx(0.55)


@pytest.mark.parametrize(
    "options, phrase",
    [({"steps": -5}, "--steps"), ({"lr": float("nan"), "steps": 3}, "--lr"), ({"lr": float("inf"), "steps": 3}, "--lr"),
     ({"holdout": 1.0, "steps": 3}, "--holdout"), ({}, "budget")],
)
def test_bad_settings_rejected(options, phrase, camera64):
    image = Image(camera64)
    with pytest.raises(NstrError, match=phrase):
        nstr.fit(image, _siren(image), quiet=True, **options)


def test_written_files_get_the_usual_permissions(tmp_path):
    """Atomic writes go through a mkstemp file (owner-only); the result must follow the umask like open()."""
    import os

    from nstr.core.io import write_atomic

    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.json", b"{}")
        assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        write_atomic(tmp_path / "b.json", b"{}")
        assert (tmp_path / "b.json").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_fit_creates_its_output_folder_and_never_overwrites_results(tmp_path, camera64):
    """``fit(out=...)`` makes a missing folder (the README's first example), refuses one with results in it,
    and replaces it only with ``overwrite=True``."""
    image = Image(camera64[:16, :16])
    out = tmp_path / "runs" / "camera-siren"
    nstr.fit(image, _siren(image, hidden=8), steps=2, out=out, quiet=True)
    first = (out / "metrics.json").read_bytes()
    with pytest.raises(NstrError, match="already exists and is not empty"):
        nstr.fit(image, _siren(image, hidden=8), steps=3, out=out, quiet=True)
    assert (out / "metrics.json").read_bytes() == first  # the earlier results are untouched
    again = nstr.fit(image, _siren(image, hidden=8), steps=3, out=out, overwrite=True, quiet=True)
    assert again.metrics["steps"] == 3 and json.loads((out / "metrics.json").read_text())["steps"] == 3
