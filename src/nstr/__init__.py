"""nstr: implicit neural representations fitted to real signals, on a laptop CPU or a GPU.

    import nstr
    image = nstr.signals.Image("astronaut")
    model = nstr.models.SIREN(image.in_dim, image.out_dim)
    result = nstr.fit(image, model, steps=500, out="runs/astronaut-siren")
    run = nstr.load("runs/astronaut-siren"); big = run.render(1024, 1024)
"""

from nstr import models, signals
from nstr.core.errors import NstrError
from nstr.models import MODELS, SIREN, FourierMLP, build_model, register
from nstr.signals import Image, load_signal
from nstr.train.fit import FitResult, FitSettings, fit, resume
from nstr.train.runs import Run, load, prepare_run_dir

__all__ = [
    "models", "signals", "NstrError", "FitResult", "FitSettings", "fit", "resume", "MODELS", "SIREN",
    "FourierMLP", "build_model", "register", "Run", "load", "prepare_run_dir", "Image", "load_signal",
]
