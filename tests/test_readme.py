"""The README's Python examples run as written, on small inputs, so they cannot rot.

Each block runs in one namespace, in order, in a fresh working directory. To stay fast, a few sizes are
shrunk by the substitutions below; every substitution must find its text, so a changed example fails here
until this list follows it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nstr.models import MODELS, build_model

README = Path(__file__).resolve().parents[1] / "README.md"

#: (block index, text in the README, what the test runs instead)
SMALLER = [
    (0, 'nstr.Image("astronaut")', 'nstr.Image("astronaut", resize=(32, 32))'),
    (0, "hidden=256, layers=3", "hidden=32, layers=2"),
    (0, "steps=500", "steps=3"),
    (0, "run.render(1024, 1024)", "run.render(40, 48)"),
    (1, "range(10, 201, 10), inits=10, n=64", "(10, 30), inits=2, n=8"),
    (1, "reshape(3, 512, 512)", "reshape(3, 32, 32)"),
    (2, 'Scene("analytic", rays=4096)', 'Scene("analytic", rays=64, eval_rays=64, test_views=1, orbit_frames=0)'),
    (2, "max_seconds=120", "steps=2"),
    (2, "scene.test.c2w, 100, 100, scene.test.focal", "scene.test.c2w[:1], 10, 10, scene.test.focal / 10"),
    (2, "scene.test.c2w[0], 100, 100, scene.test.focal", "scene.test.c2w[0], 10, 10, scene.test.focal / 10"),
]


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.slow
def test_readme_python_examples_run_as_written(tmp_path, monkeypatch):
    blocks = python_blocks()
    assert len(blocks) == 4, "the README's Python blocks changed: update SMALLER and this count"
    for index, text, small in SMALLER:
        assert text in blocks[index], f"README block {index} no longer contains {text!r}"
        blocks[index] = blocks[index].replace(text, small)
    monkeypatch.chdir(tmp_path)  # the examples write runs/ into the working directory, which does not exist yet
    namespace: dict = {}
    try:
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
        # the first block fitted, saved and decoded; the last registered a model that now builds and fits
        assert (tmp_path / "runs" / "astronaut-siren" / "model.safetensors").is_file()
        assert namespace["big"].shape == (40, 48, 3) and str(namespace["big"].dtype) == "uint8"
        assert namespace["images"].shape == (1, 10, 10, 3) and namespace["out"]["rgb"].shape == (100, 3)
        tiny = build_model("tiny", 2, 3, hidden=8)
        assert tiny(namespace["image"].coords[:5]).shape == (5, 3)
    finally:
        MODELS.pop("tiny", None)  # the example registers a model: leave the registry as the other tests know it
