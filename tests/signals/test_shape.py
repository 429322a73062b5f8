"""3-D shapes: exact signed distances, normalisation, metrics, losses, extraction, fits and one-line errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import trimesh

from nstr.cli.main import main
from nstr.core.errors import NstrError
from nstr.models import MODELS, build_model
from nstr.models.base import Field
from nstr.signals import SDF, load_signal, signal_kind
from nstr.signals.shape import losses
from nstr.signals.shape.builtin import builtin_shape_path
from nstr.signals.shape.distance import signed_distance
from nstr.signals.shape.extract import extract_mesh
from nstr.signals.shape.mesh_io import Mesh, Normalisation, load_mesh, validate_mesh
from nstr.signals.shape.metrics import ShapeReference, chamfer, fscore, iou
from nstr.signals.shape.sampling import KIND, NORMAL, SURFACE, UNIFORM, surface_samples
from nstr.train.fit import fit
from nstr.train.runs import prepare_run_dir

PART = "part"  # the built-in machined part (nstr.signals.shape.builtin): flat faces, sharp creases
SMALL = {"pool": 20_000, "eval_samples": 2000, "resolution": 48, "metric_samples": 20_000}


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """These models and batches are tiny: a second thread costs more in synchronisation than it saves
    (and far more on a shared machine). OMP_NUM_THREADS keeps ``nstr.cli.main.main`` from raising it again."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield
    torch.set_num_threads(threads)


