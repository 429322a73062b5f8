"""Lossless PNG at the image's own bit depth (pypng): Pillow drops 16-bit colour to 8 bits."""

from __future__ import annotations

import io

import numpy as np
import png

_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def encode_png(array: np.ndarray) -> bytes:
    """(H, W) or (H, W, C) uint8/uint16 array, C in 1..4 -> PNG bytes of the same depth."""
    if array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG holds uint8 or uint16, not {array.dtype}")
    pixels = array if array.ndim == 3 else array[..., None]
    h, w, c = pixels.shape
    depth = 8 * array.dtype.itemsize
    buffer = io.BytesIO()
    png.from_array(pixels.reshape(h, w * c), f"{_MODES[c]};{depth}").write(buffer)
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes -> (H, W) or (H, W, C) array; palettes expanded, depths below 8 scaled to uint8."""
    width, height, rows, info = png.Reader(bytes=data).asDirect()
    depth, planes = info["bitdepth"], info["planes"]
    dtype = np.uint16 if depth > 8 else np.uint8
    array = np.vstack([np.asarray(row, dtype=dtype) for row in rows]).reshape(height, width, planes)
    if depth < 8:
        array = (array * (255 // (2**depth - 1))).astype(np.uint8)
    return array[..., 0] if planes == 1 else array
