"""Printed digits rendered from matplotlib's bundled fonts, made the way sklearn's digits were made.

A source task for transfer learning offline: same classes as `digits`, different domain (typeset
instead of handwritten). sklearn's digits are 32x32 binary bitmaps, normalised to fill the box, then
counted in 4x4 blocks (0..16 per pixel); each rendered digit here gets a random font, rotation,
shear and stroke weight and then exactly that treatment. The fonts are a fixed set: matplotlib's own
(DejaVu, STIX, Computer Modern) and the 16 Liberation faces of Debian's `fonts-liberation`, which the
loader requires rather than using whatever a machine happens to have: a machine with other fonts once
made a different dataset, and a transfer test flipped. Deterministic: the same fonts, the same images.
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
LIBERATION_DIR = Path("/usr/share/fonts/truetype/liberation")
LIBERATION_FACES = [f"Liberation{family}-{style}.ttf" for family in ("Mono", "Sans", "SansNarrow", "Serif")
                    for style in ("Bold", "BoldItalic", "Italic", "Regular")]  # fmt: skip
# Text faces only: matplotlib also ships symbol and math fonts whose "digits" are other glyphs.
TEXT_FACES = ("DejaVuSans", "DejaVuSerif", "Liberation", "STIXGeneral", "cmr10", "cmss10", "cmtt10", "cmb10", "cmti10")


def font_files() -> list[Path]:
    """Text fonts that draw all ten digits distinctly, one file per font name, sorted by name."""
    import matplotlib

    missing = [face for face in LIBERATION_FACES if not (LIBERATION_DIR / face).is_file()]
    if missing:
        raise UserError(
            f"font-digits renders a fixed set of fonts and {len(missing)} Liberation faces are missing "
            f"from {LIBERATION_DIR} ({', '.join(missing[:3])}...)",
            hint="install them: apt-get install fonts-liberation (Debian/Ubuntu)",
        )
    bundled = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    candidates = [*sorted(bundled.glob("*.ttf")), *(LIBERATION_DIR / face for face in LIBERATION_FACES)]
    usable = []
    for path in sorted(candidates, key=lambda p: p.name):
        name = path.name
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
    # Split by image, not by font: this is a source task; the domain shift is to handwriting.
    x_train, y_train = make_font_digits(TRAIN_SIZE, SEED, fonts)
    x_test, y_test = make_font_digits(TEST_SIZE, SEED + 1, fonts)
    source = f"rendered from {len(fonts)} fonts (matplotlib's and Liberation), sklearn-digits style"
    return digits_dataset(_as_images(x_train), y_train, _as_images(x_test), y_test, options, source)
