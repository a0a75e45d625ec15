"""Any PIL-readable image -> the input the model expects, made the way MNIST itself was made.

Steps (LeCun et al.'s normalisation): find the ink (light-on-dark, dark-on-light or ink on a transparent
background), crop to it, scale it to fit a 20x20 box keeping the aspect ratio (antialiased), then
place it in 28x28 so its centre of mass is at the centre. Values end in [0, 1], white ink on black.
A model with a larger input (the MultiMNIST model's 36x36) gets that 28x28 digit centred in its canvas
(model/canvas.py), as its training data places an unshifted digit.
"""
from __future__ import annotations

import io
import struct
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .canvas import fit
from .limits import IMAGE_PIXELS_MAX

SIZE = 28  # MNIST's frame, where the normalisation happens whatever the model's input size
BOX = 20
# Pixels decoded at most: refuses decompression bombs (a tiny file claiming huge dimensions) before
# any pixel is decoded.
MAX_PIXELS = IMAGE_PIXELS_MAX
# Ink below this fraction of the strongest ink is treated as paper noise (JPEG ringing, scan grain)
# when finding the digit's box.
INK_THRESHOLD = 0.2
# Larger images are first box-reduced to about this size: a digit needs no more, and a 40 MP photo
# would otherwise cost seconds of float work per request.
WORK_SIZE = 1024
# Less contrast than this between paper and ink means there is no digit to find.
MIN_CONTRAST = 0.1


class PreprocessError(ValueError):
    """The image cannot become a digit; the message says why in words for the user."""


class NoDigitFound(PreprocessError):
    """The image (or pixels) decoded fine but holds no ink: nothing is wrong with the request's form."""


@dataclass(frozen=True)
class Preprocessed:
    image: np.ndarray  # (size, size) float32 in [0, 1], white digit on black
    inverted: bool  # the input was dark ink on light paper
    ink_from_alpha: bool  # the ink was read from the alpha channel (drawing on transparency)
    source_size: tuple[int, int]  # (width, height) of what was given
    box: tuple[int, int, int, int]  # (left, top, right, bottom) of the ink in the given image

    def describe(self) -> dict:
        return {
            "inverted": self.inverted,
            "ink_from_alpha": self.ink_from_alpha,
            "source_size": list(self.source_size),
            "ink_box": list(self.box),
        }


# What a corrupt file can make a PIL decoder raise (plugins parse untrusted bytes; a malformed TIFF tag
# gives TypeError, a bad palette IndexError, a short header struct.error). Not AssertionError: that is a bug.
_DECODING_ERRORS = (OSError, ValueError, SyntaxError, EOFError, TypeError, KeyError, IndexError, struct.error,
                    ZeroDivisionError, AttributeError, OverflowError, RuntimeError, MemoryError)


@contextmanager
def _decoding():
    """The one place where decoding errors become a PreprocessError naming the problem."""
    try:
        with warnings.catch_warnings():
            # PIL warns about what it decodes anyway (corrupt EXIF, odd TIFF tags); whether the pixels
            # are usable is decided by decoding them. Its bomb warning is noise: our size check is stricter.
            warnings.simplefilter("ignore")
            yield
    except PreprocessError:
        raise
    except Image.DecompressionBombError:
        raise PreprocessError(f"the image declares too many pixels; at most {MAX_PIXELS:,} pixels are accepted") \
            from None
    except UnidentifiedImageError as e:
        raise PreprocessError(f"not a readable image ({e.__class__.__name__})") from None
    except _DECODING_ERRORS as e:
        detail = " ".join(str(e).split())[:80]
        raise PreprocessError("the image data is corrupt, truncated or unsupported "
                              f"({e.__class__.__name__}: {detail})") from None


def open_image(data: bytes) -> Image.Image:
    """Decodes image bytes (the first frame of an animation, turned upright by its EXIF orientation) into
    one of the modes preprocessing reads (see `normalise`), refusing anything unreadable, truncated, too
    large or holding NaN/Infinity."""
    if not data:
        raise PreprocessError("the image is empty (0 bytes)")
    with _decoding():
        img = Image.open(io.BytesIO(data))
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise PreprocessError(f"the image is {w}x{h} pixels; at most {MAX_PIXELS:,} pixels are accepted")
        if w < 1 or h < 1:
            raise PreprocessError("the image has no pixels")
        if img.format == "JPEG" and max(w, h) > 2 * WORK_SIZE:
            img.draft(img.mode, (WORK_SIZE, WORK_SIZE))  # JPEG can decode at 1/2..1/8 scale directly
        img.seek(0)  # animations (GIF, APNG, multi-page TIFF): the first frame
        img.load()  # decode now, so truncated data fails here and not later
        return _normalise(img)


def _normalise(img: Image.Image) -> Image.Image:
    """Any PIL mode -> "L", "RGBA" (when there is transparency), "I" (16/32-bit integers) or "F" (floats,
    all finite), upright. Raises PreprocessError for NaN/Infinity or a mode with no grey reading."""
    img = ImageOps.exif_transpose(img)
    if _has_alpha(img):
        return img if img.mode == "RGBA" else img.convert("RGBA")
    if img.mode in ("L", "I", "F"):
        out = img
    elif img.mode.startswith("I;"):  # I;16, I;16B, I;16L, I;16N, I;32...: integers, read as "I"
        wide = img.mode.startswith("I;16")
        out = img.convert("I") if wide else Image.fromarray(np.asarray(img).astype(np.int32), "I")
    elif img.mode == "LAB":  # L* is the lightness; PIL converts LAB to nothing else
        out = img.getchannel("L")
    else:
        out = img.convert("L")
    if out.mode == "F" and not np.isfinite(np.asarray(out)).all():
        raise PreprocessError("the image holds NaN or infinite pixel values")
    return out


