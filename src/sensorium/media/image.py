"""Safe image decoding (Pillow) to a BGR uint8 array.

* The pixel count is read from the header *before* any pixel is decoded: an image larger than
  MAX_IMAGE_PIXELS (a decompression bomb such as a 30000x30000 PNG of a few hundred KB) is refused
  with FILE_TOO_LARGE and a message giving its size and the limit.
* Animated GIF/WebP/APNG: the first frame is analysed; the result says so (`animated`,
  `frame_count`, `analyzed_frame`).
* EXIF orientation is applied (a portrait phone photo is upright).
* Transparency is flattened on white; palette, greyscale, 16-bit and CMYK images become BGR.
* Large JPEGs are decoded at a reduced scale straight from the DCT (`draft`) when `max_side` asks
  for less than half the size (much faster, same result at the analysis size).
* A tiny image (even 1x1) decodes normally; `DecodedImage.tiny` tells callers that detectors
  cannot work on it.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError

if TYPE_CHECKING:
    from PIL import Image

#: smaller than this on either side, object/face/text detection cannot work
MIN_DETECT_SIDE = 32


@dataclass
class DecodedImage:
    bgr: np.ndarray  # HxWx3 uint8 (after EXIF orientation, possibly reduced by max_side)
    width: int  # original width (after orientation)
    height: int
    format: str  # "JPEG", "PNG", ...
    mode: str  # original Pillow mode
    animated: bool = False
    frame_count: int = 1
    analyzed_frame: int = 0
    exif_rotated: bool = False
    has_alpha: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def tiny(self) -> bool:
        return min(self.bgr.shape[:2]) < MIN_DETECT_SIDE

    @property
    def scale(self) -> float:
        """Decoded width / original width (1.0 unless reduced)."""
        return self.bgr.shape[1] / self.width if self.width else 1.0

    def info(self) -> dict:
        d = {
            "width": self.width,
            "height": self.height,
            "format": self.format.lower(),
            "mode": self.mode,
        }
        if self.animated:
            d.update(animated=True, frame_count=self.frame_count, analyzed_frame=self.analyzed_frame)
        if self.exif_rotated:
            d["exif_rotated"] = True
        return d


def _open(source: Path | str | bytes):
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()  # HEIC/HEIF photos from phones (Pillow reads AVIF itself); idempotent

    fp = io.BytesIO(source) if isinstance(source, bytes | bytearray) else str(source)
    return Image.open(fp)


def read_image_size(source: Path | str | bytes) -> tuple[int, int]:
    """(width, height) from the header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with _open(source) as im:
                return int(im.width), int(im.height)
    except Image.DecompressionBombError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise SensoriumError(
            ErrorCode.PROCESSING_FAILED, f"Could not read the image header: {exc}."
        ) from exc


def _too_large(w: int, h: int, max_pixels: int) -> SensoriumError:
    return SensoriumError(
        ErrorCode.FILE_TOO_LARGE,
        f"The image is {w}x{h} = {w * h / 1e6:.0f} megapixels; the limit is {max_pixels / 1e6:.0f} "
        f"megapixels (MAX_IMAGE_PIXELS). Very large or decompression-bomb images are refused "
        f"before decoding.",
        details={"width": w, "height": h, "max_pixels": max_pixels},
    )


def _open_guarded(source: Path | str | bytes, max_pixels: int) -> Image.Image:
    """Open (header only) with Pillow's bomb guard turned into FILE_TOO_LARGE, junk into PROCESSING_FAILED."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # the guard below replaces Pillow's global one; never let its warning/exception decide
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return _open(source)
    except Image.DecompressionBombError as exc:  # Pillow's own guard (> ~179 MP) fired first
        m = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(m.group(1)) if m else None
        size = f"{pixels / 1e6:.0f} megapixels" if pixels else "larger than the decoder allows"
        raise SensoriumError(
            ErrorCode.FILE_TOO_LARGE,
            f"The image is {size}; the limit is {max_pixels / 1e6:.0f} megapixels (MAX_IMAGE_PIXELS). "
            "Very large or decompression-bomb images are refused before decoding.",
            details={"pixels": pixels, "max_pixels": max_pixels},
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise SensoriumError(
            ErrorCode.PROCESSING_FAILED,
            f"Could not decode the image: {exc}. The file may be corrupt, truncated or not an image.",
        ) from exc


def _rgb_array(im: Image.Image, has_alpha: bool) -> np.ndarray:
    """RGB uint8 pixels: transparency over white, 16-bit greys stretched to 8 bits."""
    from PIL import Image

    if has_alpha:
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(bg, rgba).convert("RGB"))
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr16 = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr16.min()), float(arr16.max())
        scaled = ((arr16 - lo) / (hi - lo) * 255) if hi > lo else np.zeros_like(arr16)
        return np.asarray(Image.fromarray(scaled.astype(np.uint8)).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def decode_image(
    source: Path | str | bytes,
    *,
    max_pixels: int,
    max_side: int | None = None,
) -> DecodedImage:
    """Decode an image file/bytes to BGR uint8, guarded against bombs (see module doc).

    max_side: if given, the returned array is downscaled so that its longer side is at most this
    (aspect kept); `width`/`height` keep the original size.
    """
    import cv2
    from PIL import Image, ImageOps

    im = _open_guarded(source, max_pixels)
    with im:
        w, h = int(im.width), int(im.height)
        if w <= 0 or h <= 0:
            raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The image has no pixels (0 width or height).")
        if w * h > max_pixels:
            raise _too_large(w, h, max_pixels)
        fmt = (im.format or "unknown").upper()
        mode = im.mode
        frames = int(getattr(im, "n_frames", 1) or 1)
        animated = bool(getattr(im, "is_animated", False)) and frames > 1
        notes: list[str] = []
        if animated:
            notes.append(f"Animated {fmt} with {frames} frames: the first frame was analyzed.")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                orientation = im.getexif().get(0x0112, 1) if hasattr(im, "getexif") else 1
                if fmt == "JPEG" and max_side and max(w, h) > 2 * max_side:
                    im.draft("RGB", (max_side, max_side))
                if animated:
                    im.seek(0)
                im.load()
                rotated = orientation not in (None, 1)
                if rotated:
                    im = ImageOps.exif_transpose(im)
                has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
                arr = _rgb_array(im, has_alpha)
        except SensoriumError:
            raise
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise SensoriumError(
                ErrorCode.PROCESSING_FAILED,
                f"Could not decode the image: {exc}. The file may be corrupt or truncated.",
            ) from exc
    if rotated and orientation in (5, 6, 7, 8):
        w, h = h, w
    bgr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    if max_side and max(bgr.shape[:2]) > max_side:
        r = max_side / max(bgr.shape[:2])
        size = (max(1, int(round(bgr.shape[1] * r))), max(1, int(round(bgr.shape[0] * r))))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    if min(w, h) < MIN_DETECT_SIDE:
        notes.append(
            f"The image is only {w}x{h} pixels: too small for object, face or text detection; "
            "colors and brightness are still measured."
        )
    return DecodedImage(
        bgr=np.ascontiguousarray(bgr), width=w, height=h, format=fmt, mode=mode, animated=animated,
        frame_count=frames, analyzed_frame=0, exif_rotated=rotated, has_alpha=has_alpha, notes=notes,
    )


__all__ = ["MIN_DETECT_SIDE", "DecodedImage", "decode_image", "read_image_size"]
