"""Modules imported on first use, so `nstr --help` does not pay for scipy.signal, matplotlib or trimesh.

``trimesh = lazy_import("trimesh")`` stands at the top of a module like any import (the layering test reads
imports there), but the module's code runs only when an attribute is first read. This is the standard
library's own recipe (``importlib.util.LazyLoader``); scikit-image's ``lazy_loader`` does the same but warns
on every submodule such as ``scipy.signal``. Measured on 2 cores: `nstr --help` took 2.0 s when these imports
hid inside functions, 4.2 s with them eager at the top, 2.1-2.6 s with them lazy.

A lazy module runs on first use, perhaps inside ``with torch.device("cuda")``; it runs on the CPU default
device all the same, so tensors it makes at import (torchdiffeq's Butcher tableaux) are where an eager import
would have put them.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from types import ModuleType

import torch


class _HostLoader(importlib.abc.Loader):
    """Runs a module's code with the CPU as torch's default device (see the module docstring)."""

    def __init__(self, loader: importlib.abc.Loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with torch.device("cpu"):
            self.loader.exec_module(module)

    def __getattr__(self, name: str):
        return getattr(self.loader, name)


def lazy_import(name: str) -> ModuleType:
    """The module ``name``, executed when one of its attributes is first used (at once if already imported)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)  # imports the parent package of a submodule, not the submodule
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)
    loader = importlib.util.LazyLoader(_HostLoader(spec.loader))
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:  # bound to its package as an import would: matplotlib 3.8's colorbar reads ``matplotlib.figure``
        setattr(sys.modules[parent], child, module)
    loader.exec_module(module)
    return module
