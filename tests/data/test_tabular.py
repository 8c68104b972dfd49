from __future__ import annotations

from pathlib import Path

import pytest

from neuralab.data.registry import LoadOptions
from neuralab.data.tabular import load_csv
from neuralab.errors import UserError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_numeric_features_and_string_labels(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i * 2.5},{'yes' if i % 2 else 'no'}" for i in range(20))
    data = load_csv(LoadOptions(file=write(tmp_path / "t.csv", "a,b,label\n" + rows + "\n")))
    assert data.classes == ["no", "yes"] and data.preprocess.input_shape == (2,)
    assert len(data.train) == 16 and len(data.test) == 4


def test_missing_label_column_lists_columns(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no column 'label'; columns are a, b"):
        load_csv(LoadOptions(file=write(tmp_path / "t.csv", "a,b\n1,2\n")))


def test_non_numeric_cell_names_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"t\.csv:3: column 'b' holds 'oops'"):
        load_csv(LoadOptions(file=write(tmp_path / "t.csv", "a,b,label\n1,2,x\n3,oops,y\n")))


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("a,label\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8"):
        load_csv(LoadOptions(file=path))
