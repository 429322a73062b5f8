"""Pixels of a Blender-format scene: read RGBA images and depth maps, shrink them, composite on a background.

Shrinking averages *premultiplied* colour (rgb * alpha) and alpha over N x N blocks and composites after,
which is what a camera with N times larger pixels would see; averaging straight colour would bleed the
(meaningless) colour of transparent pixels into object edges. Odd sizes are centre-cropped to a multiple of N.
"""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np

from nstr.core.errors import NstrError
from nstr.core.png import decode_png
from nstr.render.compositing import BACKGROUNDS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_rgba(path: Path) -> np.ndarray:
    """An image file as float32 [H, W, 4] straight (not premultiplied) RGBA in [0, 1]; no alpha -> opaque."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NstrError(f"'{path}' could not be read ({exc.strerror}); check the file") from None
    try:
        array = _decode(data, path)
    except NstrError:
        raise
    except Exception as exc:  # Pillow and pypng raise many types for corrupt or truncated files
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NstrError(f"'{path}' could not be read as an image ({first}); replace or regenerate it") from None
    return _to_rgba(array, path)


def _decode(data: bytes, path: Path) -> np.ndarray:
    """8-bit RGB(A) PNGs through Pillow (fast); 16-bit, palette and grey PNGs through pypng (exact)."""

    if path.suffix.lower() != ".png":
        return np.asarray(iio.imread(data, extension=path.suffix.lower()))
    if not data.startswith(PNG_SIGNATURE) or len(data) < 26:
        raise NstrError(f"'{path}' is not a PNG file; replace or regenerate it")
    bit_depth, colour_type = data[24], data[25]
    if bit_depth == 8 and colour_type in (2, 6) and b"tRNS" not in data:
        return np.asarray(iio.imread(data, extension=".png"))
    return decode_png(data)


def _to_rgba(array: np.ndarray, path: Path) -> np.ndarray:
    if array.dtype == np.uint8 or array.dtype == np.uint16:
        values = array.astype(np.float32) / np.float32(np.iinfo(array.dtype).max)
    elif np.issubdtype(array.dtype, np.floating):
        values = np.clip(array.astype(np.float32), 0.0, 1.0)
    else:
        raise NstrError(f"'{path}' has {array.dtype} pixels; use 8- or 16-bit PNG")
    if values.ndim == 2:
        values = values[..., None]
    channels = values.shape[-1]
    if values.ndim != 3 or channels not in (1, 2, 3, 4):
        raise NstrError(f"'{path}' has pixel shape {array.shape}; use an RGBA, RGB or grey image")
    colour = values[..., :3] if channels >= 3 else np.repeat(values[..., :1], 3, axis=-1)
    alpha = values[..., -1:] if channels in (2, 4) else np.ones_like(values[..., :1])
    return np.concatenate([colour, alpha], axis=-1)


def read_depth(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A depth map .npy as float32 [H, W]: distance along the unit ray, 0 for background; checked against the
    image size ``shape``."""
    if not path.is_file():
        raise NstrError(f"'{path}' is missing: the depth_path of its frame names no file; restore it or remove "
                        "depth_path from the frames")
    try:
        depth = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError, EOFError, OSError... for bad files
        raise NstrError(f"'{path}' is not a readable .npy array ({type(exc).__name__}); regenerate it") from None
    if depth.shape != shape or not np.issubdtype(depth.dtype, np.floating):
        raise NstrError(f"'{path}' holds a {depth.dtype} array of shape {depth.shape}; expected float {shape} "
                        "like its image")
    if not np.isfinite(depth).all() or (depth < 0).any():
        raise NstrError(f"'{path}' has negative or non-finite depths; use distances >= 0 (0 = background)")
    return depth.astype(np.float32)


def centre_offsets(height: int, width: int, n: int) -> tuple[int, int]:
    """Rows and columns ``centre_crop`` cuts from the top and the left (a principal point moves by them)."""
    return (height % n) // 2, (width % n) // 2


def centre_crop(array: np.ndarray, n: int) -> np.ndarray:
    """Crop the leading two axes to multiples of ``n``, cutting equally from both sides (centre kept to within
    half an input pixel)."""
    h, w = array.shape[:2]
    top, left = centre_offsets(h, w, n)
    return array[top:top + h - h % n, left:left + w - w % n]


def shrink_rgba(rgba: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Straight RGBA [H, W, 4] -> (premultiplied rgb [H/n, W/n, 3], alpha [H/n, W/n]) by n x n block means."""
    rgba = centre_crop(rgba, n)
    premultiplied = np.concatenate([rgba[..., :3] * rgba[..., 3:], rgba[..., 3:]], axis=-1)
    if n > 1:
        h, w = premultiplied.shape[0] // n, premultiplied.shape[1] // n
        premultiplied = premultiplied.reshape(h, n, w, n, 4).mean(axis=(1, 3), dtype=np.float64).astype(np.float32)
    return premultiplied[..., :3], premultiplied[..., 3]


def over_background(premultiplied: np.ndarray, alpha: np.ndarray, background: str) -> np.ndarray:
    """Premultiplied colour over a uniform background: rgb * alpha + bg * (1 - alpha)."""
    return premultiplied + np.float32(BACKGROUNDS[background]) * (1 - alpha[..., None])


def shrink_depth(depth: np.ndarray, n: int) -> np.ndarray:
    """Mean depth over the covered (depth > 0) pixels of each n x n block; 0 where a block covers nothing."""
    depth = centre_crop(depth, n)
    if n == 1:
        return depth
    h, w = depth.shape[0] // n, depth.shape[1] // n
    blocks = depth.reshape(h, n, w, n).astype(np.float64)
    count = (blocks > 0).sum(axis=(1, 3))
    total = blocks.sum(axis=(1, 3))
    return np.where(count > 0, total / np.maximum(count, 1), 0.0).astype(np.float32)
