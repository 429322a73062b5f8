"""Pictures of a fitted model's internals (NSTR's spectral field), registered per model so that no model
imports plotting."""
