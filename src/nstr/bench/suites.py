"""Benchmark suites: each expands to cells (model x signal x seed) that share one fit budget.

A ``Suite`` names its signals, the models it compares (in order; only registered ones are used, so a
model joins every suite the moment it is registered), and the parameter budgets each model is sized to.
``expand`` turns a suite plus command-line overrides into ``Cell``s; a cell holds everything a worker
needs, so the same cell runs the same way in-process, in a local pool or as a Ray task.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from nstr.bench.sizing import budget_label, count_params, size_model
from nstr.core.device import DEVICE_TYPES
from nstr.core.errors import NstrError
from nstr.core.precision import PRECISIONS
from nstr.models import MODELS, model_class
from nstr.signals import BUILTIN_IMAGES, SIGNAL_KINDS, load_signal
from nstr.signals.image.signal import IMAGE_NSTR_DEFAULTS
from nstr.train.fit import FitSettings, fit_defaults

#: The development photographs (../shared/data/README.md).
PHOTOS = ("astronaut", "camera", "chelsea", "brick", "grass")
#: The models the paper compares, in its Table 1 order.
PAPER_MODELS = ("ffn", "siren", "hashgrid", "nstr")
#: table1 and budget fit the photographs at full size: at 256 x 256 a 0.3-0.5 M-parameter grid model holds
#: more numbers than the image (a gray 256 x 256 image is 65,536 values) and memorises it (90+ dB).
#: Coordinates per step in the equal-time suites: at full batch (65,536 for 256x256) a 1.2 M-parameter MLP
#: gets about 15 steps in 45 s on 2 cores; a quarter of the image per step gives every model more steps.
MINIBATCH = 16_384
#: Untrained models FreSh averages per candidate value, as the official code.
FRESH_INITS = 10
#: ...and in the suites' FreSh arms: with 10, table1's 1.2M-parameter selections (20 values x 10 models on a 512 x 512
#: grid, ~24 s each on one core of a 2-core AVX2 host) would take about 3 hours on both cores even with the untrained
#: models shared between photographs of one shape, far more than its 120 fits of 60 s.
#: With 3, the choice was the 10-initialisation choice or its neighbour on the grid, at a distance within the
#: initialisations' spread (benchmarks/fresh_inits.py, stored in benchmarks/results/fresh_inits.json).
SUITE_FRESH_INITS = 3
#: The 24 Kodak photographs (../shared/data/README.md), relative to the project root like the audio data.
KODAK_DIR = "../shared/data/kodak"
KODAK = tuple(f"{KODAK_DIR}/kodim{i:02d}.png" for i in range(1, 25))
#: Every image model, for the public image benchmark (only the registered ones run).
IMAGE_MODELS = ("siren", "ffn", "hashgrid", "nstr", "nstr-paper", "dinr-siren", "gaussians")
#: The equal-steps protocol of the kodak suite: 300 steps of 16,384 pixels are 12.5 passes over a 768 x 512
#: image. Papers train 10k-50k GPU steps; on a 2-core CPU a 1M-parameter SIREN step takes ~2.7 s and a
#: DINR-SIREN step ~26 s (one thread, measured for this suite), so 300 steps already cost ~4 h of DINR per image
#: at 1M; fewer would leave the MLPs at their first few epochs, where the ranking says little. At 60 s the
#: grids make ~900 steps and the 1M MLPs ~25, so the two protocols bracket the question.
KODAK_STEPS = 300
#: The lego scene of nerf_synthetic (200 x 200; 85 train / 5 val / 10 test views).
LEGO = "../shared/data/nerf/lego"
#: Key of ``Suite.budgets`` for models the suite does not list by name.
ANY_MODEL = "*"
#: Models that draw the whole image each step train on every (training) pixel in the equal-time suites: a
#: random quarter of a 768 x 512 image cost the 2-D Gaussians 1.3x the whole image (nstr.models.gaussians).
WHOLE_IMAGES = {"gaussians": {"batch_size": 0}}


@dataclass(frozen=True)
class Variant:
    """A named model configuration in a suite that compares settings rather than parameter budgets."""

    label: str  #: short, file-name-friendly name shown in tables (e.g. "lambda_pde=0.1")
    model: str
    options: dict[str, Any] = field(default_factory=dict)
    target_params: int | None = None  #: size the model to this many parameters (None: options as given)
    signal_options: dict[str, Any] = field(default_factory=dict)  #: e.g. {"noise": 0.1} for images
    signals: tuple[str, ...] | None = None  #: only these of the suite's signals (None: all)
    fit: dict[str, Any] = field(default_factory=dict)  #: FitSettings of this variant only (lr, optimizer...)
    seeds: int | None = None  #: seeds of this variant (None: the suite's)


@dataclass(frozen=True)
class Suite:
    """A named comparison: signals x models (each at its parameter budgets) x seeds, one fit budget."""

    name: str
    description: str
    signals: tuple[str, ...]
    models: tuple[str, ...]
    budgets: dict[str, tuple[int, ...]]  #: model -> parameter targets; ANY_MODEL for the rest
    size: int | None = 256  #: longer image side in pixels (None = full size); never upsampled
    max_seconds: float | None = 60.0  #: training wall time per cell
    steps: int | None = None  #: or a step budget
    seeds: int = 3
    fit: dict[str, Any] = field(default_factory=dict)  #: other FitSettings, the same for every cell
    max_models: int | None = None  #: use only the first N registered models (the quick suite)
    threads: int | None = None  #: torch threads of an in-process fit (None = all); pool workers use 1
    variants: tuple[Variant, ...] = ()  #: if given, these configurations replace models x budgets
    #: FitSettings of one model over ``fit`` (the 2-D Gaussians draw the whole image every step)
    model_fit: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: budgets compared side by side, (name, fit settings): every cell runs under each, its label suffixed with
    #: "-<name>" (kodak: equal wall time and equal steps). Empty: the one budget above.
    protocols: tuple[tuple[str, dict[str, Any]], ...] = ()
    #: beside each NSTR cell, the hash grid with NSTR's table (size, levels, resolutions, features), labelled
    #: "same-table-<budget>": what NSTR adds to the grid it is built on
    same_table: bool = False
    #: beside each SIREN / Fourier-MLP cell, the same model with its embedding scale chosen by FreSh from the
    #: official grid (``FRESH_GRIDS``), labelled "<budget>+fresh": no baseline is left at a default that does
    #: not suit the signal
    fresh: bool = False
    #: untrained models FreSh averages per candidate value in this suite
    fresh_inits: int = FRESH_INITS
    #: start each model from the signal kind's settings (``Signal.model_defaults``, e.g. NSTR's image settings), as
    #: ``nstr fit`` does; False: from the model's own defaults, the reference of a suite that measures switches
    kind_defaults: bool = True


@dataclass(frozen=True)
class FreshGrid:
    """What FreSh selects for a cell: ``param`` among ``values``, each scored by the mean spectral distance of
    ``inits`` untrained models (the official code averages 10)."""

    param: str
    values: tuple[float, ...]
    inits: int = FRESH_INITS


#: FreSh's candidate grids per model (the official code's): SIREN's omega0 and the Fourier MLP's sigma.
FRESH_GRIDS: dict[str, FreshGrid] = {
    "siren": FreshGrid("omega0", tuple(float(v) for v in range(10, 201, 10))),
    "ffn": FreshGrid("sigma", tuple(float(v) for v in range(1, 21))),
}
#: Label suffix of a cell whose embedding scale FreSh chose.
FRESH = "+fresh"
#: Label prefix of the hash-grid cell beside an NSTR cell, with NSTR's table ("same-table-<budget>").
SAME_TABLE = "same-table-"


@dataclass(frozen=True)
class Cell:
    """One fit of a suite: a model with sized options on one signal with one seed."""

    suite: str
    model: str
    signal: str
    seed: int
    size: int | None
    options: dict[str, Any]
    fit: dict[str, Any]
    target_params: int | None = None
    expected_params: int | None = None
    variant: str | None = None
    signal_options: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"  #: where the cell fits ("cpu", "cuda:0", "mps"): one device per results folder
    #: FreSh picks this option's value on the signal before the fit (None: the options as given)
    fresh: FreshGrid | None = None
    #: FreSh's stored choice for the cell ({param, value, inits, seconds, choice}), which ``run_suite`` reads from
    #: the suite's ``fresh/`` folder before the fits; not part of the spec (the choice follows from it)
    fresh_choice: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        if self.variant:
            return self.variant
        return budget_label(self.target_params) if self.target_params else "default"

    @property
    def cell_id(self) -> str:
        """File-name-safe id, unique within a suite: <model>-<budget>-<signal>-<size>-s<seed>."""
        stem = re.sub(r"[^A-Za-z0-9_.]+", "_", Path(self.signal).stem) or "signal"
        label = re.sub(r"[^A-Za-z0-9_.=-]+", "_", self.label)
        return f"{self.model}-{label}-{stem}-{self.size or 'full'}-s{self.seed}"

    def spec(self) -> dict[str, Any]:
        """JSON-normalised description; a stored result counts as done only if its spec is equal. The CPU is
        left out of it (results from before devices were recorded stay valid)."""
        spec = json.loads(json.dumps(asdict(self)))
        if spec["device"] == "cpu":
            del spec["device"]
        if spec["fresh"] is None:  # likewise for cells without a FreSh selection
            del spec["fresh"]
        del spec["fresh_choice"]
        return spec


@dataclass(frozen=True)
class Overrides:
    """What the command line may change in a suite; None keeps the suite's own value."""

    signals: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None
    steps: int | None = None
    max_seconds: float | None = None
    seeds: int | None = None
    size: int | None = None
    full_size: bool = False
    quick: bool = False
    precision: str | None = None  #: fit every cell at bf16 / fp16 (results in <suite>-<precision>); None = fp32
    device: str | None = None  #: fit every cell on this (resolved) device; None = the CPU (see ``device_variant``)
    budgets: tuple[int, ...] | None = None  #: parameter targets of every model (suites with budgets); None = its own


