"""Rendering as plain functions. Volume rendering of a field callable (cameras and rays, ray/box clipping,
samplers, compositing, the occupancy grid and camera orbits), and the drawing of 2-D Gaussians on a pixel grid
or at any points (``image_grid``, ``splat_grid``, ``splat_points``). Knows nothing of models or scenes on disk."""
