"""Every notebook runs top to bottom in a real Jupyter kernel (fast mode), and is committed without outputs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import FASHION_DIR, FORTUNES_DIR

LIBERATION_FONT = Path("/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf")

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_runs_top_to_bottom(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing cell fails the test (nbclient raises CellExecutionError with the cell and its traceback)."""
    needs = nbformat.read(path, as_version=4).metadata.get("neuralab", {}).get("needs", [])
    if "fashion-mnist" in needs and not (FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")
    if "fortunes-zh" in needs and not (FORTUNES_DIR / "chinese").exists():
        pytest.skip("Debian's fortunes-zh is not installed (apt-get install fortunes-zh)")
    if "liberation" in needs and not LIBERATION_FONT.exists():
        pytest.skip("font-digits renders Debian's Liberation fonts (apt-get install fonts-liberation)")
    monkeypatch.setenv("NEURALAB_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env={**os.environ})
    assert all(cell.get("outputs") is not None for cell in book.cells if cell.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_is_committed_without_outputs(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    dirty = [
        i for i, cell in enumerate(book.cells) if cell.cell_type == "code" and (cell.outputs or cell.execution_count)
    ]
    assert not dirty, f"cells {dirty} hold outputs: clear them (Jupyter: Edit > Clear All Outputs) before committing"


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 3