def box_sdf(points: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Exact signed distance to an axis-aligned box centred at 0 (Inigo Quilez's formula)."""
    q = np.abs(points) - half
    return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(axis=1), 0)


def as_mesh(tm: trimesh.Trimesh) -> Mesh:
    return validate_mesh(tm.vertices, tm.faces)


# -- signed distance ---------------------------------------------------------------------------------------
def test_signed_distance_is_exact_for_a_box():
    half = np.array([0.5, 0.3, 0.2])
    mesh = as_mesh(trimesh.creation.box(extents=2 * half))
    points = np.random.default_rng(0).uniform(-1, 1, (5000, 3))
    distance, _ = signed_distance(points, mesh)
    assert np.abs(distance - box_sdf(points, half)).max() < 1e-12
    assert (distance < 0).sum() == (np.abs(points) < half).all(axis=1).sum() > 50


def test_signed_distance_matches_an_analytic_sphere():
    """An icosphere (20,480 faces) is within 2e-4 of the sphere it approximates: so must its distance be."""
    mesh = as_mesh(trimesh.creation.icosphere(subdivisions=5, radius=0.6))
    points = np.random.default_rng(1).uniform(-1, 1, (4000, 3))
    exact = np.linalg.norm(points, axis=1) - 0.6
    distance, _ = signed_distance(points, mesh)
    assert np.abs(distance - exact).max() < 3e-4
    clear = np.abs(exact) > 1e-3
    assert np.array_equal(np.sign(distance[clear]), np.sign(exact[clear]))


def test_sign_is_right_with_a_hole_and_with_overlapping_parts():
    """Winding-number sign: a box missing one side, and two overlapping boxes stored as one (not merged)."""
    box = trimesh.creation.box(extents=(1, 1, 1))
    top = box.face_normals[:, 2] > 0.9
    open_box = Mesh(np.asarray(box.vertices, float), np.asarray(box.faces[~top], np.int64))
    inside_points = np.array([[0, 0, 0], [0.4, 0.4, -0.4], [-0.45, 0, 0.2], [0, 0, -0.45]])
    outside_points = np.array([[0.8, 0, 0], [0, 0, -0.8], [0.6, 0.6, 0], [0, -0.7, 0.3]])
    assert (signed_distance(inside_points, open_box)[0] < 0).all()
    assert (signed_distance(outside_points, open_box)[0] > 0).all()
    assert np.allclose(signed_distance(outside_points, open_box)[0], box_sdf(outside_points, np.full(3, 0.5)))

    a, b = trimesh.creation.box(extents=(1, 1, 1)), trimesh.creation.box(extents=(1, 1, 1))
    b.apply_translation((0.6, 0, 0))
    both = Mesh(np.concatenate([a.vertices, b.vertices]), np.concatenate([a.faces, b.faces + 8]).astype(np.int64))
    # Inside A, next to B's face that lies inside A: a pseudonormal sign would call these outside.
    points = np.array([[0.05, 0.0, 0.0], [0.09, 0.2, -0.3], [0.9, 0.1, 0.1]])
    assert (signed_distance(points, both)[0] < 0).all()


# -- loading and normalisation -----------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".obj", ".off", ".ply", ".stl", ".glb"])
def test_every_format_loads_and_normalises_with_a_round_trip(tmp_path, suffix):
    tm = trimesh.creation.box(extents=(4.0, 2.0, 1.0))
    tm.apply_translation((10.0, -3.0, 7.0))
    path = tmp_path / f"box{suffix}"
    tm.export(path)
    mesh = load_mesh(path)
    assert len(mesh.faces) == 12 and mesh.signed_volume() == pytest.approx(8.0)
    t = Normalisation.fit(mesh)
    unit = t.to_unit(mesh.vertices)
    assert np.allclose(unit.min(axis=0), [-0.9, -0.45, -0.225]) and np.allclose(unit.max(axis=0), [0.9, 0.45, 0.225])
    assert np.allclose(t.to_original(unit), mesh.vertices, atol=1e-12)
    assert Normalisation.from_dict(json.loads(json.dumps(t.to_dict()))) == t


def test_inward_facing_mesh_is_turned_outwards():
    tm = trimesh.creation.icosphere(subdivisions=2, radius=1.0)
    flipped = validate_mesh(tm.vertices, tm.faces[:, ::-1])
    assert flipped.signed_volume() > 0
    assert signed_distance(np.zeros((1, 3)), flipped)[0][0] < -0.9


def test_extraction_of_an_analytic_sphere_comes_back_in_original_units(tmp_path):
    """Marching cubes of the exact SDF of a sphere, written through the normalisation: radius and centre."""
    centre, radius = np.array([5.0, -2.0, 1.0]), 3.0
    t = Normalisation(tuple(centre), radius / 0.9)  # the sphere's bounding box normalised as load_mesh does

    class Sphere(Field):
        def __init__(self):
            super().__init__(3, 1)
            self.unused = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return x.norm(dim=1, keepdim=True) - 0.9

    vertices, faces = extract_mesh(Sphere(), 64)
    assert Mesh(vertices, faces).signed_volume() > 0  # faces point outwards
    original = t.to_original(vertices)
    assert np.abs(np.linalg.norm(original - centre, axis=1) - radius).max() < 0.01 * radius
    assert np.allclose(original.mean(axis=0), centre, atol=0.01)


# -- metrics -----------------------------------------------------------------------------------------------
def test_chamfer_fscore_iou_on_known_point_sets():
    grid = np.stack(np.meshgrid(*[np.arange(5.0)] * 3, indexing="ij"), -1).reshape(-1, 3)
    shifted = grid + np.array([0.1, 0.0, 0.0])  # every nearest neighbour is the shifted twin, 0.1 away
    assert chamfer(grid, shifted) == pytest.approx(0.1)
    assert chamfer(grid, shifted, diagonal=2.0) == pytest.approx(0.05)
    extra = np.vstack([shifted, [[10.0, 0.0, 0.0]]])  # one outlier 6 from the grid, in one direction only
    assert chamfer(grid, extra) == pytest.approx((0.1 + (0.1 * 125 + 6.0) / 126) / 2)
    rng = np.random.default_rng(0)
    a, b = rng.random((300, 3)), rng.random((200, 3))
    from scipy.spatial.distance import cdist

    d = cdist(a, b)
    assert chamfer(a, b) == pytest.approx((d.min(axis=1).mean() + d.min(axis=0).mean()) / 2)
    assert fscore(np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 1.0]), 0.5) == pytest.approx(0.5)
    assert fscore(np.ones(3), np.ones(3), 0.5) == 0.0
    assert iou(np.array([1, 1, 0, 0], bool), np.array([0, 1, 1, 0], bool)) == pytest.approx(1 / 3)


