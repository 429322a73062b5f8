"""3-D shapes as signed distance fields: mesh io and normalisation, exact signed distances, training samples,
task losses, mesh extraction, shape metrics and pictures; ``signal.SDF`` ties them together.

Conventions: signed distances are negative inside, in normalised units (the mesh's bounding box centred at
the origin and scaled so its longest side spans [-0.9, 0.9]); ``Normalisation`` maps back to the file's units.
"""
