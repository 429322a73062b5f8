"""Images: PNG, JPEG, TIFF, BMP, .npy or a built-in scikit-image photograph, as pixel-centre samples.

Coordinates are pixel centres in [-1, 1]^2 laid out row-major over (H, W), with column 0 the x (width)
axis and column 1 the y (height) axis, the convention of ``torch.nn.functional.grid_sample``.
Values are mapped from the input's range (uint8 0..255, uint16 0..65535, float 0..1 or its min..max)
to [-1, 1]; ``ImageFormat.to_native`` maps predictions back to the input's range and dtype.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
import torch

from nstr.core.config import option
from nstr.core.device import module_device
from nstr.core.errors import NstrError
from nstr.core.io import write_npy
from nstr.core.lazy import lazy_import
from nstr.core.metrics import psnr, ssim
from nstr.core.plotting import save_png, shrink
from nstr.core.png import decode_png
from nstr.models.base import Field
from nstr.nn.lpips import lpips_metric
from nstr.render.image_grid import pixel_centres  # defined below the models, which draw whole grids
from nstr.signals.base import PREVIEW_SIZE, Signal, SignalConfig
from nstr.signals.image.pictures import rgb_preview, save_error_map
from nstr.signals.registry import register_signal

skimage_data = lazy_import("skimage.data")  # the built-in photographs
skimage_transform = lazy_import("skimage.transform")  # loaded on first use (0.35 s)

# scikit-image photographs that ship inside the package (no download).
BUILTIN_IMAGES = (
    "astronaut", "camera", "chelsea", "coffee", "brick", "grass", "gravel", "moon", "page", "text",
    "coins", "rocket", "hubble_deep_field", "immunohistochemistry", "retina", "clock", "logo",
    "colorwheel", "cell", "checkerboard",
)
#: NSTR's settings for images (``Image.model_defaults``), over the model's own (which audio, shapes and scenes
#: keep): phase modulation, a linear H_psi, the basis drawn from the photograph's spectrum and one decoder layer.
#: Measured in ``nstr bench directions`` (Kodak pair, 0.3M parameters, 60 s, 3 seeds): 38.98 dB against 38.14 for
#: the model's own defaults and 39.30 for the hash grid with the same table; ``nstr bench kodak`` measures it on
#: all 24 photographs.
IMAGE_NSTR_DEFAULTS: dict[str, Any] = {"compose": "phase", "spectral_layers": 0, "basis_init": "spectrum",
                                       "decoder_layers": 1}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".npy")


@dataclass(frozen=True)
class ImageFormat:
    """How an image was stored: enough to write a prediction back as the user's own kind of file."""

    height: int
    width: int
    channels: int
    dtype: str
    lo: float
    hi: float
    squeeze: bool  # the input was (H, W) rather than (H, W, C)

    def to_native(self, values: np.ndarray, height: int | None = None, width: int | None = None) -> np.ndarray:
        """Map normalised values [H*W, C] in [-1, 1] to an (H, W[, C]) array in the input's dtype and range."""
        h, w = height or self.height, width or self.width
        unit = np.clip((values.reshape(h, w, self.channels) + 1.0) / 2.0, 0.0, 1.0)
        native = self.lo + unit * (self.hi - self.lo)
        dtype = np.dtype(self.dtype)
        if dtype == np.bool_:
            native = native >= (self.lo + self.hi) / 2
        elif np.issubdtype(dtype, np.integer):
            native = np.rint(native)
        native = native.astype(dtype)
        return native[..., 0] if self.squeeze else native

    def to_png_array(self, native: np.ndarray) -> np.ndarray:
        """The array to store as PNG: uint8/uint16 kept, anything else shown as 8-bit."""
        dtype = np.dtype(self.dtype)
        if dtype in (np.uint8, np.uint16):
            return native
        unit = (native.astype(np.float64) - self.lo) / max(self.hi - self.lo, 1e-12)
        return np.rint(np.clip(unit, 0, 1) * 255).astype(np.uint8)


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' (or a single number for a square) -> (height, width)."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        raise NstrError(f"size '{text}' is not WxH (for example 512x384)") from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) < 1:
        raise NstrError(f"size '{text}' is not WxH with positive integers (for example 512x384)")
    width, height = parts
    return height, width


