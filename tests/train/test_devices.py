"""Device discipline: every tensor the library makes takes its device from its inputs or the model.

The check: with parameters and data on the CPU and the default device set to ``meta``
(``with torch.device("meta"):``), every registered model on every signal kind runs a training step (forward,
the kind's own loss terms, the model's regularisers, backward), an evaluation with the final metrics (a scene
renders its test views, a shape extracts its mesh) and a render. A tensor made without the caller's device
lands on ``meta`` and the step fails. Signals and models are built outside the context: loading is not
under test. Also: ``--device`` resolution and its one-line errors, the device recorded in a run, and runs
that load and resume on a device given explicitly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

import nstr
from nstr.cli.main import main
from nstr.core.device import describe, module_device, resolve_device
from nstr.core.errors import NstrError
from nstr.models import MODELS, build_model
from nstr.signals import Image
from nstr.signals.audio.signal import Audio
from nstr.signals.scene.signal import Scene
from nstr.signals.shape.signal import SDF
from nstr.train.fit import fit, resume
from nstr.train.runs import load

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = str(Path(nstr.__file__).resolve().parent)

#: Small versions of every model (unknown ones run with their defaults), each with its regularisers switched on
#: where it has any, so that the step covers them.
SMALL: dict[str, dict] = {
    "siren": {"hidden": 16, "layers": 1},
    "ffn": {"features": 8, "hidden": 16, "layers": 1},
    "hashgrid": {"levels": 3, "log2_table": 8, "max_res": 32, "hidden": 8, "layers": 1},
    "nstr": {"levels": 3, "log2_table": 8, "max_res": 32, "k": 4, "lambda_pde": 0.1, "lambda_smooth": 0.1},
    "nstr-paper": {"grid_res": 7, "grid_channels": 4, "k": 4},
    "dinr": {"embedding": "nstr", "hidden": 8, "k": 4, "levels": 2, "log2_table": 8, "blocks": 1, "ode_steps": 2,
             "solver": "rk4"},
    "dinr-ffn": {"hidden": 8, "mapping": 8, "blocks": 1, "ode_steps": 2},
    "dinr-siren": {"hidden": 8, "blocks": 1, "solver": "dopri5", "rtol": 1e-2, "atol": 1e-2},
    "gaussians": {"count": 40},
    "dinr-official": {"hidden": 8, "blocks": 1, "ode_steps": 2},
    "nerf-nstr": {"log2_table": 10, "levels": 3, "max_res": 32, "occupancy_res": 8, "occupancy_every": 1,
                  "lambda_pde": 0.1, "samples_per_ray": 32},
    "nerf-hashgrid": {"log2_table": 10, "levels": 3, "max_res": 32, "occupancy_res": 8, "occupancy_every": 1,
                      "samples_per_ray": 32},
    "nerf-triplane": {"resolution": 8, "density_components": 2, "appearance_components": 4, "occupancy_res": 8,
                      "sampler": "importance", "coarse_samples": 8, "fine_samples": 8},
}
#: Signal kinds under test: how each is built (outside the meta context), its fit settings and a render target.
KINDS = ("image", "audio", "sdf", "sdf-eikonal", "scene")
#: The coordinate width of each kind (a scene's rays are 6 numbers).
KIND_DIMS = {"image": 2, "audio": 1, "sdf": 3, "sdf-eikonal": 3, "scene": 6}
FIT = {
    "image": {"batch_size": 64, "holdout": 0.25},
    "audio": {"batch_size": 128},
    "sdf": {"batch_size": 0},
    "sdf-eikonal": {"batch_size": 0},
    "scene": {"batch_size": 0},
}
RENDER = {"image": ("render.png", {"size": "9x7"}), "audio": ("render.wav", {"rate": 4000}),
          "sdf": ("render.ply", {"resolution": 12}), "sdf-eikonal": ("render.ply", {"resolution": 12}),
          "scene": ("render.png", {"size": "8x6"})}


class NoMetaResults(TorchFunctionMode):
    """Fails at the first torch function called from nstr's code that returns a tensor on ``meta`` (under
    ``torch.device("meta")``: one made without the caller's device), naming it and the line; some uses of such
    a tensor would not fail by themselves (indexing a CPU tensor with a meta index returns a CPU tensor)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        caller = sys._getframe(1)
        if caller.f_code.co_filename.startswith(PACKAGE) and any(
                isinstance(t, torch.Tensor) and t.is_meta for t in tree_leaves(out)):
            raise AssertionError(f"{getattr(func, '__qualname__', func)} at {caller.f_code.co_filename}:"
                                 f"{caller.f_lineno} made a tensor on the default device (meta)")
        return out