def _grid_at_nstr_resolution(log2_table: int) -> dict[str, Any]:
    """The hash grid with a ``2^log2_table`` table and NSTR's finest resolution (512 cells; its own is 2048)."""
    return {"log2_table": log2_table, "max_res": 512}


#: The paper model's own minibatch (part of its recipe, ``NSTRPaper.fit_defaults``).
PAPER_BATCH: int = model_class("nstr-paper").fit_defaults["batch_size"]
#: NSTR's ablation (the NSTR issue): each variant changes one default; "default" is the reference row.
ABLATION_VARIANTS = (
    Variant("default", "nstr"),
    # What `nstr fit` gives an image (the kind's settings over the model's own): the others switch from "default".
    Variant("image-defaults", "nstr", dict(IMAGE_NSTR_DEFAULTS)),
    Variant("no-sinusoids", "nstr", {"compose": "plain"}),
    Variant("compose=sum", "nstr", {"compose": "sum"}),
    *(Variant(f"lambda_pde={w:g}", "nstr", {"lambda_pde": w}) for w in (0.01, 0.1, 1.0)),
    *(Variant(f"K={k}", "nstr", {"k": k}) for k in (4, 8, 32, 64)),
    *(Variant(f"decoder_width={w}", "nstr", {"decoder_width": w}) for w in (16, 32, 128)),
    *(Variant(f"decoder_layers={n}", "nstr", {"decoder_layers": n}) for n in (1, 3)),
    *(Variant(f"basis_sigma={s:g}", "nstr", {"basis_sigma": s}) for s in (2.0, 32.0)),
    Variant("one-grid-128x128x8", "nstr", {"levels": 1, "grid_res": 127, "grid_channels": 8}),
    Variant("levels=4", "nstr", {"levels": 4}),
    Variant("levels=8", "nstr", {"levels": 8}),
    Variant("max_res=256", "nstr", {"max_res": 256}),
    Variant("frozen-basis", "nstr", {"basis_learnable": False}),
    Variant("no-decoder-features", "nstr", {"decoder_features": False}),
    Variant("compose=phase", "nstr", {"compose": "phase"}),
    Variant("phase,linear,sigma=128", "nstr", {"compose": "phase", "spectral_layers": 0, "basis_sigma": 128.0}),
    Variant("vector,linear,sigma=128", "nstr", {"spectral_layers": 0, "basis_sigma": 128.0}),
    Variant("grid_lr_scale=5", "nstr", {"grid_lr_scale": 5.0}),
    # The paper's model with its own minibatch (part of its recipe: the suite's whole image leaves it few steps),
    # with and without the paper's transport term: the ledger's PDE row for the paper's model.
    Variant("nstr-paper", "nstr-paper", fit={"batch_size": PAPER_BATCH}),
    Variant("nstr-paper,lambda_pde=0.1", "nstr-paper", {"lambda_pde": 0.1}, fit={"batch_size": PAPER_BATCH}),
    Variant("hashgrid-same-table", "hashgrid", _grid_at_nstr_resolution(13)),
)

