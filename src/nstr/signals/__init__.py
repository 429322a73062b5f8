"""Signals: load a real signal, give its coordinates and normalised values, and write results back.

One folder per kind, each holding its signal, file io, metrics and pictures: ``image/``, ``audio/``,
``shape/`` (meshes as signed distance fields) and ``scene/`` (radiance fields). ``base`` is the contract,
``registry`` picks a kind for a source. Importing this package registers every built-in kind.
"""

from __future__ import annotations

from nstr.signals.audio.signal import Audio
from nstr.signals.base import Signal
from nstr.signals.image.signal import BUILTIN_IMAGES, Image
from nstr.signals.registry import SIGNAL_KINDS, load_signal, register_signal, signal_class, signal_kind
from nstr.signals.scene.signal import Scene
from nstr.signals.shape.signal import SDF

__all__ = ["Signal", "Image", "Audio", "SDF", "Scene", "BUILTIN_IMAGES", "SIGNAL_KINDS", "register_signal",
           "load_signal", "signal_class", "signal_kind"]
