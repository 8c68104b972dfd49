"""Headless matplotlib that can draw Chinese and Japanese labels (class names, tokens).

Matplotlib falls back along a `font.family` list glyph by glyph (3.6+), so listing the CJK fonts
present after DejaVu draws CJK text wherever one is installed (Debian: fonts-wqy-microhei or
fonts-noto-cjk) and changes nothing elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
from matplotlib import font_manager

matplotlib.use("Agg")
CJK_FONTS = ["WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC",
             "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB"]  # fmt: skip
# Fonts installed after matplotlib built its font cache are unknown to it until registered.
_KNOWN_FILES = ["/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"]  # fmt: skip
if not {f.name for f in font_manager.fontManager.ttflist} & set(CJK_FONTS):
    for _file in _KNOWN_FILES:
        if Path(_file).is_file():
            font_manager.fontManager.addfont(_file)
_available = {f.name for f in font_manager.fontManager.ttflist}
matplotlib.rcParams["font.family"] = ["DejaVu Sans", *[name for name in CJK_FONTS if name in _available]]
matplotlib.rcParams["axes.unicode_minus"] = False

import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plt"]
