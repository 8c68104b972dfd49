"""Figures that never touch the user's matplotlib: no backend switch, no global rcParams change.

neuralab draws on `matplotlib.figure.Figure` objects, which render to PNG/SVG with no backend at all
(matplotlib's recommended way for servers), so importing neuralab in Jupyter leaves the inline
backend and the user's style alone. CJK labels (class names, tokens) work because each drawing runs
inside `cjk_text()`, an rc_context listing the CJK fonts present after DejaVu: matplotlib (3.6+)
falls back along `font.family` glyph by glyph, so this changes nothing where no CJK font exists.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import matplotlib
from matplotlib.figure import Figure

CJK_FONTS = ["WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC",
             "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB"]  # fmt: skip
# Fonts installed after matplotlib built its font cache are unknown to it until registered.
_KNOWN_FILES = ["/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"]  # fmt: skip

P = ParamSpec("P")
R = TypeVar("R")


@functools.cache
def text_style() -> dict[str, Any]:
    """The rc settings neuralab's figures use; fonts are looked up once per process."""
    from matplotlib import font_manager

    if not {f.name for f in font_manager.fontManager.ttflist} & set(CJK_FONTS):
        for file in _KNOWN_FILES:
            if Path(file).is_file():
                font_manager.fontManager.addfont(file)
    available = {f.name for f in font_manager.fontManager.ttflist}
    return {"font.family": ["DejaVu Sans", *[name for name in CJK_FONTS if name in available]],
            "axes.unicode_minus": False}  # fmt: skip


@contextmanager
def cjk_text() -> Iterator[None]:
    """Text created and rendered inside can be Chinese or Japanese; the user's rcParams are restored."""
    with matplotlib.rc_context(text_style()):  # type: ignore[arg-type]
        yield


def with_cjk_text(draw: Callable[P, R]) -> Callable[P, R]:
    """A drawing function whose labels may hold CJK text (the whole call runs inside cjk_text)."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with cjk_text():
            return draw(*args, **kwargs)

    return wrapper


def new_figure(nrows: int = 1, ncols: int = 1, *, squeeze: bool = True, **figure_kwargs: Any) -> tuple[Figure, Any]:
    """A figure and its axes, outside pyplot: no backend, no global figure list to leak into."""
    figure = Figure(**figure_kwargs)
    return figure, figure.subplots(nrows, ncols, squeeze=squeeze)


def figure_bytes(figure: Figure, fmt: str = "png", **savefig_kwargs: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, **savefig_kwargs)
    return buffer.getvalue()