#: The paper's model against the hash grid and NSTR's image settings at one minibatch (its own 2^14): in the
#: ablation it alone trains on minibatches, so its lead there mixes its architecture with its step count. The
#: hash grid and NSTR at NSTR's table (0.17M parameters) and at about the paper model's (2^14 table, 0.29M).
PAPER_MODEL_VARIANTS = (
    Variant("nstr-paper", "nstr-paper"),
    Variant("image-defaults", "nstr", dict(IMAGE_NSTR_DEFAULTS)),
    Variant("hashgrid-same-table", "hashgrid", _grid_at_nstr_resolution(13)),
    Variant("image-defaults,log2_table=14", "nstr", {**IMAGE_NSTR_DEFAULTS, "log2_table": 14}),
    Variant("hashgrid,log2_table=14", "hashgrid", _grid_at_nstr_resolution(14)),
)

#: The Kodak pair of compactness, directions and kodak-models: a detailed photograph and a smooth one.
KODAK_PAIR = (f"{KODAK_DIR}/kodim05.png", f"{KODAK_DIR}/kodim23.png")
#: The compactness claim on images (issue 17): each model's PSNR-parameter curve at equal steps, so the step
#: cost of a model does not enter. 300 steps of 8,192 pixels keep the 1M-parameter MLPs affordable (1 h 30 min to
#: 3 h for the suite on 2 cores, by host). Every model sees the same pixels per step, the 2-D Gaussians too (at
#: equal time they draw whole images, ``WHOLE_IMAGES``, as a step costs them about the same either way): equal
#: steps here means equal data.
COMPACTNESS_STEPS = 300
COMPACTNESS_BATCH = 8_192
#: NSTR's Table 1 budgets (table1 runs them at equal time; compactness includes them at equal steps, the claims
#: ledger's equal-steps column for Table 1).
TABLE1_BUDGETS = {"ffn": 1_200_000, "siren": 1_200_000, "hashgrid": 500_000, "nstr": 300_000}
#: table1's budget for its other models (the paper's NSTR and the 2-D Gaussians, NSTR's size).
TABLE1_OTHER_BUDGET = 300_000

#: Issue 17's directions for NSTR where it trails: Kodak at about 0.3M parameters (log2_table 14, the kodak
#: suite's NSTR at 0.3M), 60 s, 3 seeds, each switch one at a time against the default and against the hash grid
#: with NSTR's table, on a detailed photograph (kodim05) and a smooth one (kodim23).
DIRECTIONS_TABLE = {"log2_table": 14}


def _same_table_grid(**options: Any) -> dict[str, Any]:
    """The hash grid with NSTR's table, levels and finest resolution (512), changed by ``options``."""
    return {**DIRECTIONS_TABLE, "levels": 16, "base_res": 16, "max_res": 512, "features": 2, **options}


def _phase_linear(**options: Any) -> dict[str, Any]:
    """NSTR with phase modulation and a linear H_psi (the cheap switches), plus ``options``."""
    return {**DIRECTIONS_TABLE, "compose": "phase", "spectral_layers": 0, **options}


DIRECTIONS_VARIANTS = (
    Variant("default", "nstr", DIRECTIONS_TABLE),
    Variant("hashgrid-same-table", "hashgrid", _same_table_grid()),
    # The sinusoids' worth: none at all (the grid and networks alone).
    Variant("no-sinusoids", "nstr", {**DIRECTIONS_TABLE, "compose": "plain"}),
    # NSTR's per-step overhead: a linear H_psi; one decoder layer.
    Variant("spectral_layers=0", "nstr", {**DIRECTIONS_TABLE, "spectral_layers": 0}),
    Variant("decoder_layers=1", "nstr", {**DIRECTIONS_TABLE, "decoder_layers": 1}),
    # The transport made literal, cheap, with the basis above the grid's finest resolution.
    Variant("phase,linear,sigma=128", "nstr", _phase_linear(basis_sigma=128.0)),
    # The finest grid level at 2048 cells (beyond the photographs' 768 pixels), for both.
    Variant("max_res=2048", "nstr", {**DIRECTIONS_TABLE, "max_res": 2048}),
    Variant("hashgrid-same-table,max_res=2048", "hashgrid", _same_table_grid(max_res=2048)),
    # The cheap switches together (each helped a little alone), against the hash grid with one hidden layer too,
    # so neither model is measured without the decoder the other gets.
    Variant("phase,linear,sigma=128,decoder_layers=1", "nstr", _phase_linear(basis_sigma=128.0, decoder_layers=1)),
    # The basis drawn from the photograph's own spectrum instead of at random (with the cheap phase switches).
    Variant("phase,linear,basis=spectrum", "nstr", _phase_linear(basis_init="spectrum")),
    Variant("phase,linear,basis=spectrum,decoder_layers=1", "nstr",
            _phase_linear(basis_init="spectrum", decoder_layers=1)),
    Variant("hashgrid-same-table,layers=1", "hashgrid", _same_table_grid(layers=1)),
)

