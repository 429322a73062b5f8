"""Volume rendering as plain functions of a field callable: cameras and rays, ray/box clipping, samplers,
compositing, the occupancy grid and camera orbits. Knows nothing of models or scenes on disk."""