def _make_signal(kind: str):
    if kind == "image":
        array = (np.random.default_rng(0).random((12, 10, 3)) * 255).astype(np.uint8)
        return Image(array, noise=0.05)
    if kind == "audio":
        t = np.linspace(0.0, 1.0, 600, dtype=np.float32)
        return Audio(np.sin(2 * np.pi * 40 * t) * np.hanning(600).astype(np.float32), rate=8000)
    if kind in ("sdf", "sdf-eikonal"):
        return SDF("part", loss="siren" if kind == "sdf-eikonal" else "sdf", pool=2000, eval_samples=200,
                   samples=128, metric_samples=1000, resolution=12)
    return Scene("analytic", downscale=10, rays=64, eval_rays=64, test_views=1, orbit_frames=2)


@pytest.fixture(scope="module")
def signals():
    return {kind: _make_signal(kind) for kind in KINDS}


def _cases() -> list[tuple[str, str]]:
    cases = []
    for name, cls in sorted(MODELS.items()):
        for kind in KINDS:
            if KIND_DIMS[kind] in cls.in_dims:  # every model on every kind it takes (gaussians: images only)
                cases.append((name, kind))
    return cases


def _model(name: str, signal):
    torch.manual_seed(0)
    options = {**signal.model_defaults(name), **SMALL.get(name, {})}
    return build_model(name, signal.in_dim, signal.out_dim, **options)


def test_every_registered_model_is_covered():
    covered = {name for name, _ in _cases()}
    assert covered == set(MODELS) and set(SMALL) >= set(MODELS)


@pytest.mark.parametrize("name,kind", _cases())
def test_step_evaluation_and_render_use_the_callers_device(name, kind, signals, tmp_path):
    signal = signals[kind]
    model = _model(name, signal)
    before = {k: v.clone() for k, v in model.state_dict().items() if v.is_floating_point()}
    changed: list[str] = []

    def trained(step: int, record: dict) -> None:
        if step == 1:
            changed.extend(k for k, v in model.state_dict().items() if k in before and not torch.equal(v, before[k]))

    with torch.device("meta"), NoMetaResults():
        result = fit(signal, model, steps=2, eval_every=1, seed=1, quiet=True, callback=trained, **FIT[kind])
        spec = signal.spec(tmp_path)
        file, options = RENDER[kind]
        try:
            type(signal).render_run(model, spec, tmp_path / file, options)
        except NstrError as error:  # two steps may leave a shape's field without a surface: evaluated, nothing to write
            assert kind.startswith("sdf") and "no zero level set" in str(error)
        else:
            assert (tmp_path / file).stat().st_size > 0
    assert result.metrics["steps"] == 2 and np.isfinite(result.metrics["psnr"])
    assert result.metrics["device"] == "cpu" and result.metrics["device_name"]
    assert all(t.device.type == "cpu" for t in [*model.parameters(), *model.buffers()])
    assert changed, "the first step did not train anything"


# -- the hash-grid backend: an option of every model with a hash grid, "auto" resolved where the model runs ---

GRID_MODELS = ("hashgrid", "nstr", "nstr-paper", "nerf-hashgrid", "nerf-nstr")


@pytest.mark.parametrize("name", GRID_MODELS)
def test_every_hash_grid_model_has_the_backend_option(name):
    in_dim = 6 if name.startswith("nerf") else 2
    small = {k: v for k, v in SMALL[name].items() if not k.startswith("lambda")}
    if "nstr" in name:
        small["lambda_pde"] = 0.0  # the transport term needs the torch grid
    model = build_model(name, in_dim, 3, **small, backend="auto")
    assert model.config.backend == "auto" and model.resolved_options() == {"backend": "torch"}  # on the CPU
    if not torch.cuda.is_available():
        with pytest.raises(NstrError, match="tiny-cuda-nn"):
            build_model(name, in_dim, 3, **small, backend="tcnn")


def test_nstr_terms_that_need_dS_dx_keep_the_torch_grid():
    with pytest.raises(NstrError, match="dS/dx"):
        build_model("nstr", 2, 1, lambda_pde=0.1, backend="tcnn")
    model = build_model("nstr", 2, 1, levels=2, log2_table=8, max_res=16, lambda_smooth=0.1, backend="auto")
    assert model.grid.backend_option == "torch" and model.exact_jacobian


# -- resolution ---------------------------------------------------------------------------------------------


def test_resolve_device_names_and_errors():
    assert resolve_device("cpu") == torch.device("cpu") and resolve_device(" CPU ") == torch.device("cpu")
    auto = resolve_device("auto")
    assert auto == resolve_device(None)
    if not torch.cuda.is_available():
        assert auto.type in ("cpu", "mps")
        for name in ("cuda", "cuda:0", "cuda:3"):
            with pytest.raises(NstrError, match="no CUDA device") as info:
                resolve_device(name)
            assert "\n" not in str(info.value)
    for bad in ("gpu", "tpu:0", "meta", "cuda:x", ""):
        with pytest.raises(NstrError, match="auto, cpu, cuda, cuda:N or mps"):
            resolve_device(bad)
    assert describe("cpu")["device"] == "cpu" and describe("cpu")["device_name"]
    assert module_device(torch.nn.Linear(2, 2)) == torch.device("cpu")
    assert module_device(torch.nn.ReLU()) == torch.device("cpu")