def test_reference_scores_itself_near_perfect_and_a_shifted_copy_worse():
    mesh = as_mesh(trimesh.creation.icosphere(subdivisions=3, radius=0.7))
    ref = ShapeReference.build(mesh, surface=20_000, volume=20_000)
    points, normals, _ = surface_samples(mesh, 20_000, np.random.default_rng(9))
    own = ref.score(mesh, points, normals, ref.volume_inside)
    assert own["chamfer_p2s"] < 1e-9 and own["iou"] == 1.0 and own["fscore"] > 0.99
    assert own["normal_consistency"] > 0.99 and own["chamfer"] < 5e-3  # the sampling floor at 20k points
    moved = Mesh(mesh.vertices + [0.05, 0, 0], mesh.faces)
    inside_moved = np.linalg.norm(ref.volume_points - [0.05, 0, 0], axis=1) < 0.7
    score = ref.score(moved, points + [0.05, 0, 0], normals, inside_moved)
    # A sphere shifted by t along x is |t n_x| away, and the mean of |n_x| over a sphere is 1/2.
    assert score["chamfer_p2s"] == pytest.approx(0.05 / 2 / ref.diagonal, rel=0.05)
    assert score["iou"] < 0.95 and score["fscore"] < own["fscore"] and score["chamfer"] > own["chamfer"]


# -- losses ------------------------------------------------------------------------------------------------
TINY = {
    "siren": {"hidden": 8, "layers": 1},
    "ffn": {"features": 4, "hidden": 8, "layers": 1},
    "hashgrid": {"levels": 2, "features": 2, "log2_table": 6, "base_res": 2, "max_res": 5, "hidden": 8, "layers": 1},
    "nstr": {"k": 3, "levels": 2, "grid_res": 2, "max_res": 5, "log2_table": 6, "spectral_width": 8,
             "decoder_width": 8, "decoder_layers": 1},
    "nstr-paper": {"k": 3, "grid_res": 2, "grid_channels": 2, "spectral_width": 8, "decoder_width": 8,
                   "decoder_layers": 1, "flow_width": 4, "flow_layers": 1},
    "dinr": {"hidden": 6, "blocks": 1, "mapping": 6, "ode_steps": 2},
    "dinr-ffn": {"hidden": 6, "blocks": 1, "mapping": 6, "ode_steps": 2},
    "dinr-siren": {"hidden": 6, "blocks": 1, "ode_steps": 2},
    "dinr-official": {"hidden": 6, "blocks": 1, "ode_steps": 2},
}


@pytest.mark.parametrize("name", sorted(n for n, cls in MODELS.items() if 3 in cls.in_dims))  # 3-D fields
def test_siren_loss_gradient_matches_finite_differences(name):
    """The point-cloud loss (eikonal and normal terms: double backward) differentiated in every parameter,
    against finite differences, in 3-D and float64, for a tiny model of each registered kind."""
    assert name in TINY, f"add a tiny configuration of '{name}' to TINY in this file"
    torch.manual_seed(0)
    model = build_model(name, 3, 1, **TINY[name]).double().eval()  # eval: no dropout, a deterministic function
    with torch.no_grad():  # grid features at a trained scale: at the U(-1e-4, 1e-4) init, |grad f| is so small
        for n, p in model.named_parameters():  # that the normal term's cosine changes on the scale of eps
            if n.endswith("table"):
                p.uniform_(-0.5, 0.5)
    x = torch.rand(6, 3, dtype=torch.float64) * 1.6 - 0.8
    y = torch.zeros(6, 5, dtype=torch.float64)
    y[:3, KIND], y[3:, KIND] = SURFACE, UNIFORM
    y[:3, NORMAL] = torch.nn.functional.normalize(torch.randn(3, 3, dtype=torch.float64), dim=1)
    names = [n for n, p in model.named_parameters() if p.requires_grad and not n.startswith(model.auxiliary_modules)]
    params = dict(model.named_parameters())

    def loss(*values):
        def call(inputs):
            return torch.func.functional_call(model, {**params, **dict(zip(names, values, strict=True))}, (inputs,))

        return sum(losses.siren_terms(call, x, y).values())

    inputs = tuple(params[n].detach().clone().requires_grad_(True) for n in names)
    assert sum(p.numel() for p in inputs) < 2000
    # fast mode: finite differences along random directions in parameter space (full Jacobians of the DINR
    # models take 20 s each); a wrong derivative of any parameter changes those projections.
    assert torch.autograd.gradcheck(loss, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, fast_mode=True)


