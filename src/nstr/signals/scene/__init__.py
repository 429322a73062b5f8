"""Radiance-field scenes: the Blender-format loader, generated analytic scenes, the scene signal (rays) and
its pictures (test sheets, depth, orbits)."""