# -- the command line: --device cpu works everywhere and is recorded; a missing device is a one-line error ----


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory, camera64):
    root = tmp_path_factory.mktemp("devices")
    np.save(root / "camera.npy", camera64[:24, :24])
    out = root / "run"
    code = main(["fit", str(root / "camera.npy"), "--model", "hashgrid", "--levels", "4", "--log2-table", "10",
                 "--max-res", "32", "--steps", "6", "--eval-every", "3", "--checkpoint-every", "3",
                 "--device", "cpu", "--out", str(out), "-q"])
    assert code == 0
    return root, out


def test_cli_fit_on_the_cpu_records_the_device(cpu_run):
    _, out = cpu_run
    config = json.loads((out / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert config["environment"]["device"] == "cpu" and config["environment"]["device_name"]
    assert config["model"]["resolved"] == {"backend": "torch"}
    assert metrics["device"] == "cpu" and metrics["device_name"] == config["environment"]["device_name"]


def test_cli_render_viz_fresh_and_bench_take_device_cpu(cpu_run, tmp_path, capsys):
    root, out = cpu_run
    assert main(["render", str(out), str(tmp_path / "big.png"), "--size", "40x30", "--device", "cpu"]) == 0
    assert (tmp_path / "big.png").exists()
    capsys.readouterr()
    assert main(["viz", str(out), "--device", "cpu"]) == 2  # a hash grid has no internals to draw: still one line
    assert "no internals" in capsys.readouterr().err
    assert main(["fresh", str(root / "camera.npy"), "--values", "10,30", "--inits", "2", "--n", "8",
                 "--device", "cpu", "--out", str(tmp_path / "fresh"), "-q"]) == 0
    record = json.loads((tmp_path / "fresh" / "fresh.json").read_text())
    assert record["device"] == "cpu"
    assert main(["bench", "quick", "--steps", "2", "--signals", str(root / "camera.npy"), "--device", "cpu",
                 "--out", str(tmp_path / "bench")]) == 0
    cells = list((tmp_path / "bench" / "quick").glob("*.json"))
    assert cells and all(json.loads(p.read_text())["device"] == "cpu" for p in cells)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("command", [
    ["fit", "{npy}", "--model", "siren", "--steps", "2", "--out", "{new}"],
    ["render", "{run}", "{new}.png"],
    ["viz", "{run}"],
    ["fresh", "{npy}", "--values", "10,30", "--out", "{new}"],
    ["bench", "quick", "--steps", "2", "--out", "{new}"],
])
def test_a_missing_device_is_a_one_line_error_and_writes_nothing(command, cpu_run, tmp_path, capsys):
    root, out = cpu_run
    new = tmp_path / "new"
    args = [a.format(npy=root / "camera.npy", run=out, new=new) for a in command] + ["--device", "cuda"]
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("nstr: error: --device cuda: no CUDA device") and err.count("\n") == 1
    assert not list(tmp_path.iterdir())  # no run directory, no output file, no results folder


def test_a_bad_device_name_is_a_one_line_error(cpu_run, capsys):
    root, _ = cpu_run
    assert main(["fit", str(root / "camera.npy"), "--device", "gpu", "--steps", "1"]) == 2
    assert "auto, cpu, cuda, cuda:N or mps" in capsys.readouterr().err


# -- the Python API: device= on fit, load and resume ----------------------------------------------------------


def test_python_api_device_and_resume_on_an_explicit_device(cpu_run, tmp_path):
    root, out = cpu_run
    run = load(out, device="cpu")
    assert module_device(run.model) == torch.device("cpu") and run.render(5, 4).shape == (5, 4)
    with pytest.raises(NstrError, match="no CUDA device"):
        if not torch.cuda.is_available():
            load(out, device="cuda")
        else:  # pragma: no cover - a machine with CUDA
            raise NstrError("no CUDA device (skipped: CUDA present)")
    # A run interrupted after its checkpoint resumes on the device given and finishes like the uninterrupted one.
    image = Image(np.load(root / "camera.npy"))
    options = {"levels": 4, "log2_table": 10, "max_res": 32}
    torch.manual_seed(0)
    whole = fit(image, build_model("hashgrid", 2, 1, **options), steps=6, eval_every=3, quiet=True, device="cpu")
    torch.manual_seed(0)
    model = build_model("hashgrid", 2, 1, **options)
    stop = tmp_path / "stopped"

    def interrupt(step, record):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(image, model, steps=6, eval_every=3, checkpoint_every=3, out=stop, quiet=True, callback=interrupt,
            device="cpu")
    resumed = resume(stop, quiet=True, device="cpu")
    assert resumed.metrics["psnr"] == whole.metrics["psnr"] and resumed.metrics["device"] == "cpu"


def test_device_check_script_says_there_is_no_gpu():
    if torch.cuda.is_available():  # pragma: no cover - a machine with CUDA runs the real check by hand
        pytest.skip("this machine has CUDA: run benchmarks/device_check.py by hand")
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "device_check.py")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == "" and done.stderr.count("\n") == 1 and "no GPU" in done.stderr