def test_losses_match_hand_computation():
    class Plane(torch.nn.Module):
        """f(x) = x_0 - 0.25: gradient (1, 0, 0), so eikonal is 0 and normals along +x align exactly."""

        def forward(self, x):
            return x[:, :1] - 0.25

    x = torch.tensor([[0.25, 0.0, 0.0], [0.3, 0.1, 0.0], [0.9, 0.0, 0.0], [0.0, 0.5, 0.5]])
    y = torch.zeros(4, 5)
    y[:, KIND] = torch.tensor([SURFACE, SURFACE, UNIFORM, UNIFORM])
    y[0, NORMAL], y[1, NORMAL] = torch.tensor([1.0, 0, 0]), torch.tensor([0.0, 1.0, 0])
    terms = losses.siren_terms(Plane(), x, y)
    assert terms["surface"].item() == pytest.approx(3e3 * 0.05 / 4)
    assert terms["normal"].item() == pytest.approx(1e2 * 1.0 / 4)
    assert terms["off_surface"].item() == pytest.approx(1e2 * (math.exp(-65) + math.exp(-25)) / 4)
    assert terms["eikonal"].item() == pytest.approx(0.0, abs=1e-7)
    y[:, 0] = torch.tensor([0.0, 0.02, 0.3, -0.5])
    # f = (0, 0.05, 0.65, -0.25): |0 - 0|, |0.05 - 0.02|, and beyond the clamp f is on the right side
    assert losses.sdf_terms(Plane(), x, y)["sdf"].item() == pytest.approx(0.03 / 4)

    class Constant(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c = torch.nn.Parameter(torch.tensor(0.3))

        def forward(self, x):
            return self.c.expand(len(x), 1)

    y[:, 0] = torch.tensor([0.0, 0.05, 0.3, -0.5])  # 0.3 beyond the band on the wrong side of s = 0, 0.05, -0.5
    model = Constant()
    loss = losses.sdf_terms(model, x, y)["sdf"]
    assert loss.item() == pytest.approx((0.3 + 0.25 + 0.0 + 0.4) / 4)
    loss.backward()  # clamping the prediction as DeepSDF does would leave no gradient at all here
    assert model.c.grad.item() == pytest.approx(3 / 4)


# -- the signal --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def part():
    return load_signal(PART, samples=2048, **SMALL)


def test_samples_resample_by_index_and_evaluation_points_stay_fixed(part):
    s = part
    assert isinstance(s, SDF) and s.in_dim == 3 and s.out_dim == 1 and not s.evaluates_training_samples
    assert len(s) == 2048 and s.training_targets.shape == (2048, 5) and s.values.shape == (2048, 1)
    assert s.eval_coords.shape == (2000, 3) and s.eval_values.shape == (2000, 1)
    g = torch.Generator().manual_seed(4)
    assert s.before_step(0, g)
    first_eval, first_train = s.eval_coords.clone(), s.coords.clone()
    assert not s.before_step(0, g)
    assert s.before_step(1, g) and len(s) == 2048
    assert torch.equal(s.eval_coords, first_eval) and not torch.equal(s.coords, first_train)
    assert (s.training_targets[:, KIND] >= 0).all()
    assert s.before_step(0, g) and torch.equal(s.coords, first_train)  # a pure function of the step
    # The draw of (stream, period) is seeded as it was before the redraws moved into one Resampler (same
    # samples, so benchmark numbers stay comparable): stream = the fit's seed + the signal's seed.
    assert s.before_step(5, g)
    expected = s.pool.draw(s._counts, torch.Generator().manual_seed((4 + s.seed) * 1_000_003 + 5))
    assert torch.equal(s.coords, s.pool.points[expected]) and torch.equal(s.training_targets, s.pool.targets[expected])
    d, _ = signed_distance(s.eval_coords.double().numpy(), s.mesh)  # evaluation points: exact distances too
    assert np.allclose(d, s.eval_values[:, 0].double().numpy(), atol=1e-6)
    # surface samples lie on the mesh with unit normals; the others carry their exact signed distance
    surface = s.training_targets[:, KIND] == SURFACE
    d, _ = signed_distance(s.coords[surface].double().numpy(), s.mesh)
    assert np.abs(d).max() < 1e-6
    assert torch.allclose(s.training_targets[surface][:, NORMAL].norm(dim=1), torch.ones(int(surface.sum())))
    off = ~surface
    d, _ = signed_distance(s.coords[off].double().numpy(), s.mesh)
    assert np.allclose(d, s.values[off, 0].double().numpy(), atol=1e-6)


@pytest.mark.slow
def test_quality_floor_on_part(part, tmp_path):
    """A small hash grid fitted for 150 steps recovers the CAD part: a floor on every shape metric."""
    torch.manual_seed(0)
    model = build_model("hashgrid", 3, 1, levels=8, log2_table=13, base_res=8, max_res=96, hidden=32)
    result = fit(part, model, steps=150, eval_every=50, quiet=True, out=tmp_path)
    m = result.metrics
    # chamfer's floor from sampling alone is about 3.6e-3 at 20k samples; chamfer_p2s has none
    assert m["chamfer"] < 6e-3 and m["chamfer_p2s"] < 2e-3, m
    assert m["normal_consistency"] > 0.93 and m["iou"] > 0.95 and m["fscore"] > 0.97, m
    assert m["mesh_faces"] > 1000 and m["psnr"] > 30
    # psnr is scored on the held-fixed evaluation points, and on nothing else
    assert m["psnr"] == part.psnr(model.predict(part.eval_coords), part.eval_values)
    for name in ("mesh.ply", "mesh.png", "sdf_slices.png", "curve.png", "metrics.json", "model.safetensors"):
        assert (tmp_path / name).is_file(), name
    written = load_mesh(tmp_path / "mesh.ply")  # in the file's own units: the part is 40 mm across
    original = load_mesh(builtin_shape_path(PART))
    assert original.diagonal() > 40
    assert np.allclose(written.bounds(), original.bounds(), atol=0.05 * original.diagonal())


def test_holdout_is_refused_before_anything_is_written(part, tmp_path):
    """An SDF is scored on evaluation points drawn apart from its redrawn training samples: a random hold-out of
    the samples would score a mix of training and evaluation points. The fit refuses it in one line."""
    model = build_model("hashgrid", 3, 1, levels=2, log2_table=10, base_res=4, max_res=16, hidden=8)
    run = prepare_run_dir(tmp_path / "run", overwrite=False)
    with pytest.raises(NstrError, match="--holdout does not apply to sdf signals") as error:
        fit(part, model, steps=2, holdout=0.1, out=run, quiet=True)
    assert "\n" not in str(error.value)
    assert not any(run.iterdir())  # refused before anything was written


def test_point_cloud_loss_fit_lowers_its_terms(tmp_path):
    """SIREN's loss through the fit loop (double backward every step): every term falls on a sphere."""
    trimesh.creation.icosphere(subdivisions=3, radius=1.0).export(tmp_path / "ball.obj")
    shape = SDF(tmp_path / "ball.obj", loss="siren", samples=1024, pool=5000, eval_samples=500, resolution=32,
                metric_samples=5000)
    torch.manual_seed(0)
    model = build_model("siren", 3, 1, hidden=32, layers=2)
    shape.before_step(0, torch.Generator().manual_seed(0))
    x, y = shape.coords, shape.training_targets
    before = {k: v.item() for k, v in shape.loss_terms(model, x, y).items()}
    result = fit(shape, model, steps=150, eval_every=50, quiet=True)
    after = {k: v.item() for k, v in shape.loss_terms(model, x, y).items()}
    assert set(before) == {"surface", "off_surface", "normal", "eikonal"} <= set(result.history[-1])
    assert after["surface"] < 0.5 * before["surface"] and after["normal"] < 0.5 * before["normal"], (before, after)
    assert after["eikonal"] < 0.8 * before["eikonal"] and after["off_surface"] < 2 * before["off_surface"], (
        before, after)
    assert np.isfinite(result.metrics["iou"]) and "chamfer" in result.metrics  # scored, though 150 steps are few


@pytest.mark.slow
def test_interrupted_fit_resumes_to_the_same_numbers(tmp_path):
    """Redraws are a function of (seed, step), so a resumed fit sees the same samples as an unbroken one."""
    from nstr.train.fit import resume
    from nstr.train.runs import prepare_run_dir

    def run(out, stop_at):
        shape = load_signal(PART, samples=1024, resample_every=3, **{**SMALL, "resolution": 32,
                                                                        "metric_samples": 5000})
        torch.manual_seed(0)
        model = build_model("hashgrid", 3, 1, levels=6, log2_table=12, base_res=4, max_res=64, hidden=16)
        prepare_run_dir(out, overwrite=False)

        def interrupt(step, record):
            if step == stop_at:
                raise KeyboardInterrupt

        try:
            return fit(shape, model, steps=30, eval_every=10, checkpoint_every=10, quiet=True, out=out,
                       callback=interrupt).metrics
        except KeyboardInterrupt:
            return resume(out, quiet=True).metrics

    whole, resumed = run(tmp_path / "whole", None), run(tmp_path / "resumed", 20)
    assert resumed["resumed_from_step"] == 20
    for key in ("psnr", "chamfer", "chamfer_p2s", "iou"):
        assert resumed[key] == whole[key], key


# -- command line ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_fits_a_mesh_and_renders_it_in_original_units(tmp_path, capsys):
    tm = trimesh.creation.icosphere(subdivisions=3, radius=2.0)
    tm.apply_translation((3.0, 0.0, -1.0))
    tm.export(tmp_path / "ball.stl")
    out = tmp_path / "run"
    args = ["fit", str(tmp_path / "ball.stl"), "--model", "hashgrid", "--levels", "4", "--base-res", "4",
            "--max-res", "24", "--hidden", "16", "--steps", "100", "--samples", "1024", "--sdf-loss", "sdf",
            "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert "chamfer" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    assert config["signal"]["kind"] == "sdf" and config["signal"]["loss"] == "sdf"
    assert config["signal"]["samples"] == 1024 and config["signal"]["transform"]["centre"] == pytest.approx([3, 0, -1])
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("chamfer", "chamfer_p2s", "normal_consistency", "iou", "fscore", "psnr"):
        assert key in metrics
    assert main(["render", str(out), str(tmp_path / "ball.obj"), "--resolution", "40"]) == 0
    ball = load_mesh(tmp_path / "ball.obj")
    radius = np.linalg.norm(ball.vertices - [3.0, 0.0, -1.0], axis=1)
    assert np.median(radius) == pytest.approx(2.0, rel=0.1)  # back in the file's units
    assert main(["render", str(out), str(tmp_path / "ball.png")]) == 2
    assert "must end in one of" in capsys.readouterr().err


def _write_bad_files(folder):
    (folder / "notes.obj").write_text("hello\nthis is not a mesh\n")
    (folder / "broken.ply").write_text("hello\n")
    (folder / "noface.off").write_text("OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 0\n")
    (folder / "sliver.obj").write_text("v 0 0 0\nv 1 0 0\nv 2 0 0\nv 0 0 1\nf 1 2 3\nf 1 3 2\n")
    (folder / "flat.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1 2 3\nf 2 4 3\n")
    trimesh.PointCloud(np.random.default_rng(0).random((50, 3))).export(folder / "cloud.ply")


@pytest.mark.parametrize("name, message", [
    ("notes.obj", "holds no triangles"),
    ("broken.ply", "could not be read as a mesh"),
    ("noface.off", "3 vertices and no faces"),
    ("sliver.obj", "degenerate: all its 2 faces have zero area"),
    ("flat.obj", "degenerate: it is flat"),
    ("cloud.ply", "is a point cloud (50 points, no faces)"),
    ("missing.obj", "not found"),
])
def test_bad_meshes_are_one_line_errors(tmp_path, capsys, name, message):
    _write_bad_files(tmp_path)
    with pytest.raises(NstrError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_signal(str(tmp_path / name))
    assert main(["fit", str(tmp_path / name), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "run").exists()


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    assert main(["fit", "camera", "--sdf-loss", "siren", "--out", str(tmp_path / "r")]) == 2
    assert "applies to mesh files" in capsys.readouterr().err
    assert main(["fit", PART, "--samples", "10", "--out", str(tmp_path / "r")]) == 2
    assert "--samples must be at least 64" in capsys.readouterr().err
    with pytest.raises(NstrError, match="--resize applies to images"):
        SDF(PART, resize=(4, 4))


def test_builtin_part_is_a_watertight_shape_loaded_by_name(tmp_path):
    """``part`` needs no file: signal_kind picks the SDF by name, and a run's spec rebuilds it by name."""
    assert signal_kind("part") is SDF
    mesh = trimesh.load(builtin_shape_path("part"))
    assert mesh.is_watertight and len(mesh.split(only_watertight=True)) == 2  # the ring and the pillar
    assert np.allclose(mesh.extents, (40.0, 40.0, 24.0), atol=1e-6)  # millimetres
    shape = SDF("part", samples=256, pool=2000, eval_samples=200, resolution=24, metric_samples=2000)
    spec = json.loads(json.dumps(shape.spec(tmp_path)))
    assert spec["source"] == "part"
    assert torch.equal(load_signal(spec, tmp_path).eval_values, shape.eval_values)


def test_cli_refuses_holdout_on_a_mesh_and_leaves_no_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["fit", "part", "--holdout", "0.1", "--steps", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--holdout does not apply to sdf signals" in err[0]
    assert not out.exists()
