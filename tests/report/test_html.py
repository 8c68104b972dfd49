from __future__ import annotations

import base64
import io
import re
from pathlib import Path

from PIL import Image
from rich.console import Console

from neuralab.pipeline import resolve_config, run_config


def test_report_is_self_contained_with_decodable_images(tmp_path: Path) -> None:
    cfg = resolve_config({"data": {"name": "digits"}, "train": {"epochs": 2}, "out_dir": str(tmp_path), "name": "r"})
    result = run_config(cfg, console=Console(file=io.StringIO()))
    page = (result.run_dir / "report.html").read_text(encoding="utf-8")
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) > 2  # curves, confusion matrix, confused-pair examples, explained mistakes
    for blob in images:
        with Image.open(io.BytesIO(base64.b64decode(blob))) as img:
            assert img.size[0] > 100
    assert "Per class" in page and "test accuracy" in page and "Diagnosis" in page and "<script" not in page
    assert "http://" not in page and "https://" not in page  # nothing to fetch
