"""Pictures of a model's internals: found per model class (subclasses inherit), none for other models, and
written by `nstr fit` and `nstr viz` (the models themselves import no plotting)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nstr.cli.main import main
from nstr.inspect import write_pictures
from nstr.inspect.registry import WRITERS
from nstr.models import NSTR, NSTRPaper, build_model


def test_writers_are_found_through_the_class_hierarchy(tmp_path):
    torch.manual_seed(0)
    assert NSTR in WRITERS and NSTRPaper not in WRITERS  # registered once, for the parent
    paper = build_model("nstr-paper", 2, 1, grid_res=7, grid_channels=4, lambda_pde=0.1)
    written = write_pictures(paper, tmp_path / "paper", (12, 16))
    names = {p.name for p in written}
    assert {"spectrum.png", "spectral_gradient.png", "local_frequency.png"} <= names
    assert {"pde_residual.png", "flow.png"} <= names  # the transport term is on: its pictures too
    assert all(p.is_file() and p.stat().st_size > 1000 for p in written)
    assert write_pictures(build_model("siren", 2, 1, hidden=8, layers=1), tmp_path / "siren", (12, 16)) == []


@pytest.mark.slow  # a fit of several seconds: out of the developer loop
def test_fit_and_viz_write_the_spectral_pictures(tmp_path, camera64):
    image = tmp_path / "camera.npy"
    np.save(image, camera64[:24, :24])
    run = tmp_path / "run"
    assert main(["fit", str(image), "--model", "nstr", "--steps", "2", "--log2-table", "8", "--out", str(run),
                 "-q"]) == 0
    assert (run / "local_frequency.png").is_file()
    (run / "local_frequency.png").unlink()
    assert main(["viz", str(run)]) == 0
    assert (run / "local_frequency.png").is_file()