def _to_float_gray(img: Image.Image) -> np.ndarray:
    """Luminance in [0, 1] of a normalised "L", "I" or "F" image."""
    if img.mode == "L":
        return np.asarray(img, dtype=np.float32) / 255.0
    a = np.asarray(img, dtype=np.float64)
    top = float(a.max()) if a.size else 0.0
    if img.mode == "I":  # 8-bit values stored wide, 16-bit, or a 32-bit range
        top = 255.0 if top <= 255 else (65535.0 if top <= 65535 else top)
    return np.clip(a / max(top, 1.0), 0, 1).astype(np.float32)


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)


def _reduce(img: Image.Image) -> Image.Image:
    """Box-average a large normalised image down to about WORK_SIZE (reduce takes L, RGBA, I and F)."""
    factor = -(-max(img.size) // WORK_SIZE)
    return img if factor <= 1 else img.reduce(factor)


def ink_map(img: Image.Image) -> tuple[np.ndarray, bool, bool]:
    """(ink in [0, 1] with 1 the strongest ink, inverted, ink_from_alpha) of a normalised image."""
    if _has_alpha(img):
        rgba = img.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
        if (alpha > 0.5).mean() < 0.5:
            # Mostly transparent: the opaque strokes are the ink, whatever their colour.
            return alpha, False, True
        # Mostly opaque: lay it on white paper and read it like any other picture.
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba).convert("L")
    gray = _to_float_gray(img)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    inverted = bool(np.median(border) > 0.5)
    return (1.0 - gray if inverted else gray), inverted, False


def preprocess(img: Image.Image, size: int = SIZE) -> Preprocessed:
    """PIL image -> Preprocessed with a (size, size) image (the model's input side); raises NoDigitFound if there is no digit to find, PreprocessError if
    the image cannot be read as grey levels."""
    with _decoding():
        img = _normalise(img)
    source_size = img.size  # upright: what a browser shows of a photo with an EXIF orientation
    work = _reduce(img)
    ink, inverted, from_alpha = ink_map(work)
    border = np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])
    paper = float(np.median(border))
    top = float(ink.max())
    if top - paper < MIN_CONTRAST:
        raise NoDigitFound("no digit found: the image is blank (no ink stands out from the background)")
    ink = np.clip((ink - paper) / (top - paper), 0, 1)
    ys, xs = np.nonzero(ink > INK_THRESHOLD)
    left, right, top_y, bottom = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    crop = ink[top_y:bottom, left:right]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    # BOX filtering averages every source pixel under each target pixel: the antialiasing MNIST has,
    # and fast for huge inputs.
    small = np.asarray(
        Image.fromarray(crop.astype(np.float32), mode="F").resize((new_w, new_h), Image.Resampling.BOX),
        dtype=np.float32,
    )
    small = np.clip(small, 0, 1)
    if small.max() > 0:
        small = small / small.max()
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    mass = small.sum()
    cy = (small.sum(axis=1) * np.arange(new_h)).sum() / mass
    cx = (small.sum(axis=0) * np.arange(new_w)).sum() / mass
    # Put the centre of mass where MNIST has it, (14, 14) in pixel indices (the test set's mean is
    # (13.99, 14.00)), keeping the digit inside the frame; 13.5 shifted 3 in 4 MNIST digits by 1 px.
    oy = int(np.clip(round(SIZE / 2 - cy), 0, SIZE - new_h))
    ox = int(np.clip(round(SIZE / 2 - cx), 0, SIZE - new_w))
    out[oy : oy + new_h, ox : ox + new_w] = small
    k = source_size[0] / work.size[0] if work.size[0] else 1  # ink box back in the given image's pixels
    box = (int(left * k), int(top_y * k), min(int(right * k), source_size[0]), min(int(bottom * k), source_size[1]))
    return Preprocessed(fit(out, size), inverted, from_alpha, source_size, box)


def preprocess_bytes(data: bytes, size: int = SIZE) -> Preprocessed:
    return preprocess(open_image(data), size)


def validate_pixels(pixels, size: int = SIZE) -> np.ndarray:
    """A size x size nested list of finite numbers in [0, 1] (size: the model's input side), used as the
    model's input unchanged."""
    try:
        a = np.asarray(pixels, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond any float
        raise PreprocessError(f"pixels must be a {size}x{size} array of numbers") from None
    if a.shape != (size, size):
        raise PreprocessError(f"pixels must be {size}x{size}, got shape {list(a.shape)}")
    if not np.all(np.isfinite(a)):
        raise PreprocessError("pixels contain NaN or Infinity")
    if a.min() < 0 or a.max() > 1:
        raise PreprocessError("pixels must be in [0, 1]")
    if a.max() == 0:
        raise NoDigitFound("no digit found: every pixel is 0")
    return a.astype(np.float32)