#: DINR against its static counterparts at matched parameters, under two protocols, one suite each (each stored
#: from one commit in one sitting). ``dinr``, equal time (60 s): each model's defaults on the development
#: photographs; denoising at 30 % noise (the paper's Fig. 6 level) with the kinetic term on and off; solver and
#: step count; NSTR's spectral features as the embedding. ``dinr-steps``, equal steps (``DINR_STEPS`` optimiser
#: steps each, the paper's protocol of equal training epochs): each model's defaults, the paper's own comparison
#: (the official Dynamical SIREN and the static SIREN both trained with the official recipe: AdamW 1e-3, plateau
#: schedule), and the kinetic term at 30 % noise under that recipe. Noise is Gaussian with std a fraction of the
#: value range, scored on the clean image. Labels of equal-steps variants end with ``EQUAL_STEPS`` (the ledger
#: reads both suites together). Sized for 2 cores, 3 seeds each: an official DINR step costs ~2.3 s at a
#: minibatch of 16,384 (12 float32 field evaluations), so ``dinr-steps`` uses ``DINR_STEPS_BATCH`` on two
#: photographs (~1 h 40 min; five photographs at 16,384 would be ~7 h), ``dinr`` ~1 h 30 min.
DINR_PARAMS = 150_000
DINR_STEPS = 300
DINR_STEPS_BATCH = 8_192
DINR_STEPS_SIGNALS = ("astronaut", "camera")
DINR_NOISE = 0.3
EQUAL_STEPS = ",equal-steps"
#: The official training recipe (DINR's configs train every model of a comparison with it).
OFFICIAL_RECIPE = {"lr": 1e-3, "optimizer": "adamw", "schedule": "plateau"}
DINR_MODELS = ("siren", "dinr-siren", "ffn", "dinr-ffn")
#: (label, model, options[, fit]) of the kinetic-term comparison: the static SIREN and DINR with the term on and
#: off, with each model's defaults (equal time) or the official recipe (equal steps).
_TIME_NOISE_ARMS = (("siren", "siren", {}), ("dinr-siren,ke=0.1", "dinr-siren", {}),
                    ("dinr-siren,ke=0", "dinr-siren", {"ke_weight": 0.0}))
_STEPS_NOISE_ARMS = (("siren,official-recipe", "siren", {}, OFFICIAL_RECIPE),
                     ("dinr-official,ke=0.1", "dinr-official", {}, {}),
                     ("dinr-official,ke=0", "dinr-official", {"ke_weight": 0.0}, {}))
DINR_VARIANTS = (
    *(Variant(name, name, target_params=DINR_PARAMS) for name in DINR_MODELS),
    *(Variant(f"{label},noise={DINR_NOISE:g}", model, options, DINR_PARAMS, {"noise": DINR_NOISE}, ("camera",))
      for label, model, options in _TIME_NOISE_ARMS),
    # Solvers and step counts around the default (Euler, 2 steps: the dinr-siren cells above).
    *(Variant(f"dinr-siren,{solver},steps={steps}", "dinr-siren", {"solver": solver, "ode_steps": steps},
              DINR_PARAMS, signals=("camera",))
      for solver, steps in (("euler", 4), ("euler", 12), ("rk4", 4))),
    Variant("dinr-siren,dopri5", "dinr-siren", {"solver": "dopri5"}, DINR_PARAMS, signals=("camera",)),
    # The paper's open question: dynamics on top of a stronger encoding (NSTR's spectral features).
    Variant("dinr,embedding=nstr", "dinr", {"embedding": "nstr", "hidden": 64, "blocks": 2, "log2_table": 12},
            signals=("camera",)),
    Variant("nstr,log2_table=12", "nstr", {"log2_table": 12}, signals=("camera",)),
)
DINR_STEPS_VARIANTS = (
    # Clean: each model's defaults, then both at the official recipe (the paper's comparison).
    *(Variant(f"{name}{EQUAL_STEPS}", name, target_params=DINR_PARAMS) for name in DINR_MODELS),
    Variant(f"siren,official-recipe{EQUAL_STEPS}", "siren", target_params=DINR_PARAMS, fit=OFFICIAL_RECIPE),
    Variant(f"dinr-official{EQUAL_STEPS}", "dinr-official", target_params=DINR_PARAMS),
    *(Variant(f"{label},noise={DINR_NOISE:g}{EQUAL_STEPS}", model, options, DINR_PARAMS, {"noise": DINR_NOISE},
              ("camera",), fit=fit) for label, model, options, fit in _STEPS_NOISE_ARMS),
    # The previous default (4 Euler steps) at equal steps: what the cheaper default (2) costs per step.
    Variant(f"dinr-siren,euler,steps=4{EQUAL_STEPS}", "dinr-siren", {"solver": "euler", "ode_steps": 4},
            DINR_PARAMS),
)

#: The NSTR paper's NeRF comparison (Sec. 5.6): each model at its default size and at the other's, so the
#: ledger can ask how many parameters each needs for a given test PSNR.
NERF_VARIANTS = (
    Variant("nstr", "nerf-nstr"),
    Variant("nstr-small", "nerf-nstr", {"log2_table": 13}),
    Variant("nstr-large", "nerf-nstr", {"log2_table": 17}),
    Variant("hashgrid", "nerf-hashgrid"),
    Variant("hashgrid-small", "nerf-hashgrid", {"log2_table": 15}),
    Variant("triplane", "nerf-triplane"),
)

#: The radiance fields on lego, each at its default size and at the others' (the nerf suite's variants), at
#: 100 x 100 (downscale 2) and at 200 x 200.
LEGO_VARIANTS = tuple(
    replace(v, label=f"{v.label},{side}px", signal_options={**v.signal_options, "downscale": downscale})
    for side, downscale in ((100, 2), (200, 1)) for v in NERF_VARIANTS)


