"""Make ``tests/data/lego/``: 16 views of nerf_synthetic's lego at 40 x 40, in both scene layouts.

Run from the project root: ``python tests/data/make_lego.py [path/to/lego]`` (default ``../shared/data/nerf/lego``,
the 200 x 200 copy described in that folder's README). Views: train r_1-4, r_6-9, r_11-14; val r_5, r_25; test
r_0, r_10 (the shared copy's own split). Each image is shrunk 5 x 5 by averaging premultiplied RGBA (nstr's own
``shrink_rgba``, what ``--downscale 5`` does) and stored as straight 8-bit RGBA.

Written: ``{train,val,test}/r_k.png``; ``transforms_{train,val,test}.json`` holding the original frames verbatim
(``camera_angle_x``, ``file_path`` without extension, ``rotation``, ``transform_matrix``); and one
``transforms.json`` as nerfstudio / Instant-NGP write it: intrinsics as ``fl_x, fl_y, cx, cy, w, h`` (focal
0.5 * 40 / tan(camera_angle_x / 2)), ``camera_model`` OPENCV with zero distortion, ``aabb_scale`` 1, file paths
with their extension, the same matrices, and nerfstudio's ``train_filenames``, ``val_filenames``,
``test_filenames`` lists giving the same split.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from nstr.core.png import encode_png
from nstr.signals.scene.pixels import read_rgba, shrink_rgba

SPLIT_VIEWS = {"train": [1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14], "val": [5, 25], "test": [0, 10]}
SHRINK = 5


def main(source: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    single_frames, lists, angle, size = [], {}, None, None
    for split, views in SPLIT_VIEWS.items():
        meta = json.loads((source / f"transforms_{split}.json").read_text())
        angle = meta["camera_angle_x"]
        by_name = {frame["file_path"]: frame for frame in meta["frames"]}
        frames = [by_name[f"./{split}/r_{k}"] for k in views]
        (out / split).mkdir(exist_ok=True)
        for frame in frames:
            premultiplied, alpha = shrink_rgba(read_rgba(source / (frame["file_path"] + ".png")), SHRINK)
            straight = premultiplied / np.maximum(alpha, 1e-12)[..., None]
            rgba = np.concatenate([straight, alpha[..., None]], axis=-1)
            size = rgba.shape[0]
            (out / (frame["file_path"] + ".png")).write_bytes(encode_png(np.rint(np.clip(rgba, 0, 1) * 255)
                                                                         .astype(np.uint8)))
            name = frame["file_path"][2:] + ".png"
            single_frames.append({"file_path": name, "transform_matrix": frame["transform_matrix"]})
            lists.setdefault(f"{split}_filenames", []).append(name)
        (out / f"transforms_{split}.json").write_text(json.dumps({"camera_angle_x": angle, "frames": frames},
                                                                 indent=2) + "\n")
    focal = 0.5 * size / math.tan(0.5 * angle)
    single = {"camera_model": "OPENCV", "fl_x": focal, "fl_y": focal, "cx": size / 2, "cy": size / 2, "w": size,
              "h": size, "k1": 0.0, "k2": 0.0, "p1": 0.0, "p2": 0.0, "aabb_scale": 1, "frames": single_frames,
              **lists}
    (out / "transforms.json").write_text(json.dumps(single, indent=2) + "\n")


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared" / "data" / "nerf" / "lego",
         Path(__file__).resolve().parent / "lego")
