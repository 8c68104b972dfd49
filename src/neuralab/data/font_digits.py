"""Printed digits rendered from the fonts on this machine, made the way sklearn's digits were made.

A source task for transfer learning offline: same classes as `digits`, different domain (typeset
instead of handwritten). sklearn's digits are 32x32 binary bitmaps, normalised to fill the box, then
counted in 4x4 blocks (0..16 per pixel); each rendered digit here gets a random font, rotation,
shear and stroke weight and then exactly that treatment. matplotlib ships DejaVu, STIX and Computer
Modern fonts, so the dataset exists wherever neuralab is installed; system fonts add variety.
Deterministic: the same fonts give the same images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from neuralab.data.digits import digits_dataset
from neuralab.data.registry import LoadedData, LoadOptions
from neuralab.errors import UserError

TRAIN_SIZE, TEST_SIZE, SEED = 12000, 2000, 0
SYSTEM_FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation")]
# Text faces only: matplotlib also ships symbol and math fonts whose "digits" are other glyphs.
TEXT_FACES = ("DejaVuSans", "DejaVuSerif", "Liberation", "STIXGeneral", "cmr10", "cmss10", "cmtt10", "cmb10", "cmti10")


def font_files() -> list[Path]:
    """Text fonts that draw all ten digits distinctly, one file per font name, sorted by name."""
    import matplotlib

    bundled = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    by_name = {p.name: p for d in [*SYSTEM_FONT_DIRS, bundled] for p in sorted(d.glob("*.ttf"))}
    usable = []
    for name, path in sorted(by_name.items()):
        if not name.startswith(TEXT_FACES):
            continue
        try:
            font = ImageFont.truetype(str(path), 48)
        except OSError:
            continue
        shapes = {tuple(np.asarray(_render(font, str(d))).ravel()[::7]) for d in range(10)}
        if len(shapes) == 10 and all(font.getbbox(str(d))[2] > 0 for d in range(10)):
            usable.append(path)
    return usable


def _render(font: ImageFont.FreeTypeFont, text: str) -> Image.Image:
    canvas = Image.new("L", (96, 96), 0)
    ImageDraw.Draw(canvas).text((48, 48), text, fill=255, font=font, anchor="mm")
    return canvas


def render_digit(font: ImageFont.FreeTypeFont, digit: int, rng: np.random.Generator) -> np.ndarray:
    """One 8x8 digit with values 0..16, as sklearn's digits."""
    image = _render(font, str(digit))
    weight = int(rng.integers(0, 3))  # as drawn, bold or very bold: pen strokes are thicker than most type
    if weight:
        image = image.filter(ImageFilter.MaxFilter(2 * weight + 1))
    shear = rng.uniform(-0.25, 0.25)
    image = image.transform(
        image.size, Image.Transform.AFFINE, (1, shear, -48 * shear, 0, 1, 0), Image.Resampling.BILINEAR
    )
    image = image.rotate(rng.uniform(-12, 12), Image.Resampling.BILINEAR)
    box = image.getbbox()
    if box is None:  # a font that drew nothing for this digit
        return np.zeros((8, 8), np.uint8)
    glyph = image.crop(box)
    scale = 32 / max(glyph.size)  # fill the 32x32 box along the longer side, keep the aspect ratio
    width, height = max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale))
    bitmap = np.zeros((32, 32), np.uint8)
    left, top = (32 - width) // 2, (32 - height) // 2
    bitmap[top : top + height, left : left + width] = np.asarray(glyph.resize((width, height))) > 127
    return bitmap.reshape(8, 4, 8, 4).sum(axis=(1, 3)).astype(np.uint8)


def make_font_digits(n: int, seed: int, fonts: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    loaded = [ImageFont.truetype(str(path), 48) for path in fonts]
    labels = np.arange(n) % 10
    choice = rng.integers(0, len(loaded), n)
    images = np.stack([render_digit(loaded[f], int(d), rng) for f, d in zip(choice, labels, strict=True)])
    return images, labels.astype(np.int64)


def _as_images(counts: np.ndarray) -> torch.Tensor:
    """0..16 block counts to uint8 [N, 1, 8, 8] on 0..255, exactly as `digits` scales them."""
    return torch.from_numpy(np.clip(counts.astype(np.int64) * 16, 0, 255).astype(np.uint8)[:, None])


def load_font_digits(options: LoadOptions) -> LoadedData:
    fonts = font_files()
    if len(fonts) < 4:
        raise UserError("font-digits needs at least 4 fonts that draw digits; matplotlib's bundled fonts are missing")
    # Split by image, not by font: this is a source task; the domain shift is to handwriting.
    x_train, y_train = make_font_digits(TRAIN_SIZE, SEED, fonts)
    x_test, y_test = make_font_digits(TEST_SIZE, SEED + 1, fonts)
    source = f"rendered from {len(fonts)} fonts (matplotlib's and /usr/share/fonts), sklearn-digits style"
    return digits_dataset(_as_images(x_train), y_train, _as_images(x_test), y_test, options, source)