SUITES: dict[str, Suite] = {
    suite.name: suite
    for suite in (
        Suite(
            "quick",
            "smoke test: two models on camera at 64x64, ~25k parameters, 3 s each",
            signals=("camera",), models=("siren", "hashgrid", "ffn"), budgets={ANY_MODEL: (25_000,)},
            size=64, max_seconds=3.0, seeds=1, fit={"batch_size": 0, "eval_every": 25}, max_models=2,
            threads=1,
        ),
        Suite(
            "table1",
            "NSTR Table 1 analogue: the paper's parameter budgets, equal wall time, development photographs",
            signals=PHOTOS, models=(*PAPER_MODELS, "nstr-paper", "gaussians"),
            budgets={**{model: (budget,) for model, budget in TABLE1_BUDGETS.items()},
                     ANY_MODEL: (TABLE1_OTHER_BUDGET,)},
            size=None, max_seconds=60.0, seeds=3, fit={"eval_every": 25, "batch_size": MINIBATCH},
            model_fit=WHOLE_IMAGES, fresh=True, fresh_inits=SUITE_FRESH_INITS,
        ),
        Suite(
            "budget",
            "PSNR against parameter count (25k-300k) at equal wall time, with 10% of pixels held out",
            signals=("astronaut", "camera", "grass"), models=(*PAPER_MODELS, "gaussians"),
            budgets={ANY_MODEL: (25_000, 50_000, 100_000, 300_000)},
            size=None, max_seconds=30.0, seeds=3, fit={"eval_every": 25, "holdout": 0.1, "batch_size": MINIBATCH},
            model_fit=WHOLE_IMAGES, fresh=True, fresh_inits=SUITE_FRESH_INITS,
        ),
        Suite(
            "ablation",
            "NSTR's switches one at a time against its default at equal wall time, and the same-table hash grid",
            signals=("astronaut", "camera"), models=("nstr",), budgets={}, size=256, max_seconds=30.0, seeds=3,
            fit={"eval_every": 50, "batch_size": 0}, variants=ABLATION_VARIANTS, kind_defaults=False,
        ),
        Suite(
            "paper-model",
            "The paper's NSTR (one coarse grid) against the hash grid and NSTR's image settings, all at the paper "
            "model's minibatch of 2^14, equal wall time (the ablation's protocol otherwise)",
            signals=("astronaut", "camera"), models=("nstr-paper",), budgets={}, size=256, max_seconds=30.0,
            seeds=3, fit={"eval_every": 50, "batch_size": PAPER_BATCH},
            variants=PAPER_MODEL_VARIANTS, kind_defaults=False,
        ),
        Suite(
            "compactness",
            f"PSNR against parameters (25k-1.2M) at equal steps ({COMPACTNESS_STEPS} of {COMPACTNESS_BATCH:,} "
            "pixels) on two Kodak photographs: NSTR, the hash grid, SIREN, the Fourier MLP and the 2-D Gaussians "
            "(on the same minibatches), with table1's budgets among them (the MLPs' largest point is 1.2M, the hash "
            "grid also has 0.5M); the ledger reads NSTR's parameter ratio off the curves and table1's claims at "
            "equal steps",
            signals=KODAK_PAIR, models=("siren", "ffn", "hashgrid", "nstr", "gaussians"),
            budgets={ANY_MODEL: (25_000, 50_000, 100_000, 300_000, 1_000_000),
                     "siren": (25_000, 50_000, 100_000, 300_000, TABLE1_BUDGETS["siren"]),
                     "ffn": (25_000, 50_000, 100_000, 300_000, TABLE1_BUDGETS["ffn"]),
                     "hashgrid": (25_000, 50_000, 100_000, 300_000, TABLE1_BUDGETS["hashgrid"], 1_000_000)},
            size=None, max_seconds=None, steps=COMPACTNESS_STEPS, seeds=3,
            fit={"eval_every": 50, "batch_size": COMPACTNESS_BATCH},
        ),
        Suite(
            "directions",
            "NSTR's directions (issue 17) on Kodak at about 0.3M parameters, 60 s, 3 seeds: each switch against the "
            "default and the hash grid with NSTR's table",
            signals=KODAK_PAIR, models=("nstr",), budgets={},
            size=None, max_seconds=60.0, seeds=3, fit={"eval_every": 50, "batch_size": MINIBATCH},
            variants=DIRECTIONS_VARIANTS, kind_defaults=False,
        ),
        Suite(
            "dinr",
            "DINR against static SIREN / Fourier MLP at matched parameters and equal time (60 s); noise with the "
            "kinetic term on and off; solvers (the paper's protocol, equal steps: dinr-steps)",
            signals=PHOTOS, models=("dinr-siren",), budgets={}, size=256, max_seconds=60.0, seeds=3,
            fit={"eval_every": 50, "batch_size": MINIBATCH}, variants=DINR_VARIANTS,
        ),
        Suite(
            "dinr-steps",
            f"DINR against static SIREN / Fourier MLP at matched parameters and equal steps ({DINR_STEPS} of "
            f"{DINR_STEPS_BATCH:,} pixels), each model's defaults and the paper's comparison (the official recipe "
            "for both); the kinetic term at 30 % noise",
            signals=DINR_STEPS_SIGNALS, models=("dinr-siren",), budgets={}, size=256, max_seconds=None,
            steps=DINR_STEPS, seeds=3, fit={"eval_every": 50, "batch_size": DINR_STEPS_BATCH},
            variants=DINR_STEPS_VARIANTS,
        ),
        Suite(
            "audio",
            "NSTR section 5.4 analogue: SNR of waveforms (speech, stereo chime, linear chirp) at equal wall time "
            "and 50k parameters, fewer than the real clips' samples (so no model can store them)",
            signals=("../shared/data/audio/speech_front_center.wav", "../shared/data/audio/chime_complete.wav",
                     "chirp"),
            models=PAPER_MODELS, budgets={ANY_MODEL: (50_000,)},
            size=None, max_seconds=60.0, seeds=3, fit={"eval_every": 50, "batch_size": 4096},
        ),
        Suite(
            "sdf",
            "NSTR section 5.5 analogue: signed distance fields of bunny and fandisk (sharp creases) at equal "
            "wall time and 200k parameters; Chamfer, normal consistency, IoU and F-score of the extracted mesh",
            signals=("../shared/data/meshes/bunny.off", "../shared/data/meshes/fandisk.off"),
            models=("siren", "ffn", "hashgrid", "nstr"), budgets={ANY_MODEL: (200_000,)},
            size=None, max_seconds=60.0, seeds=3, fit={"eval_every": 50},
        ),
        Suite(
            "nerf",
            "NSTR section 5.6 analogue: radiance fields of the built-in generated scene (100 x 100 pixels, 100 "
            "train / 20 test views) at equal wall time: NSTR against the hash grid and a TensoRF tri-plane field; "
            "NSTR and the hash grid also at each other's size; test-view PSNR / SSIM, depth error, rays per second",
            signals=("analytic",), models=("nerf-nstr",), budgets={}, size=None, max_seconds=300.0, seeds=2,
            fit={"eval_every": 50, "batch_size": 0}, variants=NERF_VARIANTS,
        ),
        Suite(
            "kodak",
            "The 24 Kodak photographs (768 x 512) at about 0.3M parameters: NSTR against the hash grid with NSTR's "
            f"table (what NSTR adds to the grid it is built on), at equal wall time (60 s) and at equal steps "
            f"({KODAK_STEPS} steps of 16,384 pixels), 3 seeds; every other image model is in kodak-models",
            signals=KODAK, models=("nstr",), budgets={ANY_MODEL: (300_000,)},
            size=None, max_seconds=60.0, seeds=3, fit={"eval_every": 50, "batch_size": MINIBATCH},
            same_table=True,
            protocols=(("60s", {"max_seconds": 60.0, "steps": None}),
                       (f"{KODAK_STEPS}steps", {"steps": KODAK_STEPS, "max_seconds": None})),
        ),
        Suite(
            "kodak-models",
            "Every image model on two Kodak photographs (kodim05, detailed; kodim23, smooth) at about 0.1M, 0.3M "
            "and 1M parameters, 60 s of wall time, 3 seeds; SIREN and the Fourier MLP also with FreSh's embedding "
            "scale, the hash grid also with NSTR's table. Equal steps: the compactness suite (5 models, 25k-1.2M) "
            "and dinr-steps",
            signals=KODAK_PAIR, models=IMAGE_MODELS, budgets={ANY_MODEL: (100_000, 300_000, 1_000_000)},
            size=None, max_seconds=60.0, seeds=3, fit={"eval_every": 50, "batch_size": MINIBATCH},
            model_fit=WHOLE_IMAGES, same_table=True, fresh=True, fresh_inits=SUITE_FRESH_INITS,
        ),
        Suite(
            "lego",
            "The lego scene of nerf_synthetic (85 train / 10 test views of the public training poses) at 100 x 100 "
            "and 200 x 200: NSTR, the hash grid and the TensoRF tri-plane field at equal wall time (300 s), NSTR "
            "and the hash grid also at each other's size; test PSNR / SSIM, time to 25 and 28 dB on the val views",
            signals=(LEGO,), models=("nerf-nstr",), budgets={}, size=None, max_seconds=300.0, seeds=2,
            fit={"eval_every": 50, "batch_size": 0}, variants=LEGO_VARIANTS,
        ),
    )
}

