"""Radiance-field scenes: load the Blender synthetic NeRF format and make small analytic test scenes."""

from __future__ import annotations

from nstr.scenes.blender import BlenderScene, Views, load_blender
from nstr.scenes.make import make_scene

__all__ = ["BlenderScene", "Views", "load_blender", "make_scene"]
