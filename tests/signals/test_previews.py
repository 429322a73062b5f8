"""The small pictures each kind draws for live loggers: an image's own pixels, an audio spectrogram, an SDF slice and
a rendered view, checked against what they must show."""

from __future__ import annotations

import numpy as np
import torch

from nstr.models import build_model
from nstr.models.base import Field
from nstr.signals import SDF, Audio, Image, Scene
from nstr.signals.base import PREVIEW_SIZE
from nstr.signals.scene import pictures as scene_pictures
from nstr.signals.scene.make import make_scene
from nstr.signals.scene.views import render_views
from nstr.signals.shape.pictures import slice_preview


def test_image_preview_is_every_kth_pixel_of_the_reconstruction():
    rng = np.random.default_rng(0)
    array = (rng.random((600, 300, 3)) * 255).astype(np.uint8)
    image = Image(array)
    preview = image.preview(None, image.values)  # a perfect reconstruction: the preview is the image itself
    assert preview.shape == (200, 100, 3) and preview.dtype == np.uint8  # k = ceil(600 / 256) = 3
    assert np.abs(preview.astype(int) - array[::3, ::3]).max() <= 1  # (x * 2 - 1 + 1) / 2 * 255 rounds back


def test_gray_image_preview_is_gray_rgb(camera64):
    image = Image(camera64)
    preview = image.preview(None, image.values)
    assert preview.shape == (64, 64, 3)
    assert np.array_equal(preview[..., 0], preview[..., 2])
    assert np.abs(preview[..., 1].astype(int) - camera64).max() <= 1


def test_audio_preview_is_a_spectrogram_with_the_tone_at_its_height():
    rate, tone = 8000, 1000.0
    t = np.arange(rate) / rate
    audio = Audio((0.5 * np.sin(2 * np.pi * tone * t)).astype(np.float32), rate=rate)
    preview = audio.preview(None, audio.values)
    # 513 frequency bins (1024-sample windows), high ones at the top; 1 kHz is bin 128, row 512 - 128 = 384 of 513,
    # row 128 after keeping every 3rd (ceil(513 / 256))
    assert preview.shape[0] == 171 and preview.shape[1] <= PREVIEW_SIZE and preview.dtype == np.uint8
    brightness = preview.astype(float).sum(axis=(1, 2))
    assert abs(int(np.argmax(brightness)) - 128) <= 1


class Sphere(Field):
    """The signed distance to a sphere of radius 0.5 at the origin."""

    def forward(self, x):
        return x.norm(dim=1, keepdim=True) - 0.5


def test_sdf_preview_is_the_z0_slice_with_its_zero_level_black():
    picture = slice_preview(Sphere(3, 1), 128)
    assert picture.shape == (128, 128, 3) and picture.dtype == np.uint8
    centre, corner = picture[64, 64].astype(int), picture[0, 0].astype(int)
    assert centre[2] > centre[0] and corner[0] > corner[2]  # blue inside, red outside
    rows, cols = np.nonzero(picture.sum(axis=2) == 0)
    radius = np.hypot(rows - 63.5, cols - 63.5) * 2 / 127  # pixels to units: 128 samples over [-1, 1]
    assert len(rows) > 150 and np.abs(radius - 0.5).max() < 2.5 / 127


def test_sdf_signal_preview_is_the_slice_of_its_model():
    shape = SDF("part", pool=2000, eval_samples=200, samples=128, metric_samples=1000, resolution=12)
    assert np.array_equal(shape.preview(Sphere(3, 1), None), slice_preview(Sphere(3, 1), PREVIEW_SIZE // 2))


def test_scene_preview_renders_the_first_test_view_small(tmp_path, monkeypatch):
    folder = make_scene(tmp_path / "tiny", size=16, train=2, val=1, test=1)
    scene = Scene(str(folder), rays=32, eval_rays=32, orbit_frames=0)
    torch.manual_seed(0)
    model = build_model("nerf-hashgrid", 6, 3, log2_table=10, levels=3, max_res=32, occupancy_res=8,
                        samples_per_ray=16, **scene.model_defaults("nerf-hashgrid"))
    views = scene.test
    full = scene.preview(model, None)
    assert full.shape == (16, 16, 3) and full.dtype == np.uint8  # already small: rendered at its own size
    monkeypatch.setattr(scene_pictures, "PREVIEW_SIDE", 8)
    small = scene.preview(model, None)
    expected, _, _ = render_views(model, views.c2w[:1], 8, 8, views.focal / 2)
    assert np.array_equal(small, scene_pictures.to_uint8(expected[0]))