#: Equal-steps twins of the equal-time suites whose claims had one protocol (issue 21: every claim under both):
#: each twin is its suite at a step budget with no time limit, results in ``<suite>-steps``, read by the claims
#: ledger's equal-steps column. The papers train 20k-50k Adam steps on a GPU; on 2 cores each budget is about what
#: the suite's slowest model makes in its time budget (measured on the stored cells), so every model, the slowest
#: included, trains about as long as it does at equal time, and a twin costs about what its suite does.
#: Audio: SIREN and the Fourier MLP make 1,750-2,100 steps in 60 s (NSTR ~5,500, the hash grid ~8,000).
AUDIO_STEPS = 2_000
#: Shapes: SIREN makes 470-495 steps in 60 s (the Fourier MLP ~800, NSTR and the hash grid ~3,500).
SDF_STEPS = 500
#: NSTR's ablation: the transport term (lambda_pde=0.1) makes ~48 whole-image steps in 30 s and K=64 ~53; 150
#: steps (~100 s for them) so the comparison is not read off the first epochs; the variants the claims read only.
ABLATION_STEPS = 150
ABLATION_CLAIM_LABELS = ("default", "lambda_pde=0.1", "K=4", "K=8", "K=32", "K=64", "nstr-paper",
                         "nstr-paper,lambda_pde=0.1")
#: Radiance fields: the tri-plane field makes 200-235 steps in 300 s (NSTR ~450-530, the hash grid ~550-630).
RADIANCE_STEPS = 200


def equal_steps_twin(suite: Suite, steps: int, what: str, **changes: Any) -> Suite:
    """``suite`` with every cell trained ``steps`` optimiser steps and no time limit, as ``<name>-steps``;
    ``what`` it compares heads its description."""
    return replace(suite, name=f"{suite.name}-steps", max_seconds=None, steps=steps,
                   description=f"{what} at equal steps ({steps:,} each, no time limit; `{suite.name}` at equal time)",
                   **changes)


SUITES.update({twin.name: twin for twin in (
    equal_steps_twin(SUITES["audio"], AUDIO_STEPS, "NSTR section 5.4 analogue: SNR of the audio suite's waveforms"),
    equal_steps_twin(SUITES["sdf"], SDF_STEPS, "NSTR section 5.5 analogue: the sdf suite's signed distance fields"),
    equal_steps_twin(SUITES["ablation"], ABLATION_STEPS,
                     "NSTR's transport term and K sweep (the ablation variants the claims read)",
                     variants=tuple(v for v in ABLATION_VARIANTS if v.label in ABLATION_CLAIM_LABELS)),
    equal_steps_twin(SUITES["nerf"], RADIANCE_STEPS, "NSTR section 5.6 analogue: the nerf suite's radiance fields"),
    # lego's claims read its 200 x 200 cells (the scene's own size) only
    equal_steps_twin(SUITES["lego"], RADIANCE_STEPS, "The lego suite's radiance fields at 200 x 200",
                     variants=tuple(v for v in LEGO_VARIANTS if v.signal_options["downscale"] == 1)),
)})


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise NstrError(f"unknown suite '{name}': choose one of {', '.join(SUITES)}")
    return SUITES[name]


