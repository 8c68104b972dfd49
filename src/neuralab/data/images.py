"""The one image decoder behind every entry point: serve, predict, explain and image folders.

Images come from people and may be hostile. The pixel count is read from the header and checked
before any pixel is decoded (decompression bombs); truncated or corrupt data is refused, never padded
with grey; and no global state is touched: PIL's own bomb check is caught as the exception it may be
(another library may have turned its warning into an error), never by changing warning filters, which
are process-wide and not thread-safe (a server decodes on many threads at once).
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from neuralab.errors import UserError

DEFAULT_MAX_PIXELS = 25_000_000


class ImageDecodeError(UserError):
    """An image that cannot or must not be decoded; `code` and `status` say why, for HTTP callers."""

    def __init__(self, message: str, code: str, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code, self.status = code, status


def _too_large(width: int, height: int, max_pixels: int) -> ImageDecodeError:
    return ImageDecodeError(
        f"the image is {width}x{height} = {width * height / 1e6:.1f} megapixels; at most "
        f"{max_pixels / 1e6:.1f} are decoded",
        "image_too_large",
        413,
    )


def open_checked(source: bytes | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """The image opened lazily, its size checked from the header; the caller must close it."""
    if isinstance(source, bytes) and not source:
        raise ImageDecodeError("the file is empty", "empty_file", 400)
    try:
        image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except FileNotFoundError:
        raise ImageDecodeError(f"{source!s}: no such file", "not_found", 404) from None
    except IsADirectoryError:
        raise ImageDecodeError("a folder, not an image file", "not_an_image", 415) from None
    except UnidentifiedImageError:
        raise ImageDecodeError("not an image that can be read (PNG, JPEG, BMP, GIF, WebP, TIFF...)",
                               "not_an_image", 415) from None  # fmt: skip
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageDecodeError(f"refused as a decompression bomb ({err})", "image_too_large", 413) from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise ImageDecodeError(f"the image header is corrupt ({err})", "corrupt_image", 422) from None
    width, height = image.size
    if width <= 0 or height <= 0:
        image.close()
        raise ImageDecodeError(f"the image claims an empty size {width}x{height}", "corrupt_image", 422)
    if width * height > max_pixels:
        image.close()
        raise _too_large(width, height, max_pixels)
    return image


def decode_image(source: bytes | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """A fully decoded PIL image (any format and colour mode), or an ImageDecodeError saying why not."""
    image = open_checked(source, max_pixels)
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        image.close()
        raise ImageDecodeError(f"refused as a decompression bomb ({err})", "image_too_large", 413) from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        image.close()
        raise ImageDecodeError(f"the image data is truncated or corrupt ({err})", "corrupt_image", 422) from None
    return image


def decode_image_file(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """`decode_image` for a file, with the file's name in every message."""
    try:
        return decode_image(Path(path), max_pixels)
    except ImageDecodeError as err:
        message = err.message if err.code == "not_found" else f"{path}: {err.message}"
        raise ImageDecodeError(message, err.code, err.status, err.hint) from None


def check_image_header(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    """The colour mode of an image file, after checking its header, size and structure (no full decode)."""
    try:
        image = open_checked(Path(path), max_pixels)
    except ImageDecodeError as err:
        raise ImageDecodeError(f"{path}: {err.message}", err.code, err.status, "remove or replace the file") from None
    with image:
        mode = image.mode
        try:
            image.verify()
        except (OSError, ValueError, SyntaxError, EOFError) as err:
            raise ImageDecodeError(f"{path}: unreadable image ({err})", "corrupt_image", 422,
                                   "remove or replace the file") from None  # fmt: skip
    return mode