def _read_array(source: str) -> np.ndarray:
    """Read pixels from a built-in name or a file, with one-line errors for every way a file is bad."""
    if source in BUILTIN_IMAGES:
        return np.asarray(getattr(skimage_data, source)())
    path = Path(source)
    if not path.exists():
        hint = f"; built-in images: {', '.join(BUILTIN_IMAGES[:6])}, ..." if "/" not in source else ""
        raise NstrError(f"image '{source}' not found: give an existing file or a built-in name{hint}")
    if path.is_dir():
        raise NstrError(f"'{source}' is a directory, not an image file")
    if path.stat().st_size == 0:
        raise NstrError(f"'{source}' is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise NstrError(f"'{source}' has an unsupported extension '{suffix}': use {', '.join(IMAGE_SUFFIXES)}")
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as exc:  # numpy raises ValueError, EOFError, OSError... for bad files
            raise NstrError(f"'{source}' is not a readable .npy array ({type(exc).__name__}: {exc})") from None
    else:

        try:
            array = decode_png(path.read_bytes()) if suffix == ".png" else np.asarray(iio.imread(path))
        except Exception as exc:  # imageio raises many types for corrupt or mislabelled files
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise NstrError(f"'{source}' could not be read as an image ({message})") from None
    return array


def _native_range(array: np.ndarray, source: str) -> tuple[float, float]:
    """The range that maps to [0, 1]: the dtype's for uint8/uint16/bool, else the data's own."""
    if array.dtype == np.bool_:
        return 0.0, 1.0
    if array.dtype in (np.uint8, np.uint16):
        return 0.0, float(np.iinfo(array.dtype).max)
    if np.issubdtype(array.dtype, np.floating) and array.min() >= 0.0 and array.max() <= 1.0:
        return 0.0, 1.0
    lo, hi = float(array.min()), float(array.max())
    if hi <= lo:
        raise NstrError(f"'{source}' is constant ({lo}); there is nothing to fit")
    return lo, hi


@dataclass(frozen=True)
class ImageConfig(SignalConfig):
    """Load options of an image."""

    resize: tuple[int, int] | None = option(None, "resample the image to WxH before fitting [its own size]",
                                            parse=parse_size, metavar="WxH")
    noise: float = option(0.0, "train on Gaussian noise of this std (fraction of the value range); "
                               "score the clean image")
    noise_seed: int = option(0, "seed of the training noise")

    def __post_init__(self) -> None:
        resize = self.resize
        if isinstance(resize, str):
            resize = parse_size(resize)
        if resize is not None:  # (height, width); a run's config.json holds it as a list
            if len(resize) != 2 or min(resize) < 1:
                raise NstrError(f"resize must be (height, width) in positive pixels, got {resize}")
            resize = (int(resize[0]), int(resize[1]))
        object.__setattr__(self, "resize", resize)
        if not (np.isfinite(self.noise) and self.noise >= 0):
            raise NstrError(f"noise must be a fraction >= 0 of the value range, got {self.noise}")
        object.__setattr__(self, "noise", float(self.noise))
        object.__setattr__(self, "noise_seed", int(self.noise_seed))


@register_signal
class Image(Signal):
    """A 2-D image signal. ``Image("astronaut")``, ``Image("photo.png")``, ``Image(array)``.

    Options (``ImageConfig``): ``resize`` ((height, width) or "WxH"), ``noise``, ``noise_seed``.
    """

    kind = "image"
    Config = ImageConfig
    description = "images"
    fallback = True  # any source no other kind accepts: a built-in name or an image file
    suffixes = IMAGE_SUFFIXES

    def __init__(self, source: str | Path | np.ndarray, config: ImageConfig | None = None, **options: Any):
        """``noise``: train on the image plus Gaussian noise of this standard deviation, as a fraction of the
        value range (0.1 = 10 %), drawn with ``noise_seed``; metrics score the clean image (denoising)."""
        self.config = self.make_config(config, options)
        resize = self.config.resize
        self._array: np.ndarray | None = None
        if isinstance(source, np.ndarray):
            self.source, array = "<array>", source
            self._array = source  # kept (not copied) so a run can store it for resume
        else:
            self.source = str(source)
            array = _read_array(self.source)
        array = self._validate(array, self.source)
        squeeze = array.ndim == 2
        if squeeze:
            array = array[..., None]
        lo, hi = _native_range(array, self.source)
        unit = (array.astype(np.float64) - lo) / (hi - lo)
        if resize is not None and resize != unit.shape[:2]:
            unit = skimage_transform.resize(unit, resize, order=1, anti_aliasing=True)
        self.resize = resize
        self.noise, self.noise_seed = self.config.noise, self.config.noise_seed
        h, w, c = unit.shape
        self.format = ImageFormat(h, w, c, array.dtype.name, lo, hi, squeeze)
        self.coords = pixel_centres(h, w)
        self.clean = torch.from_numpy((unit.reshape(-1, c) * 2 - 1).astype(np.float32))
        self.values = self.clean
        if self.noise > 0:  # std in normalised units: the range [-1, 1] is 2 wide
            generator = torch.Generator().manual_seed(self.noise_seed)
            noise = torch.randn(self.clean.shape, generator=generator, device=self.clean.device)
            self.values = self.clean + noise * (2 * self.noise)

    @staticmethod
    def _validate(array: np.ndarray, source: str) -> np.ndarray:
        if array.dtype == object or not (
            np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
        ):
            raise NstrError(f"'{source}' holds {array.dtype} values; an image needs numbers")
        if np.iscomplexobj(array):
            raise NstrError(f"'{source}' holds complex values; an image needs real numbers")
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4)):
            raise NstrError(
                f"'{source}' has shape {array.shape}; an image is (H, W) or (H, W, C) with C in 1..4"
            )
        if min(array.shape[:2]) < 2:
            raise NstrError(f"'{source}' has shape {array.shape}; an image needs at least 2x2 pixels")
        if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            raise NstrError(f"'{source}' contains NaN or Inf values; clean them before fitting")
        return array

    @property
    def shape(self) -> tuple[int, int]:
        return self.format.height, self.format.width

    def model_defaults(self, model_name: str) -> dict[str, Any]:
        """NSTR's image settings (``IMAGE_NSTR_DEFAULTS``); other models keep their own defaults."""
        return dict(IMAGE_NSTR_DEFAULTS) if model_name == "nstr" else {}

    @classmethod
    def spec_shape(cls, spec: dict[str, Any]) -> tuple[int, int]:
        return spec["format"]["height"], spec["format"]["width"]

    @classmethod
    def from_spec(cls, spec: dict[str, Any], run_dir: Path | None) -> Image:
        path = spec["source"]
        if run_dir is not None and path not in BUILTIN_IMAGES and not Path(path).is_absolute():
            path = str(Path(run_dir) / path)
        return cls(path, cls.config_from_spec(spec))

    def spec(self, run_dir: Path | None = None) -> dict[str, Any]:
        source = self.source
        if self._array is not None:
            if run_dir is None:
                raise NstrError("an image given as an array can only be described inside a run directory")
            source = "source.npy"  # relative to the run directory
            np.save(Path(run_dir) / source, self._array)
        elif source not in BUILTIN_IMAGES:
            source = str(Path(source).resolve())
        return {"kind": self.kind, "source": source, **self.config.to_dict(), "format": asdict(self.format)}

    def grid(self, height: int, width: int) -> torch.Tensor:
        """Coordinates at which to decode the image at another resolution (where the signal's tensors are)."""
        return pixel_centres(height, width, device=self.coords.device)

    def to_unit_image(self, values: torch.Tensor) -> np.ndarray:
        """Normalised values [H*W, C] -> float image (H, W, C) in [0, 1]."""
        h, w, c = self.format.height, self.format.width, self.format.channels
        return ((values.detach().double().cpu().numpy().reshape(h, w, c) + 1) / 2).clip(0, 1)

    def psnr(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        return psnr((pred.clamp(-1, 1) + 1) / 2, (target + 1) / 2)

    def metrics(self, pred: torch.Tensor) -> dict[str, Any]:
        """PSNR, SSIM and LPIPS (None with a note when its weights are not installed: ``nstr.nn.lpips``) against
        the clean image (with ``noise``, also PSNR against the noisy training target)."""
        recon, target = self.to_unit_image(pred), self.to_unit_image(self.clean)
        scores = {"psnr": self.psnr(pred, self.clean), "ssim": ssim(recon, target), **lpips_metric(recon, target)}
        if self.noise > 0:
            scores["psnr_noisy_target"] = self.psnr(pred, self.values)
        return scores

    def write_outputs(self, pred: torch.Tensor, out_dir: Path) -> list[Path]:
        native = self.format.to_native(pred.detach().cpu().numpy())
        written = [save_png(out_dir / "recon.png", self.format.to_png_array(native))]
        if np.dtype(self.format.dtype) not in (np.uint8, np.uint16):
            np.save(out_dir / "recon.npy", native)  # the exact dtype, which PNG cannot hold
            written.append(out_dir / "recon.npy")
        error = np.abs(self.to_unit_image(pred) - self.to_unit_image(self.clean)).mean(axis=2)
        written.append(save_error_map(out_dir / "error.png", error))
        return written

    def preview(self, model: Field, pred: torch.Tensor) -> np.ndarray:
        """The reconstruction itself, every k-th pixel (see ``rgb_preview``)."""
        h, w, c = self.format.height, self.format.width, self.format.channels
        small = shrink(pred.detach().view(h, w, c), PREVIEW_SIZE).double().cpu().numpy()
        return rgb_preview((small + 1) / 2)

    def summary(self, metrics: dict[str, Any]) -> str:
        parts = [f"psnr {metrics['psnr']:.2f} dB", f"ssim {metrics['ssim']:.4f}"]
        if metrics.get("lpips") is not None:
            parts.append(f"lpips {metrics['lpips']:.4f}")
        if "psnr_holdout" in metrics:
            parts.append(f"held-out psnr {metrics['psnr_holdout']:.2f} dB")
        return ", ".join(parts)

    def output_names(self) -> str:
        return "recon.png, error.png, curve.png, metrics.json, model.safetensors"

    @classmethod
    def decode(cls, model: Field, spec: dict[str, Any], height: int, width: int) -> np.ndarray:
        """The fitted image at any resolution, in the input's dtype and value range (``spec`` from config.json)."""
        fmt = ImageFormat(**spec["format"])
        coords = pixel_centres(height, width, device=module_device(model))
        return fmt.to_native(model.predict(coords).cpu().numpy(), height, width)

    @classmethod
    def render_run(cls, model: Field, spec: dict[str, Any], output: Path, options: dict[str, Any]) -> str:
        """Decode at ``options['size']`` ('WxH', default the fitted size) into a .png or .npy (input's dtype)."""
        if output.suffix.lower() not in (".png", ".npy"):
            raise NstrError(f"OUTPUT '{output}' must end in .png or .npy for an image run")
        fmt = ImageFormat(**spec["format"])
        height, width = parse_size(options["size"]) if options.get("size") else (fmt.height, fmt.width)
        native = cls.decode(model, spec, height, width)
        if output.suffix.lower() == ".npy":
            write_npy(output, native)
        else:
            save_png(output, fmt.to_png_array(native))
        return f"wrote {output} ({width}x{height})"