def quick_variant(suite: Suite) -> Suite:
    """The suite shrunk to a wiring check: first signal at 64 px, 3 s per cell (and 20 steps, when the suite
    compares protocols; 3 steps for equal-steps variants), one seed, its own results."""
    if suite.name == "quick":
        return suite
    protocols = ((("3s", {"max_seconds": 3.0, "steps": None}), ("20steps", {"steps": 20, "max_seconds": None}))
                 if suite.protocols else ())
    return replace(suite, name=f"{suite.name}-quick", signals=suite.signals[:1], size=64, max_seconds=3.0,
                   steps=None, seeds=1, protocols=protocols,
                   variants=tuple(replace(v, seeds=None) for v in suite.variants))


def precision_variant(suite: Suite, precision: str) -> Suite:
    """The suite fitted at ``precision``: the same cells with ``precision`` in their fit settings, results in their
    own folder ``<suite>-<precision>`` (fp32, the default, is the suite itself: its stored results stay valid)."""
    if precision not in PRECISIONS:
        raise NstrError(f"--precision must be one of {', '.join(PRECISIONS)}, got '{precision}'")
    if precision == "fp32":
        return suite
    return replace(suite, name=f"{suite.name}-{precision}", fit={**suite.fit, "precision": precision})


def device_variant(suite: Suite, device: str) -> Suite:
    """The suite fitted on ``device`` (a resolved name: "cpu", "cuda:0", "mps"): results in their own folder
    ``<suite>-<device type>`` (the CPU's are the suite itself), so no equal-time comparison mixes devices."""
    kind = device.split(":")[0]
    return suite if kind == "cpu" else replace(suite, name=f"{suite.name}-{kind}")


def split_device(name: str) -> tuple[str, str]:
    """(the rest, device type) of a results folder name: ``table1-quick-cuda`` -> ("table1-quick", "cuda")."""
    for kind in DEVICE_TYPES:
        if name.endswith(f"-{kind}"):
            return name[: -len(kind) - 1], kind
    return name, "cpu"


def parse_suite_name(name: str) -> tuple[str, bool, str]:
    """(registered suite, shrunk by --quick, precision) of a results folder name such as ``table1-quick-bf16``."""
    base, precision = name, "fp32"
    for candidate in PRECISIONS:
        if candidate != "fp32" and name.endswith(f"-{candidate}"):
            base, precision = name[: -len(candidate) - 1], candidate
    quick = base.endswith("-quick")
    return base.removesuffix("-quick"), quick, precision


def _chosen_models(suite: Suite, models: tuple[str, ...] | None) -> list[str]:
    if models is not None:
        unknown = [m for m in models if m not in MODELS]
        if unknown:
            raise NstrError(f"unknown model '{unknown[0]}' in --models: choose from {', '.join(sorted(MODELS))}")
        return _unique(models, "--models")
    chosen = [m for m in suite.models if m in MODELS]
    if not chosen:
        raise NstrError(f"suite '{suite.name}' needs one of {', '.join(suite.models)}; none is registered")
    return chosen[: suite.max_models] if suite.max_models else chosen


def _unique(names: tuple[str, ...], flag: str) -> list[str]:
    if not names:
        raise NstrError(f"{flag} is empty; give a comma-separated list")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise NstrError(f"{flag} names '{repeated[0]}' twice; give each once")
    return list(names)


@lru_cache(maxsize=64)
def _signal(name: str):
    builtin = name in BUILTIN_IMAGES or any(cls.accepts(name) and not Path(name).suffix
                                            for cls in SIGNAL_KINDS.values())
    if not builtin and not Path(name).is_file():
        raise NstrError(f"unknown signal '{name}': give a built-in image ({', '.join(PHOTOS)}, ...) or a file")
    return load_signal(name)


def signal_dims(name: str) -> tuple[int, int]:
    """(in_dim, out_dim) of a signal, with a one-line error for a name that is neither built in nor a file."""
    signal = _signal(name)
    return signal.in_dim, signal.out_dim


def signal_length(name: str) -> int:
    """Samples (pixels, audio samples, training rays...) of a signal: a whole-signal batch's size."""
    return len(_signal(name))


def on_kodak(suite: Suite) -> bool:
    """Whether every signal of the suite is a Kodak photograph (so ``--images`` may choose among them)."""
    return all(signal in KODAK for signal in suite.signals)


def kodak_signals(names: tuple[str, ...]) -> tuple[str, ...]:
    """Kodak file paths of image names such as ``kodim01`` (``--images``), in the given order."""
    known = {Path(p).stem: p for p in KODAK}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise NstrError(f"unknown Kodak image '{unknown[0]}' in --images: give kodim01 ... kodim24")
    return tuple(known[n] for n in _unique(names, "--images"))


def starting_options(suite: Suite, signal: str, model: str) -> dict[str, Any]:
    """What a suite's cell starts from before its own options and sizing: the options the signal's kind suggests
    for the model (its ``model_defaults``), or none where the suite measures switches from the model's own
    defaults (``Suite.kind_defaults``)."""
    return _signal(signal).model_defaults(model) if suite.kind_defaults else {}


def cell_fit(signal: str, model: str, fit: dict[str, Any]) -> dict[str, Any]:
    """A cell's fit settings: the suite's ``fit`` over the kind's and the model's ``fit_defaults`` (as ``nstr fit``
    applies them)."""
    return {**fit_defaults(type(_signal(signal)), model_class(model)), **fit}


def _fit_settings(suite: Suite, o: Overrides) -> dict[str, Any]:
    if o.steps is not None and o.max_seconds is not None:
        raise NstrError("give either --steps or --max-seconds, not both (every cell gets the same budget)")
    steps, seconds = suite.steps, suite.max_seconds
    if o.steps is not None or o.max_seconds is not None:
        steps, seconds = o.steps, o.max_seconds
    fit = {**suite.fit, "steps": steps, "max_seconds": seconds}
    FitSettings(**fit).validate()
    return fit


