"""Lazily imported modules: the same module once used, nothing run before, and a missing one refused at once."""

from __future__ import annotations

import subprocess
import sys

import pytest
import scipy.signal as eager

from nstr.core.lazy import lazy_import


def test_an_imported_module_is_returned_as_it_is():
    assert lazy_import("scipy.signal") is eager


def test_a_lazy_module_works_like_the_module_once_used():
    code = ("from nstr.core.lazy import lazy_import; m = lazy_import('fractions'); "
            "print(m.Fraction(3, 6), type(m).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1/2", "module"]


def test_nothing_runs_until_an_attribute_is_read():
    """``type()`` does not touch the module, so it tells a lazy module from a loaded one without loading it."""
    code = ("import sys; from nstr.core.lazy import lazy_import; m = lazy_import('colorsys'); "
            "print(type(m).__name__); m.rgb_to_hsv; print(type(m).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["_LazyModule", "module"]


def test_a_missing_module_fails_at_once():
    with pytest.raises(ModuleNotFoundError, match="no_such_module_here"):
        lazy_import("no_such_module_here")


def test_the_command_line_does_not_load_the_heavy_modules():
    """Importing the CLI leaves the heavy modules unloaded: absent, or lazy and not yet run."""
    heavy = ("torchdiffeq", "trimesh", "scipy.stats", "scipy.signal", "matplotlib.figure", "skimage.transform")
    code = (f"import sys, nstr.cli.main; print([m for m in {heavy!r} "
            "if m in sys.modules and type(sys.modules[m]).__name__ != '_LazyModule'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_a_lazy_submodule_is_an_attribute_of_its_package_as_after_an_import():
    """matplotlib 3.8's colorbar reads ``matplotlib.figure`` off the package: a lazy submodule must be there."""
    code = ("import email; from nstr.core.lazy import lazy_import; m = lazy_import('email.mime.audio'); "
            "import email.mime; print(email.mime.audio is m, type(email.mime.audio).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "_LazyModule"]
