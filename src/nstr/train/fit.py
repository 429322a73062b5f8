"""One fit loop for every model and signal: Adam or AdamW, a schedule, minibatches by index, checkpoints, resume.

``fit(signal, model, steps=..., max_seconds=...)`` trains until either budget runs out, evaluates on the
signal's evaluation samples (``Signal.eval_coords``) every ``eval_every`` steps (in chunks), keeps the best
weights so far, and, given ``out``, writes a run directory (see ``nstr.train.runs``) with the evaluation
history streamed into it as it goes (``history.jsonl``, ``nstr.train.history``) and, with ``log=``, live
loggers fed at each evaluation (``nstr.train.loggers``: TensorBoard). Before every step the
signal may redraw its samples (``Signal.before_step``) and the model does its own upkeep
(``Field.before_step``); once, before the first, the model may initialise itself from the training samples
(``Field.initialise``). With a step budget the same seed gives the same numbers on
the same machine, also across an interrupted and resumed run. A progress bar shows the share of the budget
done and an ETA (``nstr.train.progress``), and the work after training shows its stages.
"""

from __future__ import annotations

import copy
import io
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch

from nstr.core.allocator import tune_allocator
from nstr.core.device import describe, module_device, resolve_device
from nstr.core.errors import NstrError
from nstr.core.io import read_json, write_atomic, write_json
from nstr.core.machine import environment
from nstr.core.plotting import save_curve
from nstr.core.precision import PRECISIONS
from nstr.core.progress import Stages, progress_shown, showing
from nstr.models import build_model
from nstr.models.base import Field
from nstr.signals import Signal, load_signal
from nstr.signals.sampling import step_seed
from nstr.train.history import HISTORY, HistoryLog
from nstr.train.loggers import Logger, LogSpec, check_loggers, open_loggers
from nstr.train.plateau import Plateau, steps_per_epoch
from nstr.train.progress import FitBar, fraction_done
from nstr.train.runs import CHECKPOINT, CONFIG, METRICS, WEIGHTS, prepare_run_dir, save_weights

SCHEDULES = ("cosine", "constant", "plateau")
OPTIMIZERS = ("adam", "adamw")
#: AdamW's weight decay in the official DINR configs (``--optimizer adamw``).
ADAMW_WEIGHT_DECAY = 1e-5


@dataclass(frozen=True)
class FitSettings:
    """Everything about training that is not the model: stored in config.json for reproduction."""

    steps: int | None = None  #: stop after this many optimiser steps
    max_seconds: float | None = None  #: stop after this much training time (evaluation excluded)
    lr: float | None = None  #: Adam learning rate; None = the model's reference value
    batch_size: int = 1 << 16  #: coordinates per step, drawn at random; 0 = full batch (kinds may differ: audio)
    seed: int = 0  #: seeds the model init (CLI), minibatches and the hold-out split
    holdout: float = 0.0  #: fraction of samples kept out of training and scored separately (not SDFs, scenes)
    eval_every: int = 100  #: evaluate on the evaluation samples every N steps (and at the end)
    schedule: str = "cosine"  #: cosine or constant over the budget, or plateau (nstr.train.plateau)
    lr_final: float = 0.05  #: final learning rate as a fraction of lr (cosine)
    checkpoint_every: int = 0  #: write checkpoint.pt every N steps (0 = only on interrupt)
    compile: bool = False  #: torch.compile the loss and its backward (pays off on long fits)
    precision: str = "fp32"  #: fp32, or bf16 / fp16 autocast of forward and loss (float32 weights, Adam state)
    optimizer: str = "adam"  #: adam, or adamw (weight decay 1e-5, the official DINR recipe)

    def validate(self) -> None:
        if self.steps is None and self.max_seconds is None:
            raise NstrError("give a budget: --steps N and/or --max-seconds S")
        if self.steps is not None and self.steps < 1:
            raise NstrError(f"--steps must be a positive integer, got {self.steps}")
        if self.max_seconds is not None and not (math.isfinite(self.max_seconds) and self.max_seconds > 0):
            raise NstrError(f"--max-seconds must be a positive number, got {self.max_seconds}")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise NstrError(f"--lr must be a positive finite number, got {self.lr}")
        if self.batch_size < 0:
            raise NstrError(f"--batch-size must be >= 0 (0 = full batch), got {self.batch_size}")
        if not 0.0 <= self.holdout < 1.0:
            raise NstrError(f"--holdout must be in [0, 1), got {self.holdout}")
        if self.eval_every < 1 or self.checkpoint_every < 0:
            raise NstrError("--eval-every must be >= 1 and --checkpoint-every >= 0")
        if self.schedule not in SCHEDULES:
            raise NstrError(f"--schedule must be one of {', '.join(SCHEDULES)}, got '{self.schedule}'")
        if self.optimizer not in OPTIMIZERS:
            raise NstrError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got '{self.optimizer}'")
        if self.precision not in PRECISIONS:
            raise NstrError(f"--precision must be one of {', '.join(PRECISIONS)}, got '{self.precision}'")
        if not 0.0 <= self.lr_final <= 1.0:
            raise NstrError(f"lr_final must be in [0, 1], got {self.lr_final}")