def expand(suite: Suite | str, overrides: Overrides | None = None) -> list[Cell]:
    """All cells of a suite, in order model x budget x signal x seed."""
    o = overrides or Overrides()
    suite = get_suite(suite) if isinstance(suite, str) else suite
    if o.quick:
        suite = quick_variant(suite)
    if o.precision is not None:
        suite = precision_variant(suite, o.precision)
    device = o.device or "cpu"
    suite = device_variant(suite, device)
    seeds = suite.seeds if o.seeds is None else o.seeds
    if seeds < 1:
        raise NstrError(f"--seeds must be at least 1, got {seeds}")
    if o.size is not None and o.size < 2:
        raise NstrError(f"--size must be at least 2 pixels, got {o.size}")
    size = None if o.full_size else (o.size or suite.size)
    signals = _unique(o.signals, "--signals") if o.signals is not None else list(suite.signals)
    models = _chosen_models(suite, o.models)
    fit = _fit_settings(suite, o)
    dims = {name: signal_dims(name) for name in signals}
    if suite.variants:
        if o.budgets is not None:
            raise NstrError(f"suite '{suite.name}' compares named configurations, not parameter budgets: "
                            "drop --budgets")
        cells = [replace(c, device=device) for c in _variant_cells(suite, signals, seeds, size, fit, dims, o.models,
                                                                    o.seeds is not None)]
        return with_protocols(suite, cells, o)
    if o.budgets is not None and any(b < 1 for b in o.budgets):
        raise NstrError(f"--budgets must be positive parameter counts, got {','.join(map(str, o.budgets))}")
    cells = []
    for model in models:
        targets = o.budgets if o.budgets is not None else suite.budgets.get(model, suite.budgets.get(ANY_MODEL, ()))
        for target in targets:
            for signal in signals:
                options, params = size_model(model, *dims[signal], target, starting_options(suite, signal, model))
                model_fit = {**fit, **suite.model_fit.get(model, {})}
                cells += [Cell(suite.name, model, signal, seed, size, options, cell_fit(signal, model, model_fit),
                               target, params, device=device) for seed in range(seeds)]
    if suite.fresh:
        cells += [fresh_cell(c, suite.fresh_inits) for c in cells if c.model in FRESH_GRIDS]
    if suite.same_table and "hashgrid" in MODELS:
        cells += [same_table_cell(c, dims[c.signal]) for c in cells if c.model == "nstr"]
    return with_protocols(suite, cells, o)


def fresh_cell(cell: Cell, inits: int = FRESH_INITS) -> Cell:
    """The cell again with its embedding scale left to FreSh (``FRESH_GRIDS``, scoring each value by ``inits``
    untrained models), labelled "<label>+fresh"."""
    return replace(cell, fresh=replace(FRESH_GRIDS[cell.model], inits=inits), variant=f"{cell.label}{FRESH}")


def same_table_options(nstr_options: dict[str, Any]) -> dict[str, Any]:
    """Hash-grid options with the table of an NSTR configuration: table size, levels, coarsest and finest
    resolution, features per entry (the hash grid keeps its own MLP)."""
    defaults = model_class("nstr").Config()
    pick = lambda name: nstr_options.get(name, getattr(defaults, name))  # noqa: E731
    return {"log2_table": pick("log2_table"), "levels": pick("levels"), "base_res": pick("grid_res"),
            "max_res": max(pick("max_res"), pick("grid_res")), "features": pick("grid_channels")}


def same_table_cell(nstr: Cell, dims: tuple[int, int]) -> Cell:
    """The hash-grid cell beside an NSTR cell (same signal, seed and fit), labelled "same-table-<budget>"."""
    options = same_table_options(nstr.options)
    return replace(nstr, model="hashgrid", options=options, expected_params=count_params("hashgrid", *dims, options),
                   variant=f"{SAME_TABLE}{nstr.label}")


def protocol_name(fit: dict[str, Any]) -> str:
    """A budget as a label suffix: "60s", "300steps" (both when both are set)."""
    parts = ([f"{fit['steps']}steps"] if fit.get("steps") else []) + (
        [f"{fit['max_seconds']:g}s"] if fit.get("max_seconds") else [])
    return "+".join(parts) or "default"


def with_protocols(suite: Suite, cells: list[Cell], o: Overrides) -> list[Cell]:
    """Each cell once per protocol of the suite (protocol outermost), labelled "<label>-<protocol>"; a --steps or
    --max-seconds override replaces the protocols by that one budget. Suites without protocols: ``cells``."""
    if not suite.protocols:
        return cells
    protocols = suite.protocols
    if o.steps is not None or o.max_seconds is not None:
        protocols = ((protocol_name(cells[0].fit), {}),) if cells else ()
    return [replace(c, fit={**c.fit, **budget}, variant=f"{c.label}-{name}")
            for name, budget in protocols for c in cells]


def _variant_cells(suite: Suite, signals: list[str], seeds: int, size: int | None, fit: dict[str, Any],
                   dims: dict[str, tuple[int, int]], models: tuple[str, ...] | None, seeds_given: bool = False
                   ) -> list[Cell]:
    """Cells of a variant suite, in order variant x signal x seed; --models keeps the variants of those models.
    A variant's own fit settings join the suite's; its own seeds count unless --seeds was given."""
    chosen = [v for v in suite.variants if v.model in MODELS and (models is None or v.model in models)]
    if not chosen:
        raise NstrError(f"suite '{suite.name}' has no variants of {', '.join(models or ())}")
    cells = []
    for variant in chosen:
        variant_fit = {**fit, **variant.fit}
        FitSettings(**variant_fit).validate()
        variant_seeds = seeds if seeds_given or variant.seeds is None else variant.seeds
        for signal in signals:
            if variant.signals is not None and signal not in variant.signals:
                continue
            options = {**starting_options(suite, signal, variant.model), **variant.options}
            if variant.target_params:
                options, params = size_model(variant.model, *dims[signal], variant.target_params, options)
            else:
                params = count_params(variant.model, *dims[signal], options)
            cells += [Cell(suite.name, variant.model, signal, seed, size, options,
                           cell_fit(signal, variant.model, variant_fit), variant.target_params, params, variant.label,
                           dict(variant.signal_options)) for seed in range(variant_seeds)]
    return cells
