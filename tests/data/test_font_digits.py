"""font-digits: rendered deterministically from text fonts, in sklearn's digits format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from neuralab.data.font_digits import font_files, make_font_digits
from tests.conftest import needs_liberation

pytestmark = needs_liberation


def test_rendering_is_deterministic_and_in_sklearns_format() -> None:
    fonts = font_files()
    assert len(fonts) >= 10  # matplotlib alone ships 13 DejaVu, 4 STIX and 5 Computer Modern text faces
    assert not any(p.name.startswith(("cmex", "cmsy", "STIXSiz", "STIXNonUni")) for p in fonts)
    a, labels = make_font_digits(200, 0, fonts)
    b, _ = make_font_digits(200, 0, fonts)
    assert np.array_equal(a, b) and a.shape == (200, 8, 8) and a.dtype == np.uint8
    assert a.max() == 16 and a.min() == 0  # 4x4 block counts of a 32x32 bitmap, as load_digits
    assert np.bincount(labels).tolist() == [20] * 10


def test_printed_digits_resemble_the_handwritten_ones() -> None:
    """Each class's mean printed digit is closest to the same class's mean handwritten digit for
    most classes: the domains differ, the classes agree."""
    printed, labels = make_font_digits(1000, 0, font_files())
    digits = load_digits()
    means_p = np.stack([printed[labels == d].mean(axis=0).ravel() for d in range(10)])
    means_h = np.stack([digits.images[digits.target == d].mean(axis=0).ravel() for d in range(10)])
    distances = ((means_p[:, None, :] - means_h[None, :, :]) ** 2).sum(axis=2)
    assert (distances.argmin(axis=1) == np.arange(10)).sum() >= 7  # measured: 8 (5 and 6 are not)


def test_the_font_set_is_fixed_not_whatever_the_machine_has() -> None:
    """matplotlib's fonts plus exactly the 16 Liberation faces: never other system fonts."""
    import matplotlib

    from neuralab.data.font_digits import LIBERATION_DIR, LIBERATION_FACES

    bundled = Path(matplotlib.get_data_path()).resolve()
    fonts = font_files()
    liberation = [p for p in fonts if p.parent == LIBERATION_DIR]
    assert sorted(p.name for p in liberation) == sorted(LIBERATION_FACES)
    assert all(bundled in p.resolve().parents for p in fonts if p.parent != LIBERATION_DIR)