def fit_defaults(kind: type[Signal], model: type[Field]) -> dict[str, Any]:
    """The fit settings that suit this kind of signal and this model, where nothing else sets them: the model's
    (``Field.fit_defaults``) over the kind's (``Signal.fit_defaults``), both over ``FitSettings``' own. A config
    file and the command line override them (``nstr.cli.fit``)."""
    return {**kind.fit_defaults, **model.fit_defaults}


@dataclass
class FitResult:
    """What a fit returns: the model (best weights loaded), final metrics and the evaluation history."""

    model: Field
    metrics: dict[str, Any]
    history: list[dict[str, float]]
    out: Path | None = None
    diverged_at: int | None = None
    signal: Signal | None = None  #: what was fitted (the CLI reports with its ``summary``)


@dataclass
class _State:
    """Everything that changes during training; saved whole in a checkpoint."""

    step: int = 0
    train_seconds: float = 0.0
    best_psnr: float = -math.inf
    best_step: int = 0
    best_weights: dict[str, torch.Tensor] | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    plateau: dict[str, Any] | None = None  #: the plateau schedule's state (``Plateau.state_dict``)


def split_holdout(n: int, fraction: float, seed: int, device: str | torch.device = "cpu"
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of training and held-out samples on ``device``; the split depends only on n, fraction and seed
    (it is drawn on the host, so it is the same on every device)."""
    if fraction <= 0:
        return torch.arange(n, device=device), torch.zeros(0, dtype=torch.long, device=device)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 7919), device="cpu")
    n_hold = int(round(fraction * n))
    return perm[n_hold:].sort().values.to(device), perm[:n_hold].sort().values.to(device)


def learning_rate(base: float, progress: float, settings: FitSettings) -> float:
    """Schedule value at ``progress`` in [0, 1] of the budget (plateau: the starting rate; ``Plateau`` moves it)."""
    if settings.schedule in ("constant", "plateau"):
        return base
    p = min(max(progress, 0.0), 1.0)
    return base * (settings.lr_final + (1 - settings.lr_final) * 0.5 * (1 + math.cos(math.pi * p)))


def _progress(state: _State, settings: FitSettings) -> float:
    return fraction_done(state.step, state.train_seconds, settings.steps, settings.max_seconds)


def _optimizer(model: Field, lr: float, optimizer: str = "adam") -> torch.optim.Optimizer:
    groups = [{**group, "lr": lr * group.get("lr_scale", 1.0)} for group in model.param_groups()]
    if optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=lr, weight_decay=ADAMW_WEIGHT_DECAY, **model.adam_options)
    return torch.optim.Adam(groups, lr=lr, **model.adam_options)


def training_step(model: Field, optimizer: torch.optim.Optimizer, compile: bool = False,
                  signal: Signal | None = None, precision: str = "fp32"):
    """A function (x, y) -> {loss, terms...} doing one optimiser step.

    The loss is ``signal.loss_terms(model, x, y)`` when a signal is given (its own task loss), else the
    model's ``loss_terms`` (squared error plus the model's regularisers).

    With ``compile``, the loss and its backward are compiled by ``torch.compile`` (inductor fuses the
    elementwise work around each matmul; the optimiser stays eager so the schedule costs no recompiles).

    ``precision`` "bf16" or "fp16" runs the forward and the loss under ``torch.autocast`` on the model's device
    (``nstr.core.precision``); the terms are summed in float32, the backward and Adam's step work on the float32
    weights. fp16 scales the loss with a ``torch.amp.GradScaler`` (the function's ``scaler``, None otherwise),
    which unscales the gradients and skips a step whose gradients overflowed. "fp32" adds nothing.
    """
    dtype = PRECISIONS[precision]
    device_type = next(model.parameters()).device.type

    def terms_of(x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return signal.loss_terms(model, x, y) if signal is not None else model.loss_terms(x, y)

    def loss_terms(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if dtype is None:
            terms = terms_of(x, y)
        else:
            with torch.autocast(device_type, dtype=dtype):
                terms = terms_of(x, y)
            terms = {name: value.float() for name, value in terms.items()}
        return sum(terms.values()), terms

    forward = torch.compile(loss_terms, dynamic=False) if compile else loss_terms
    scaler = torch.amp.GradScaler(device_type) if precision == "fp16" else None

    def step(x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        loss, terms = forward(x, y)
        optimizer.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            scaler.step(optimizer)
            scaler.update()
        return {"loss": loss.item(), **{k: v.item() for k, v in terms.items()}, **model.step_metrics()}

    step.scaler = scaler
    return step


def fit(
    signal: Signal,
    model: Field,
    settings: FitSettings | None = None,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    quiet: bool = False,
    callback: Callable[[int, dict[str, float]], None] | None = None,
    extra_config: dict[str, Any] | None = None,
    device: str | torch.device | None = None,
    log: LogSpec = None,
    _resume: dict[str, Any] | None = None,
    **options: Any,
) -> FitResult:
    """Fit ``model`` to ``signal``. Options are the fields of ``FitSettings`` (steps, max_seconds, lr...); without
    ``settings``, those not given are the kind's and the model's ``fit_defaults`` (audio's minibatch), then
    ``FitSettings``' own.

    ``out``: the run directory to write config, checkpoints and results into (see ``nstr.train.runs``); it is
    created if missing, and an existing non-empty folder is refused unless ``overwrite`` (never lose results).
    ``callback(step, record)`` is called after every evaluation; ``extra_config`` is stored in config.json
    (for example the FreSh selection that chose a model option). With ``out``, every evaluation record is also
    appended to ``out/history.jsonl`` as it is made. ``log``: live loggers fed at each evaluation, by name
    ("tensorboard": ``out/tensorboard/``, needs the ``[log]`` extra) or as objects with ``on_eval(step, record,
    preview)`` and ``close()`` (``nstr.train.loggers``). ``quiet`` hides the progress bars.
    ``device``: where to train ("auto", "cpu", "cuda", "cuda:N", "mps"; ``nstr.core.device.resolve_device``);
    None trains where the model is. The model and the signal's tensors move there once (``Signal.to``) and
    minibatches are drawn there; the device and its name are recorded in config.json and metrics.json.
    Fitting raises glibc's mmap threshold for this process (``nstr.core.allocator.tune_allocator``) so large
    activations are reused rather than page-faulted in afresh every step; set NSTR_NO_MALLOPT=1 to opt out.
    """
    settings = replace(settings or FitSettings(**fit_defaults(type(signal), type(model))), **options)
    settings.validate()
    if settings.compile and not model.compilable:
        name = getattr(model, "registry_name", type(model).__name__)
        raise NstrError(f"--compile does not apply to {name}: its tensors change shape every step")
    check_loggers(log)  # unknown names and missing extras, before any folder is made
    tune_allocator()
    if (signal.in_dim, signal.out_dim) != (model.in_dim, model.out_dim):
        raise NstrError(
            f"model maps {model.in_dim} -> {model.out_dim} values but the signal has "
            f"{signal.in_dim}-D coordinates and {signal.out_dim} channels"
        )
    out = Path(out) if out is not None else None
    lr = settings.lr if settings.lr is not None else model.default_lr
    if settings.holdout and not signal.evaluates_training_samples:
        raise NstrError(f"--holdout does not apply to {signal.kind} signals: they are scored on evaluation "
                        "samples kept apart from the samples they train on")
    device = module_device(model) if device is None else resolve_device(device)
    model.to(device)
    signal.to(device)  # once: minibatches are drawn where the signal lives (the host, if it is streamed)
    train_idx, hold_idx = split_holdout(len(signal), settings.holdout, settings.seed, device=signal.device)
    if len(train_idx) == 0:
        raise NstrError("--holdout leaves no samples to train on")
    if _resume is None:  # data-dependent initialisation from the training samples only (a no-op for most models)
        x, y = signal.coords, signal.training_targets
        if len(hold_idx):
            x, y = x[train_idx], y[train_idx]
        model.initialise(x, y, settings.seed, signal.shape)
    optimizer = _optimizer(model, lr, settings.optimizer)
    generator = torch.Generator(device=signal.device).manual_seed(settings.seed)
    state = _State()
    if _resume is not None:
        state = _restore(_resume, model, optimizer, generator, settings.seed)
    elif out is not None:
        out = prepare_run_dir(out, overwrite)
        _write_config(out, signal, model, settings, extra_config or {}, device)
    trainer = _Trainer(signal, model, settings, train_idx, hold_idx, optimizer, generator, lr)
    if _resume is not None and trainer.scaler is not None and "scaler" in _resume:
        trainer.scaler.load_state_dict(_resume["scaler"])
    if trainer.plateau is not None and state.plateau is not None:
        trainer.plateau.load_state_dict(state.plateau)
    resumed_from = state.step if _resume else None
    loggers = open_loggers(log, out, resumed_from)
    history = HistoryLog(out / HISTORY, state.history) if out is not None else None  # a resume drops later lines
    with progress_shown(showing() and not quiet):
        return trainer.run(state, out, callback, resumed_from, history, loggers)


class _Trainer:
    """The loop itself, split out of ``fit`` so each part stays short."""

    def __init__(self, signal, model, settings, train_idx, hold_idx, optimizer, generator, lr):
        self.signal, self.model, self.settings = signal, model, settings
        self.train_idx, self.hold_idx = train_idx, hold_idx
        self.optimizer, self.generator, self.lr = optimizer, generator, lr
        self.device = module_device(model)  # where steps run; the signal's tensors are there too unless streamed
        self.train_step = training_step(model, optimizer, compile=settings.compile, signal=signal,
                                        precision=settings.precision)
        self.scaler = self.train_step.scaler  # fp16's loss scale, kept in checkpoints
        self.last_lr = learning_rate(lr, 0.0, settings)  # the rate of the last step, as evaluation records show it
        self.history: HistoryLog | None = None
        self.loggers: list[Logger] = []
        #: The last evaluation's prediction and step: when it was the best, the end of a fit uses it instead of
        #: predicting the whole signal again with the same weights (21-26 s of a 1.2M-parameter MLP's 130-second
        #: table1 cell on one thread; benchmarks/fit_end.py). Only the last is kept, so memory holds at most one
        #: prediction beyond the training data. Not in checkpoints: a resumed fit predicts once more.
        self.last_pred: tuple[int, torch.Tensor] | None = None
        self.plateau = (Plateau(optimizer, steps_per_epoch(len(train_idx), settings.batch_size))
                        if settings.schedule == "plateau" else None)
        self.full_batch = None
        self.cache_full_batch()

    def cache_full_batch(self) -> None:
        full = self.settings.batch_size == 0 or self.settings.batch_size >= len(self.train_idx)
        targets = self.signal.training_targets
        self.full_batch = (self.to_device(self.signal.coords[self.train_idx]),
                           self.to_device(targets[self.train_idx])) if full else None

    def to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        """A batch on the model's device: itself unless the signal is streamed from the host."""
        return tensor.to(self.device, non_blocking=True)

    def batch(self, state: _State) -> tuple[torch.Tensor, torch.Tensor]:
        if self.signal.before_step(state.step, self.generator):  # the signal drew new samples
            self.cache_full_batch()
        if self.full_batch is not None:
            return self.full_batch
        pick = torch.randint(len(self.train_idx), (self.settings.batch_size,), generator=self.generator,
                             device=self.generator.device)
        idx = self.train_idx[pick]
        return self.to_device(self.signal.coords[idx]), self.to_device(self.signal.training_targets[idx])

    def step(self, state: _State) -> dict[str, float]:
        if self.plateau is None:  # the plateau schedule sets the rates itself, from the losses
            lr = self.last_lr = learning_rate(self.lr, _progress(state, self.settings), self.settings)
            for group in self.optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
        else:
            group = self.optimizer.param_groups[0]
            self.last_lr = group["lr"] / group.get("lr_scale", 1.0)
        self.model.before_step(state.step)  # the model's own upkeep (a radiance field's occupancy grid)
        losses = self.train_step(*self.batch(state))
        if self.plateau is not None:
            state.plateau = self.plateau.observe(losses["loss"])
        return losses

    def scores(self, pred: torch.Tensor) -> dict[str, float]:
        """``psnr`` of a prediction at the signal's ``eval_coords``; with a hold-out (only where the training
        samples are the evaluation samples) ``psnr`` on the trained part and ``psnr_holdout`` on the rest."""
        values = self.signal.eval_values
        if not len(self.hold_idx):
            return {"psnr": self.signal.psnr(pred, values)}
        return {"psnr": self.signal.psnr(pred[self.train_idx], values[self.train_idx]),
                "psnr_holdout": self.signal.psnr(pred[self.hold_idx], values[self.hold_idx])}

    def evaluate(self, state: _State, losses: dict[str, float]) -> dict[str, float]:
        self.last_pred = None  # released before predicting, so two predictions never share memory
        pred = self.model.predict(self.signal.eval_coords)
        self.last_pred = state.step, pred
        record = {"step": state.step, "seconds": round(state.train_seconds, 4), "lr": self.last_lr, **losses,
                  **self.scores(pred)}
        state.history.append(record)
        if record["psnr"] > state.best_psnr:
            state.best_psnr, state.best_step = record["psnr"], state.step
            state.best_weights = copy.deepcopy(self.model.state_dict())
        self.publish(record, pred)
        return record

    def publish(self, record: dict[str, float], pred: torch.Tensor) -> None:
        """Stream an evaluation record: a line of history.jsonl, and the loggers (with the signal's preview
        picture, drawn only when one of them shows it)."""
        if self.history is not None:
            self.history.append(record)
        if not self.loggers:
            return
        wanted = any(getattr(logger, "wants_preview", False) for logger in self.loggers)
        preview = self.signal.preview(self.model, pred) if wanted else None
        for logger in self.loggers:
            logger.on_eval(record["step"], record, preview)

    def done(self, state: _State) -> bool:
        s = self.settings
        return (s.steps is not None and state.step >= s.steps) or (
            s.max_seconds is not None and state.train_seconds >= s.max_seconds
        )

    def run(self, state, out, callback, resumed_from, history, loggers) -> FitResult:
        settings = self.settings
        self.history, self.loggers = history, loggers
        bar = None
        try:
            if not state.history:
                self.evaluate(state, {})
            bar = FitBar(settings.steps, settings.max_seconds, state.step, state.train_seconds,
                         psnr=state.history[-1]["psnr"])
            diverged_at = self.train(state, out, callback, bar)
        finally:
            if bar is not None:
                bar.close()
            if history is not None:
                history.close()
            for logger in loggers:
                logger.close()
        return self.finish(state, out, diverged_at, resumed_from)

    def train(self, state: _State, out: Path | None, callback, bar: FitBar) -> int | None:
        """Steps until the budget runs out; the step a non-finite loss stopped it at, else None."""
        settings = self.settings
        try:
            while not self.done(state):
                start = time.perf_counter()
                losses = self.step(state)
                state.train_seconds += time.perf_counter() - start
                state.step += 1
                if not math.isfinite(losses["loss"]):
                    return state.step
                if state.step % settings.eval_every == 0 or self.done(state):
                    record = self.evaluate(state, losses)
                    bar.update(state.step, state.train_seconds, psnr=record["psnr"])
                    if callback is not None:
                        callback(state.step, record)
                else:
                    bar.update(state.step, state.train_seconds)
                if out is not None and settings.checkpoint_every and state.step % settings.checkpoint_every == 0:
                    self.save_checkpoint(state, out)
        except KeyboardInterrupt:
            if out is not None:
                self.save_checkpoint(state, out)
            raise
        bar.update(state.step, state.train_seconds, force=True)
        return None

    def save_checkpoint(self, state: _State, out: Path) -> None:
        buffer = io.BytesIO()
        torch.save(
            {
                "state": asdict(state),
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state(),
                "generator_device": str(self.generator.device),
                "torch_rng": torch.get_rng_state(),
                **({"cuda_rng": torch.cuda.get_rng_state(self.device)} if self.device.type == "cuda" else {}),
                **({"scaler": self.scaler.state_dict()} if self.scaler is not None else {}),
            },
            buffer,
        )
        write_atomic(out / CHECKPOINT, buffer.getvalue())

    def finish(self, state: _State, out: Path | None, diverged_at: int | None, resumed_from: int | None):
        if state.best_weights is not None:
            self.model.load_state_dict(state.best_weights)
        with Stages("after training", 3 if out is None else 5) as stages:
            with stages.stage("evaluating the whole signal"):
                pred = self.best_prediction(state)
            with stages.stage("metrics"):
                metrics: dict[str, Any] = dict(self.signal.metrics(pred))
            with stages.stage("metrics of the fitted field"):
                metrics.update(self.signal.field_metrics(self.model))
            self.describe(state, metrics, pred, diverged_at, resumed_from)
            if out is not None:
                self.write_results(out, pred, metrics, stages)
        return FitResult(self.model, metrics, state.history, out, diverged_at, self.signal)

    def best_prediction(self, state: _State) -> torch.Tensor:
        """The whole signal as the best weights (loaded) predict it: the last evaluation's, if that was the best."""
        if self.last_pred is not None and self.last_pred[0] == state.best_step and state.best_weights is not None:
            return self.last_pred[1]
        return self.model.predict(self.signal.eval_coords)

    def describe(self, state: _State, metrics: dict[str, Any], pred: torch.Tensor, diverged_at: int | None,
                 resumed_from: int | None) -> None:
        """Add the fit's own numbers to the signal's ``metrics``: hold-out scores, size, steps, speed, history."""
        if len(self.hold_idx):
            scores = self.scores(pred)
            metrics["psnr_train"], metrics["psnr_holdout"] = scores["psnr"], scores["psnr_holdout"]
        metrics.update(
            params=self.model.num_params(),
            steps=state.step,
            best_step=state.best_step,
            train_seconds=state.train_seconds,
            seconds_per_step=state.train_seconds / max(state.step, 1),
            lr=self.lr,
            **describe(self.device),
        )
        metrics.update(self.signal.training_metrics(state.step, state.train_seconds), **self.model.step_metrics())
        if resumed_from is not None:
            metrics["resumed_from_step"] = resumed_from
        if diverged_at is not None:
            metrics["diverged_at_step"] = diverged_at
        metrics["history"] = state.history

    def write_results(self, out: Path, pred: torch.Tensor, metrics: dict[str, Any], stages: Stages) -> None:
        save_weights(self.model, out / WEIGHTS)
        with stages.stage("writing the reconstruction"):
            self.signal.write_outputs(pred, out)
        with stages.stage("writing what the fitted field decodes to"):
            self.signal.write_field_outputs(self.model, out)
        save_curve(out / "curve.png", metrics["history"], holdout=len(self.hold_idx) > 0)
        write_json(out / METRICS, metrics)
        (out / CHECKPOINT).unlink(missing_ok=True)


def _write_config(out: Path, signal: Signal, model: Field, settings: FitSettings, extra: dict[str, Any],
                  device: torch.device) -> None:
    name = getattr(model, "registry_name", None)
    if name is None:
        raise NstrError(f"{type(model).__name__} is not registered; use nstr.models.register to save runs")
    write_json(
        out / CONFIG,
        {
            "nstr_version": _version(),
            "signal": signal.spec(out),
            "model": {"name": name, "in_dim": model.in_dim, "out_dim": model.out_dim,
                      "options": model.config.to_dict(), "resolved": model.resolved_options()},
            "fit": asdict(settings),
            "environment": {**environment(), **describe(device)},
            **extra,
        },
    )


def _version() -> str:
    return version("nstr")


def _restore(saved: dict[str, Any], model, optimizer, generator, seed: int) -> _State:
    """Training state from a checkpoint (read onto the host; the optimiser's state follows the parameters to
    their device). Random streams continue exactly on the same kind of device; a run resumed on another kind
    (trained on a GPU, resumed on the CPU) draws its minibatches from a stream seeded by (seed, step)."""
    state = _State(**saved["state"])
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    if torch.device(saved.get("generator_device", "cpu")).type == generator.device.type:
        generator.set_state(saved["generator"])
    else:
        generator.manual_seed(step_seed(seed, state.step))
    torch.set_rng_state(saved["torch_rng"])
    device = module_device(model)
    if "cuda_rng" in saved and device.type == "cuda":
        torch.cuda.set_rng_state(saved["cuda_rng"], device)
    return state


def resume(out: str | Path, quiet: bool = False, device: str | torch.device | None = None, log: LogSpec = None
           ) -> FitResult:
    """Continue a killed run from its last checkpoint to its original budget (``log`` as in ``fit``).

    ``device``: where to continue (see ``fit``); None continues on the device the run recorded when that device
    is here (runs that predate the record: the CPU), else on ``resolve_device("auto")``. The same seed gives the
    same numbers only on the same kind of device."""
    out = Path(out)
    config = read_json(out / CONFIG)
    device = resolve_device(device) if device is not None else recorded_device(config)
    if (out / METRICS).exists() and not (out / CHECKPOINT).exists():
        raise NstrError(f"run '{out}' already finished; there is nothing to resume")
    if not (out / CHECKPOINT).exists():
        raise NstrError(f"run '{out}' has no checkpoint.pt to resume from (use --checkpoint-every N)")
    saved = torch.load(out / CHECKPOINT, weights_only=False, map_location="cpu")
    signal = load_signal(config["signal"], out)
    spec = config["model"]
    model = build_model(spec["name"], spec["in_dim"], spec["out_dim"], **spec["options"])
    settings = FitSettings(**config["fit"])
    return fit(signal, model, settings, out=out, quiet=quiet, device=device, log=log, _resume=saved)


def recorded_device(config: dict[str, Any]) -> torch.device:
    """The device a run's config.json records when it is present here (the CPU for runs that predate the
    record), else the device "auto" picks."""
    try:
        return resolve_device(config.get("environment", {}).get("device", "cpu"))
    except NstrError:
        return resolve_device("auto")

