"""Pictures of a fitted model's internals (NSTR's spectral field, the 2-D Gaussians), registered per model class
so that no model imports plotting. ``write_pictures(model, out_dir, shape)`` draws whatever the model has."""

from nstr.inspect import gaussians, spectral  # noqa: F401  (register NSTR's and the Gaussians' pictures)
from nstr.inspect.registry import register_pictures, write_pictures

__all__ = ["register_pictures", "write_pictures"]
